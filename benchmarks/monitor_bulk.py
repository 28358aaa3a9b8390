"""200 domains in one `monitor` pass: how long it takes, and that it stays within its bounds.

The test world (its own process, DNS answers delayed by DELAY) serves N correct domains with
2 MX hosts each. A pass runs every check on one shared engine context (the DNS client's
per-server in-flight bound holds for the whole pass) with the per-domain deadline, then
finishes each domain (lock, record, report store; no URL, so nothing is sent). Printed: the
first pass (records created), a second pass (records compared: the cron steady state), the
real CLI, DNS queries and TLS handshakes per domain, and whether any domain hit its deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _world import ServedWorld

import wizard.dnsclient as dnsclient
from wizard.monitor.run import PassSettings, monitor_pass

DELAY = 0.050
DEADLINE = 60.0


def one_pass(world: ServedWorld, names: list[str], root: Path) -> tuple[float, int, int, list[str]]:
    before = world.stats()
    settings = PassSettings(root=root, check=world.options(timeout=10.0, deadline=DEADLINE))
    started = time.perf_counter()
    outcomes = asyncio.run(monitor_pass(names, settings))
    wall = time.perf_counter() - started
    after = world.stats()
    queries = int(after["dns_queries"] - before["dns_queries"])
    handshakes = int(after["https_requests"] - before["https_requests"]) + int(
        after["smtp_starttls"] - before["smtp_starttls"]
    )
    bad = [
        f"{o.domain}: {o.incomplete or [p.finding.code for p in o.open]}" for o in outcomes if o.incomplete or o.open
    ]
    return wall, queries, handshakes, bad


def cli_pass(world: ServedWorld, names: list[str], root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "monitor", *names, *world.cli_args(), "--state-dir", str(root)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return time.perf_counter() - started, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one steady-state pass and one CLI pass (CI)")
    parser.add_argument("--domains", type=int, default=200)
    args = parser.parse_args()
    runs = 1 if args.quick else 3
    n = args.domains
    started = time.perf_counter()
    world = ServedWorld(domains=n, mx=2, delay=DELAY, prefix="mon")
    world_s = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            first = one_pass(world, world.domains, root)
            steady = [one_pass(world, world.domains, root) for _ in range(runs)]
            cli = [cli_pass(world, world.domains, root) for _ in range(1 if args.quick else 2)]
            one = [one_pass(world, world.domains[:1], root)[0] for _ in range(runs)]
    finally:
        world.close()
    best = min(steady, key=lambda r: r[0])
    print(
        f"monitor_bulk: {n} domains x 2 MX, DNS delay {DELAY * 1000:.0f} ms/answer, "
        f"{dnsclient.MAX_IN_FLIGHT} DNS queries in flight per server, deadline {DEADLINE:g} s/domain; "
        f"{os.cpu_count()} CPUs, world started in {world_s:.1f} s"
    )
    print(
        f"  first pass (records created) {first[0]:.2f} s; steady pass best {best[0]:.2f} s "
        f"(median {statistics.median(r[0] for r in steady):.2f}) vs 1 domain {min(one):.2f} s; "
        f"{best[1]} DNS queries ({best[1] / n:.0f}/domain), {best[2]} TLS handshakes"
    )
    print(f"  CLI pass {min(c[0] for c in cli):.2f} s (exit {cli[0][1]})")
    problems = first[3] + best[3]
    example = f" e.g. {problems[:3]}" if problems else ""
    print(f"  domains over the deadline or with problems: {len(problems)}{example}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
