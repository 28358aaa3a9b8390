"""Run a test world in its own process (benchmarks: the servers must not share our CPU and GIL).

`python -m tests.world.serve --domains N --mx 2 --delay 0.05` builds N correct domains
(bulk0.test ...), prints one JSON line {"nameserver", "ca_bundle", "domains"} and serves
until its standard input closes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tests.world.world import World


def main() -> int:
    parser = argparse.ArgumentParser(description="serve a test world until stdin closes")
    parser.add_argument("--domains", type=int, default=1)
    parser.add_argument("--mx", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every DNS answer")
    parser.add_argument("--prefix", default="bulk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp), dns_delay=args.delay)
        try:
            names = [f"{args.prefix}{i}.test" for i in range(args.domains)]
            for name in names:
                world.domain(name, mx=[f"mx{j + 1}.{name}" for j in range(args.mx)])
            print(json.dumps({"nameserver": world.dns.address, "ca_bundle": world.ca_bundle, "domains": names}))
            sys.stdout.flush()
            sys.stdin.read()
        finally:
            world.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
