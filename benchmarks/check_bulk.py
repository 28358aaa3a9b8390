"""50 domains in one `check` run against one domain: concurrency, not a queue.

Every domain is correct, has 2 MX hosts (2 SMTP servers) and its own policy host, all
on loopback; the test DNS server adds DELAY per answer. The servers run in their own
process. Times the engine in process (`check_domains`) and the real CLI
(`mta-sts-wizard check D1 ... D50`), best of N with the median and the load average
noted, and prints what each run cost: DNS queries and TLS handshakes the servers saw,
and client and server CPU. The floor: 50 domains in one `check` run < 3x one domain (the CLI
line; the engine line, without interpreter start, shows how much of it is CPU).

`--in-flight N` sets the DNS client's limit of queries in flight (MAX_IN_FLIGHT) for these runs,
CLI included; `--runs N` repeats more (e.g. 24 runs against knotd to see rare losses).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _world import ServedWorld

import wizard.dnsclient as dnsclient
from wizard.engine import check_domains

DELAY = 0.050


@dataclass
class Run:
    """One timed run: wall time, CPU on both sides and what the servers were asked."""

    wall: float
    client_cpu: float
    server_cpu: float
    queries: int
    handshakes: int
    gc_passes: tuple[int, ...] = ()
    """Collector passes per generation during the run (engine runs in this process only)."""


def _own_cpu(children: bool = False) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure(world: ServedWorld, work: Callable[[], Any], children: bool = False) -> tuple[Run, Any]:
    before = world.stats()
    gc0 = [g["collections"] for g in gc.get_stats()]
    cpu0 = _own_cpu(children)
    started = time.perf_counter()
    result = work()
    wall = time.perf_counter() - started
    cpu = _own_cpu(children) - cpu0
    after = world.stats()
    run = Run(
        wall=wall,
        client_cpu=cpu,
        server_cpu=after["cpu_s"] - before["cpu_s"],
        queries=int(after["dns_queries"] - before["dns_queries"]),
        handshakes=int(after["https_requests"] - before["https_requests"])
        + int(after["smtp_starttls"] - before["smtp_starttls"]),
        gc_passes=() if children else tuple(g["collections"] - c for g, c in zip(gc.get_stats(), gc0, strict=True)),
    )
    return run, result


def engine_runs(world: ServedWorld, names: list[str], runs: int) -> list[Run]:
    out = []
    for _ in range(runs):
        run, reports = _measure(world, lambda: asyncio.run(check_domains(names, world.options(timeout=10.0))))
        bad = [r.domain for r in reports if not r.ok]
        assert not bad, bad
        out.append(run)
    return out


def cli_runs(world: ServedWorld, names: list[str], runs: int) -> tuple[list[Run], int]:
    out = []
    rc = 0
    for _ in range(runs):
        run, proc = _measure(
            world,
            lambda: subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _CLI.format(limit=dnsclient.MAX_IN_FLIGHT),
                    "check",
                    *names,
                    "--json",
                    *world.cli_args(),
                ],
                capture_output=True,
                text=True,
            ),
            children=True,
        )
        out.append(run)
        rc = max(rc, proc.returncode)
        if proc.returncode != 0:
            try:
                doc = json.loads(proc.stdout)
                codes = sorted({f["code"] for d in doc["domains"] for f in d["findings"] if f["severity"] != "info"})
            except ValueError:
                codes = [proc.stderr.strip()[-200:]]
            print(f"  CLI exit {proc.returncode} for {len(names)} domain(s): {codes}")
    return out, rc


#: `python -m wizard` with this run's in-flight limit.
_CLI = (
    "import sys, wizard.dnsclient as d; d.MAX_IN_FLIGHT = {limit}; from wizard.cli import main; "
    "sys.argv[0] = 'mta-sts-wizard'; raise SystemExit(main())"
)


def _line(label: str, runs: list[Run], n: int) -> tuple[str, float]:
    best = min(runs, key=lambda r: r.wall)
    median = statistics.median(r.wall for r in runs)
    worst = max(r.wall for r in runs)
    text = (
        f"    {label:<11} best {best.wall * 1000:6.0f} ms (median {median * 1000:6.0f}, "
        f"worst {worst * 1000:6.0f}) | "
        f"client CPU {best.client_cpu * 1000:5.0f} ms, server CPU {best.server_cpu * 1000:5.0f} ms | "
        f"{best.queries} DNS queries ({best.queries / n:.0f}/domain), {best.handshakes} TLS handshakes"
        + (" (knotd's queries and CPU not counted)" if best.queries == 0 else "")
        + (f" | GC passes by generation {'/'.join(map(str, best.gc_passes))}" if best.gc_passes else "")
    )
    return text, best.wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    parser.add_argument("--domains", type=int, default=50)
    parser.add_argument("--runs", type=int, default=0, help="engine runs per size (default 7, --quick 3)")
    parser.add_argument(
        "--in-flight", type=int, default=dnsclient.MAX_IN_FLIGHT, help="DNS queries in flight per server"
    )
    parser.add_argument(
        "--knot", action="store_true", help="DNS from Debian's knotd (no added delay): rules the test server out"
    )
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    dnsclient.MAX_IN_FLIGHT = args.in_flight
    cli_n = 1 if args.quick else 3
    n = args.domains
    delay = 0.0 if args.knot else DELAY
    world = ServedWorld(domains=n, mx=2, delay=delay, knot=args.knot)  # servers in their own process
    try:
        names = world.domains
        engine_runs(world, names[:1], 1)  # warm-up: imports, SSL contexts
        load_before = os.getloadavg()[0]
        one = engine_runs(world, names[:1], runs)
        many = engine_runs(world, names, runs)
        cli_one, rc1 = cli_runs(world, names[:1], cli_n)
        cli_many, rcn = cli_runs(world, names, cli_n)
        load_after = os.getloadavg()[0]
    finally:
        world.close()
    print(
        f"check_bulk: {n} domains x 2 MX, DNS {'knotd' if args.knot else 'test server'} delay "
        f"{delay * 1000:.0f} ms/answer, {args.in_flight} DNS queries in flight, best of {runs} "
        f"(CLI best of {cli_n}); {os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}"
    )
    for label, a, b in (("engine", one, many), ("CLI", cli_one, cli_many)):
        l1, t1 = _line("1 domain", a, 1)
        ln, tn = _line(f"{n} domains", b, n)
        # The floor is the `check` command as a user runs it; the engine line shows the CPU share.
        extra = f" (floor < 3, exit {rc1}/{rcn})" if label == "CLI" else " (in process, no interpreter start)"
        print(f"  {label}: ratio {tn / t1:.2f}{extra}")
        print(l1)
        print(ln)
    queries = min(many, key=lambda r: r.wall).queries
    if delay and queries:
        floor = queries / args.in_flight * delay
        best_one = min(r.wall for r in one)
        print(
            f"  DNS window floor: {queries} queries / {args.in_flight} in flight x {delay * 1000:.0f} ms = "
            f"{floor * 1000:.0f} ms = {floor / best_one:.2f}x one domain, before any CPU"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
