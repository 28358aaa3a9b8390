"""How close `check` gets to its critical path when every DNS answer takes 50 ms.

The test DNS server delays every answer by DELAY. A correct domain with 2 MX hosts is
checked (in process, and once through the CLI). The critical path is the longest chain
of dependent DNS round trips in a check, 2 here:

  MX lookup -> A/AAAA of each MX host -> SMTP probe (and TLSA, parallel to A/AAAA)
  NS of the domain (glue included) -> direct query to the authoritative server
  A/AAAA of mta-sts.<domain> -> HTTPS fetch          (1 round trip)
  _mta-sts / _smtp._tls TXT                           (1 round trip)

plus the local work on the last link (TLS handshakes on loopback), measured by the same
check with no DNS delay. Prints figures; the floors: at most 3 sequential DNS round trips
on the critical path (the measured check over one DNS delay), and ratio <= 1.3.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _world  # noqa: F401  (puts the repository root on sys.path)

from tests.world.world import World
from wizard.engine import check_domain

DELAY = 0.050
DNS_DEPTH = 2


def timed_checks(world: World, name: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        report = asyncio.run(check_domain(name, world.options(timeout=10.0)))
        out.append(time.perf_counter() - started)
        assert report.ok, [f.render() for f in report.findings]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    args = parser.parse_args()
    runs = 3 if args.quick else 10
    with tempfile.TemporaryDirectory() as tmp:
        fast = World(Path(tmp) / "fast")
        slow = World(Path(tmp) / "slow", dns_delay=DELAY)
        try:
            for world in (fast, slow):
                world.domain("warm.test", mx=["mx1.warm.test", "mx2.warm.test"])
                world.domain("lat.test", mx=["mx1.lat.test", "mx2.lat.test"])
                timed_checks(world, "warm.test", 1)  # imports, SSL contexts
            local = statistics.median(timed_checks(fast, "lat.test", runs))
            measured = statistics.median(timed_checks(slow, "lat.test", runs))
            started = time.perf_counter()
            cli = subprocess.run(
                [sys.executable, "-m", "wizard", "check", "lat.test", *slow.cli_args()],
                capture_output=True,
                text=True,
            )
            cli_s = time.perf_counter() - started
        finally:
            fast.close()
            slow.close()
    dns_path = DNS_DEPTH * DELAY
    critical = dns_path + local
    print(f"check_latency: DNS delay {DELAY * 1000:.0f} ms/answer, 2 MX hosts, {runs} runs (median)")
    print(f"  dependent DNS round trips on the longest chain: {DNS_DEPTH} = {dns_path * 1000:.0f} ms")
    print(f"  local work (same check, no DNS delay):          {local * 1000:.0f} ms")
    print(f"  critical path:                                  {critical * 1000:.0f} ms")
    print(f"  measured check:                                 {measured * 1000:.0f} ms")
    print(f"  ratio measured / critical path: {measured / critical:.2f} (target <= 1.3)")
    print(f"  ratio measured / DNS chain alone: {measured / dns_path:.2f}")
    trips = (measured - local) / DELAY
    print(f"  sequential DNS round trips on the critical path: {trips:.1f} (floor <= 3)")
    print(f"  whole CLI run incl. interpreter start: {cli_s * 1000:.0f} ms (exit {cli.returncode})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
