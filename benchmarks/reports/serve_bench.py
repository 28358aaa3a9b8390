"""Benchmark: reports per second `reports serve` receives from 50 concurrent senders over loopback.

    python3 benchmarks/reports/serve_bench.py           # 5,000 reports, each way
    python3 benchmarks/reports/serve_bench.py --quick   # 500 reports, each way

The server is the real command (`python -m wizard reports serve` on 127.0.7.5, a fresh store),
so every report is parsed, stored in its own transaction and made durable before the 2xx, as in
production. The senders are 50 asyncio tasks speaking plain HTTP/1.1 over raw streams (much
lighter than an HTTP client library, so the figure is the server's, not the load generator's;
both share the machine's cores). Two ways: a new connection per report (what real senders do:
one report per sender per day) and keep-alive connections. Bodies are realistic gzip'd reports
(benchmarks/reports/generate.py), all distinct, so each one is stored.
Also printed: the server's peak memory (VmHWM) after both runs. Target: >= 200 reports/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from generate import make_report  # noqa: E402

SENDERS = 50
ADDRESS = "127.0.7.5"


def bodies(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    domains = ["example.com"] + [f"domain{i}.example" for i in range(1, 25)]
    return [make_report(rng, serial, domains, datetime(2025, 1, 1, tzinfo=UTC), 60)[1] for serial in range(count)]


def request(body: bytes, keep_alive: bool) -> bytes:
    return (
        f"POST /v1/tlsrpt HTTP/1.1\r\nHost: {ADDRESS}\r\nContent-Type: application/tlsrpt+gzip\r\n"
        f"Content-Length: {len(body)}\r\nConnection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    ).encode() + body


async def answer(reader: asyncio.StreamReader) -> int:
    """The status of one response, its body read (Content-Length) so the connection can be reused."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":", 1)[1]))
    return status


async def send_all(port: int, payloads: list[bytes], keep_alive: bool) -> tuple[float, dict[int, int]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in payloads:
        queue.put_nowait(body)
    statuses: dict[int, int] = {}

    async def sender() -> None:
        reader = writer = None
        while not queue.empty():
            body = queue.get_nowait()
            if writer is None:
                reader, writer = await asyncio.open_connection(ADDRESS, port)
            assert reader is not None
            writer.write(request(body, keep_alive))
            status = await answer(reader)
            statuses[status] = statuses.get(status, 0) + 1
            if not keep_alive:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(sender() for _ in range(SENDERS))), timeout=600)
    return time.perf_counter() - start, statuses


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 reports each way")
    parser.add_argument("--count", type=int, help="reports each way (default 5000, quick 500)")
    args = parser.parse_args()
    count = args.count or (500 if args.quick else 5000)
    payloads = bodies(2 * count, seed=8460)
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as state:
        server = subprocess.Popen(
            [sys.executable, "-m", "wizard", "reports", "serve", "--listen", f"{ADDRESS}:0", "--state-dir", state],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert server.stdout is not None
            first = server.stdout.readline()
            if not first.startswith("receiving TLS reports at "):
                print(f"serve did not start: {first!r}")
                return 1
            port = int(first.split()[4].rstrip("/").rsplit(":", 1)[1])
            # Drain the log (one line a request) so the server never blocks on a full pipe.
            threading.Thread(target=server.stdout.read, daemon=True).start()
            results = []
            for keep_alive, batch in ((False, payloads[:count]), (True, payloads[count:])):
                seconds, statuses = asyncio.run(send_all(port, batch, keep_alive))
                results.append((keep_alive, seconds, statuses))
            peak = peak_rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
    ok = True
    for keep_alive, seconds, statuses in results:
        how = "keep-alive connections" if keep_alive else "a new connection per report"
        print(f"reports serve: {count} reports, {SENDERS} concurrent senders, {how}: {count / seconds:,.0f} reports/s")
        if statuses != {201: count}:
            print(f"  FAILED: answers {statuses}, expected 201 for all {count}")
            ok = False
    print(f"reports serve: server peak memory {peak:.0f} MB (VmHWM)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
