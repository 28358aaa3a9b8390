"""Run a test world in its own process (benchmarks: the servers must not share our CPU and GIL).

`python -m tests.world.serve --domains N --mx 2 --delay 0.05` builds N correct domains
(bulk0.test ...), prints one JSON line {"nameserver", "ca_bundle", "domains"} and serves
until its standard input closes. Each line `stats` read on standard input is answered
with one JSON line of counters (DNS queries answered, HTTPS requests, SMTP sessions and
STARTTLS handshakes, this process's CPU seconds) so a benchmark can explain its figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.world.world import World

T = TypeVar("T")


def stats(world: World) -> dict[str, float | int]:
    """Counters since the world started; callers take differences."""
    https = [s for s in world._servers if hasattr(s, "requests")]
    smtp = [s for s in world._servers if hasattr(s, "sessions")]
    sessions = [log for s in smtp for log in s.sessions]
    return {
        "dns_queries": len(world.dns.queries),
        "https_requests": sum(len(s.requests) for s in https),
        "smtp_sessions": len(sessions),
        "smtp_starttls": sum(1 for log in sessions if "STARTTLS" in log),
        "cpu_s": time.process_time(),
    }


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
            for line in sys.stdin:
                if line.strip() == "stats":
                    print(json.dumps(world.call(_on_loop(stats, world))))
                    sys.stdout.flush()
        finally:
            world.close()
    return 0


async def _on_loop(fn: Callable[[World], T], world: World) -> T:
    """Read the counters on the world's loop thread (the servers append to them there)."""
    return fn(world)


if __name__ == "__main__":
    raise SystemExit(main())
