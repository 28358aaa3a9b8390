"""50 domains in one `check` run against one domain: concurrency, not a queue.

Every domain is correct, has 2 MX hosts (2 SMTP servers) and its own policy host, all
on loopback; the test DNS server adds DELAY per answer. Times the engine in process
(`check_domains`) and the real CLI (`mta-sts-wizard check D1 ... D50`). Prints figures;
the target is 50 domains < 3x one domain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

from _world import ServedWorld

from wizard.engine import check_domains

DELAY = 0.050


def engine_time(world: ServedWorld, names: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        reports = asyncio.run(check_domains(names, world.options(timeout=10.0)))
        times.append(time.perf_counter() - started)
        bad = [r.domain for r in reports if not r.ok]
        assert not bad, bad
    return statistics.median(times)


def cli_time(world: ServedWorld, names: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "check", *names, "--json", *world.cli_args()],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        try:
            doc = json.loads(proc.stdout)
            codes = sorted({f["code"] for d in doc["domains"] for f in d["findings"] if f["severity"] != "info"})
        except ValueError:
            codes = [proc.stderr.strip()[-200:]]
        print(f"  CLI exit {proc.returncode} for {len(names)} domain(s): {codes}")
    return elapsed, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition (CI)")
    parser.add_argument("--domains", type=int, default=50)
    args = parser.parse_args()
    runs = 1 if args.quick else 5
    world = ServedWorld(domains=args.domains, mx=2, delay=DELAY)  # servers in their own process
    try:
        names = world.domains
        engine_time(world, names[:1], 1)  # warm-up: imports, SSL contexts
        one = engine_time(world, names[:1], runs)
        many = engine_time(world, names, runs)
        cli_one, rc1 = cli_time(world, names[:1])
        cli_many, rcn = cli_time(world, names)
    finally:
        world.close()
    n = args.domains
    print(f"check_bulk: {n} domains x 2 MX, DNS delay {DELAY * 1000:.0f} ms/answer, median of {runs}")
    print(
        f"  engine: 1 domain {one * 1000:.0f} ms, {n} domains {many * 1000:.0f} ms, ratio {many / one:.2f} (target < 3)"
    )
    print(
        f"  CLI:    1 domain {cli_one * 1000:.0f} ms, {n} domains {cli_many * 1000:.0f} ms, "
        f"ratio {cli_many / cli_one:.2f} (exit {rc1}/{rcn})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
