"""`reports serve`: real reports POSTed over HTTP and HTTPS to the real command in a subprocess.

Every server here is `python -m wizard reports serve` on 127.0.7.x with port 0 (the command
prints the URL it got), stopped with SIGINT, and its store read afterwards.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import queue
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import trustme
from reports_factory import detail, dumps, gz, report

from wizard.cli import main

ROOT = Path(__file__).resolve().parent.parent
GZ = {"content-type": "application/tlsrpt+gzip"}
JSON = {"content-type": "application/tlsrpt+json"}


class Served:
    """One `reports serve` process: its URL, its log lines as they come, and a clean stop."""

    def __init__(self, state_dir: Path, *args: str, address: str = "127.0.7.1") -> None:
        self.state_dir = state_dir
        self.errors = state_dir.with_name(state_dir.name + ".stderr")
        self._errors = self.errors.open("w")  # a file, so a chatty stderr never fills a pipe
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wizard",
                "reports",
                "serve",
                "--listen",
                f"{address}:0",
                "--state-dir",
                str(state_dir),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        first = self.next_line(15)
        assert first.startswith("receiving TLS reports at "), first + self.errors.read_text()
        self.url = first.split()[4]
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "", parts.port or 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # EOF

    def next_line(self, timeout: float = 10) -> str:
        line = self.lines.get(timeout=timeout)
        self.log.append(line)
        return line

    def lines_until(self, predicate, timeout: float = 10) -> list[str]:
        """Log lines up to and including the first that matches, within `timeout` seconds."""
        end = time.monotonic() + timeout
        got = []
        while time.monotonic() < end:
            try:
                line = self.next_line(max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            got.append(line)
            if predicate(line):
                return got
        raise AssertionError(f"no matching log line within {timeout} s; got {got}")

    def stop(self, sig: int | None = signal.SIGINT, timeout: float = 30) -> int:
        """Send `sig` (None: it was sent already) and wait for the exit code."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise
        finally:
            self._errors.close()
        return rc

    def rest(self) -> list[str]:
        """The log lines left after the process ended."""
        out = []
        while True:
            try:
                line = self.lines.get(timeout=5)
            except queue.Empty:
                break
            if line == "" and self.proc.poll() is not None:
                break
            out.append(line)
        self.log.extend(out)
        return out


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    started: list[Served] = []

    def start(*args: str, address: str = "127.0.7.1", state_dir: Path | None = None) -> Served:
        server = Served(state_dir or tmp_path / f"st{len(started)}", *args, address=address)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(5)


def _store(state_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(state_dir / "reports.sqlite3")


def assert_consistent(state_dir: Path) -> set[tuple[str, str]]:
    """The store passes SQLite's integrity and foreign-key checks, and every report has all its
    policy rows (each report here has one policy): nothing half-stored. Returns (org, id) pairs."""
    with _store(state_dir) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = conn.execute(
            "SELECT r.report_id FROM reports r LEFT JOIN policies p ON p.report = r.id WHERE p.id IS NULL"
        ).fetchall()
        assert orphans == []
        return {tuple(row) for row in conn.execute("SELECT organisation, report_id FROM reports")}


def test_gzip_and_json_reports_are_stored_once_even_when_sent_twice(serve) -> None:
    server = serve()
    url = server.url + "v1/tlsrpt"
    gzipped = gz(report(report_id="gz-1", failure=3, details=[detail("certificate-expired", 3)]))
    plain = dumps(report(report_id="json-1", day="2025-03-15"))
    with httpx.Client(timeout=10) as client:
        answers = [
            client.post(url, content=gzipped, headers=GZ),
            client.post(url, content=gzipped, headers=GZ),
            client.post(url, content=plain, headers={"content-type": "application/tlsrpt+json; charset=utf-8"}),
            client.post(url, content=plain, headers=JSON),
            # The same report gzip'd with Content-Encoding, as some senders do: still the same report.
            client.post(url, content=gzip.compress(plain), headers={**JSON, "content-encoding": "gzip"}),
        ]
    assert [(a.status_code, a.text.strip()) for a in answers] == [
        (201, "stored"),
        (200, "already stored"),
        (201, "stored"),
        (200, "already stored"),
        (200, "already stored"),
    ]
    log = server.lines_until(lambda line: "json-1" in line and " 200 " in line and line.count("already") == 1)
    assert any('POST /v1/tlsrpt 201 stored org="Sender Example Ltd" report-id="gz-1"' in line for line in log)
    assert server.stop() == 0
    assert server.rest()[-1] == "stopped: 2 reports stored, 3 already stored, 0 requests refused"
    assert assert_consistent(server.state_dir) == {("Sender Example Ltd", "gz-1"), ("Sender Example Ltd", "json-1")}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path, Path, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("tlsrpt.example.test", "127.0.7.2")
    root = tmp_path_factory.mktemp("pki")
    chain, key, ca_file = root / "chain.pem", root / "key.pem", root / "ca.pem"
    cert.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    ca.cert_pem.write_to_path(str(ca_file))
    return ca, chain, key, ca_file


def test_https_reports_show_in_reports_summary_like_imported_ones(
    serve, pki, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _, chain, key, ca_file = pki
    server = serve("--cert", str(chain), "--key", str(key), address="127.0.7.2")
    assert server.url.startswith("https://127.0.7.2:")
    docs = [
        report(org="Google Inc.", report_id="g", day="2025-03-11", success=90, failure=10,
               details=[detail("certificate-expired", 10, mx="backup.example.com", ip="192.0.2.9")]),
        report(org="Mail.Ru", report_id="m", day="2025-03-12", success=50),
    ]  # fmt: skip
    context = ssl.create_default_context(cafile=str(ca_file))
    with httpx.Client(verify=context, timeout=10) as client:
        for doc in docs:
            assert client.post(server.url + "tlsrpt", content=gz(doc), headers=GZ).status_code == 201
        # A client that does not trust the test CA cannot talk to it: this is real TLS.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.post(server.url, content=gz(docs[0]), headers=GZ, timeout=10)
    assert server.stop() == 0
    assert_consistent(server.state_dir)

    # The same reports imported from files: `reports summary` says exactly the same for both.
    files = tmp_path / "files"
    files.mkdir()
    for doc in docs:
        (files / f"{doc['report-id']}.json.gz").write_bytes(gz(doc))
    assert main(["reports", "import", str(files), "--state-dir", str(tmp_path / "imported")]) == 0
    capsys.readouterr()
    summaries = []
    for state in (server.state_dir, tmp_path / "imported"):
        assert main(["reports", "summary", "example.com", "--json", "--state-dir", str(state)]) == 0
        summaries.append(json.loads(capsys.readouterr().out))
        assert main(["reports", "summary", "example.com", "--state-dir", str(state)]) == 0
        summaries.append(capsys.readouterr().out)
    assert summaries[0] == summaries[2]
    assert summaries[1] == summaries[3]
    assert summaries[0]["report_count"] == 2
    assert summaries[0]["totals"]["success"] == 140 and summaries[0]["totals"]["failure"] == 10


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the tests that only look at answers: a 64 KiB cap, a 1 s deadline."""
    server = Served(tmp_path_factory.mktemp("shared"), "--max-bytes", "64K", "--timeout", "1", address="127.0.7.3")
    yield server
    server.stop()


def _bomb() -> bytes:
    return gzip.compress(b"{" + b" " * (30 * 1024 * 1024) + b"}", compresslevel=9)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"garbage", "is not a JSON object"),
        (b"\x1f\x8bnot really gzip", "damaged gzip data"),
        (b"[" * 5000 + b"]" * 5000, "not a TLS report"),
        (dumps({"organization-name": "x"}), "report-id is missing"),
        (_bomb(), "decompresses to more than 20 MB"),
    ],
    ids=["garbage", "broken-gzip", "deep-nesting", "missing-field", "gzip-bomb"],
)
def test_a_body_that_is_no_report_gets_400_with_the_reason(shared: Served, body: bytes, reason: str) -> None:
    answer = httpx.post(shared.url + "r", content=body, headers=GZ, timeout=10)
    assert answer.status_code == 400
    line = answer.text.strip()
    assert "\n" not in line and reason in line
    assert line.startswith("not a TLS report: ")


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PROPFIND"])
def test_other_methods_get_405(shared: Served, method: str) -> None:
    answer = httpx.request(method, shared.url + "v1/tlsrpt", timeout=10)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},
        {"content-type": "text/plain"},
        {},
        {"content-type": "application/tlsrpt+json", "content-encoding": "br"},
    ],
    ids=["json", "text", "none", "brotli"],
)
def test_other_content_types_get_415(shared: Served, headers: dict[str, str]) -> None:
    answer = httpx.post(shared.url, content=dumps(report(report_id="never")), headers=headers, timeout=10)
    assert answer.status_code == 415
    assert "application/tlsrpt+gzip" in answer.text or "gzip" in answer.text


def _raw(host: str, port: int, data: bytes, timeout: float = 10) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(data)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def test_a_declared_oversize_body_gets_413_before_any_of_it_is_sent(shared: Served) -> None:
    head = (
        f"POST /v1/tlsrpt HTTP/1.1\r\nHost: {shared.host}\r\nContent-Type: application/tlsrpt+gzip\r\n"
        f"Content-Length: {64 * 1024 + 1}\r\n\r\n"
    ).encode()
    with _raw(shared.host, shared.port, head) as sock:  # not a byte of the body is sent
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in answer.lower()


def test_a_streamed_oversize_body_is_cut_at_the_cap(shared: Served) -> None:
    sent = 0
    total = 256 * 1024 * 1024

    def body() -> Iterator[bytes]:
        nonlocal sent
        block = b" " * (1024 * 1024)
        while sent < total:
            sent += len(block)
            yield block

    # Chunked, so no length to refuse on: the server counts, answers 413 at the cap and closes.
    try:
        answer = httpx.post(shared.url, content=body(), headers=JSON, timeout=10)
        assert answer.status_code == 413
    except (httpx.RemoteProtocolError, httpx.WriteError):
        pass  # the close cut the upload, and with it (a reset) the answer: the log says 413
    # The server stopped reading at the cap: the client could push only what the sockets buffer.
    assert sent < 32 * 1024 * 1024, sent
    shared.lines_until(lambda line: " 413 refused: the report is larger than 65536 bytes" in line)
    # And it goes on serving.
    ok = httpx.post(shared.url, content=gz(report(report_id="after-413")), headers=GZ, timeout=10)
    assert ok.status_code == 201


def test_slow_drip_clients_time_out_while_others_are_served(shared: Served) -> None:
    host, port = shared.host, shared.port
    head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/tlsrpt+json\r\nContent-Length: 1000\r\n\r\n"
    idle = _raw(host, port, b"")
    dripping_head = _raw(host, port, b"P")
    dripping_body = _raw(host, port, head.encode() + b"{")
    stop = threading.Event()
    t0 = time.monotonic()

    def drip() -> None:  # one byte every 0.2 s on both: never finishing, always "making progress"
        while not stop.wait(0.2):
            for sock, byte in ((dripping_head, b"O"), (dripping_body, b" ")):
                with contextlib.suppress(OSError):
                    sock.send(byte)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        with httpx.Client(timeout=5) as client:  # meanwhile, other senders are served at once
            for i in range(10):
                answer = client.post(shared.url, content=gz(report(report_id=f"beside-drip-{i}")), headers=GZ)
                assert answer.status_code == 201
        served_in = time.monotonic() - t0
        closed = {}
        for name, sock in (("idle", idle), ("head", dripping_head), ("body", dripping_body)):
            sock.settimeout(10)
            closed[name] = _read_all(sock)  # returns when the server closes the connection
        waited = time.monotonic() - t0
    finally:
        stop.set()
        dripper.join(5)
        for sock in (idle, dripping_head, dripping_body):
            sock.close()
    assert served_in < waited
    assert waited < 5, waited  # the 1 s deadline (the header one and the body one), not the client's patience
    assert closed["idle"] == b"" and closed["head"] == b""  # headers never ended: closed without an answer
    assert closed["body"].startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within 1 seconds" in closed["body"]


def test_idle_connections_cannot_hold_every_slot(shared: Served) -> None:
    from wizard.receiver.server import MAX_CONNECTIONS

    socks = [_raw(shared.host, shared.port, b"") for _ in range(MAX_CONNECTIONS)]
    try:
        # Every slot is taken: a request now is turned away by uvicorn's limit...
        full = httpx.post(shared.url, content=gz(report(report_id="while-full")), headers=GZ, timeout=10)
        assert full.status_code == 503
        shared.lines_until(lambda line: line == "uvicorn: Exceeded concurrency limit.")
        # ...until the header deadline (1 s) closes the idle ones.
        time.sleep(2)
        later = httpx.post(shared.url, content=gz(report(report_id="after-idle")), headers=GZ, timeout=10)
        assert later.status_code == 201
        for sock in socks:
            sock.settimeout(5)
            assert sock.recv(10) == b""
    finally:
        for sock in socks:
            sock.close()


def test_a_malformed_request_or_huge_headers_get_400_and_a_log_line(shared: Served) -> None:
    with _raw(shared.host, shared.port, b"\x1b[2J NOT HTTP\r\n\r\n") as sock:
        assert _read_all(sock).startswith(b"HTTP/1.1 400 ")
    shared.lines_until(lambda line: line == "uvicorn: Invalid HTTP request received.")
    # Headers are bounded too (h11 buffers at most 16 KB of an unfinished event past one read):
    # 4 MB of them is refused, not buffered.
    with socket.create_connection((shared.host, shared.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        sent = 0
        with contextlib.suppress(OSError):  # the server closes while we are still sending
            while sent < 4 * 1024 * 1024:
                sent += sock.send(b"a" * 65536)
        try:
            answer = _read_all(sock)
        except OSError:  # reset: the server closed with our bytes unread
            answer = b""
    assert answer.startswith(b"HTTP/1.1 400 ") or answer == b""
    shared.lines_until(lambda line: line == "uvicorn: Invalid HTTP request received.")


def test_bodies_in_flight_are_bounded_in_memory(serve) -> None:
    from wizard.receiver.server import BUFFERED_MOST

    server = serve("--max-bytes", "2M", "--timeout", "10")
    size = 2 * 1024 * 1024
    head = (
        f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    # Each declared body is counted against the budget as soon as its headers arrive, before any
    # of it: enough of them fill it, and the next is turned away at once rather than buffered.
    holding = [_raw(server.host, server.port, head) for _ in range(BUFFERED_MOST // size)]
    try:
        time.sleep(1)  # for the server to take their headers (it logs nothing until each ends)
        with _raw(server.host, server.port, head) as sock:
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"retry-after: 60" in answer.lower()
    finally:
        for sock in holding:
            sock.close()
    # Closing them (or their deadline) gives the budget back: a report goes in again.
    server.lines_until(lambda line: " 499 " in line)
    time.sleep(0.5)
    ok = httpx.post(server.url, content=gz(report(report_id="after-budget")), headers=GZ, timeout=10)
    assert ok.status_code == 201


def test_the_log_line_escapes_what_the_sender_wrote(shared: Served) -> None:
    doc = report(org="Evil\x1b]0;owned\x07 Org", report_id="id\nforged 201 line")
    answer = httpx.post(shared.url + "p%1b%5b2J", content=gz(doc), headers=GZ, timeout=10)
    assert answer.status_code == 201
    line = shared.lines_until(lambda line: "owned" in line)[-1]
    assert "\x1b" not in line and "\x07" not in line
    assert line.endswith(
        'POST /p\\x1b[2J 201 stored org="Evil\\x1b]0;owned\\x07 Org" report-id="id\\x0aforged 201 line"'
    )


def test_sigint_during_posts_leaves_every_answered_report_whole_in_the_store(serve) -> None:
    server = serve("--timeout", "5")
    host, port = server.host, server.port
    body = gz(report(report_id="half-sent"))
    head = (
        f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    half = _raw(host, port, head + body[: len(body) // 2])  # in flight when the signal comes
    answered: list[str] = []
    stop = threading.Event()

    def sender(n: int) -> None:
        with httpx.Client(timeout=10) as client:
            for i in range(1000):
                if stop.is_set():
                    return
                rid = f"burst-{n}-{i}"
                try:
                    answer = client.post(server.url, content=gz(report(report_id=rid)), headers=GZ)
                except httpx.TransportError:
                    return  # the server stopped taking connections
                if answer.status_code in (200, 201):
                    answered.append(rid)

    with ThreadPoolExecutor(8) as pool:
        for n in range(8):
            pool.submit(sender, n)
        server.lines_until(lambda line: "burst-" in line, timeout=10)
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        half.sendall(body[len(body) // 2 :])  # the request in flight is finished and answered
        half.settimeout(10)
        finished = _read_all(half)
        stop.set()
    half.close()
    assert server.stop(None) == 0  # a second SIGINT would force the stop
    assert finished.startswith(b"HTTP/1.1 201 ")
    stored = assert_consistent(server.state_dir)
    assert answered, "no report was answered before the signal"
    assert {("Sender Example Ltd", rid) for rid in answered} <= stored
    assert ("Sender Example Ltd", "half-sent") in stored
    assert server.rest()[-1].startswith("stopped: ")


def test_a_post_cut_off_by_shutdown_stores_nothing(serve) -> None:
    server = serve("--timeout", "1")
    body = gz(report(report_id="never-finished"))
    head = (
        f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with _raw(server.host, server.port, head + body[:20]) as sock:
        time.sleep(0.2)
        server.proc.send_signal(signal.SIGTERM)
        sock.settimeout(10)
        answer = _read_all(sock)  # the body deadline ends it: 408, and the server exits
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert server.stop(None) == 0
    assert server.rest()[-1] == "stopped: 0 reports stored, 0 already stored, 1 requests refused"
    assert assert_consistent(server.state_dir) == set()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "localhost:8460"], "is not an IP address"),
        (["--listen", "127.0.7.1"], "write ADDR:PORT"),
        (["--cert", "x.pem"], "--cert and --key go together"),
        (["--max-bytes", "10"], "expected between 1K and 20M"),
        (["--max-bytes", "ten"], "expected a size in bytes"),
        (["--cert", "/nonexistent/c.pem", "--key", "/nonexistent/k.pem"], "no such file"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main(["reports", "serve", "--state-dir", str(tmp_path), *args]))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_key_that_does_not_match_or_is_encrypted_is_refused(pki, tmp_path: Path, capsys) -> None:
    ca, chain, _, _ = pki
    other = ca.issue_cert("other.example.test")
    wrong_key = tmp_path / "other-key.pem"
    other.private_key_pem.write_to_path(str(wrong_key))
    assert main(["reports", "serve", "--cert", str(chain), "--key", str(wrong_key), "--state-dir", str(tmp_path)]) == 2
    assert "not a PEM certificate chain and its matching key" in capsys.readouterr().err

    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(other.private_key_pem.bytes(), None)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    assert main(["reports", "serve", "--cert", str(chain), "--key", str(encrypted), "--state-dir", str(tmp_path)]) == 2
    assert "the key is encrypted" in capsys.readouterr().err


def test_an_address_in_use_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.7.4", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        rc = main(["reports", "serve", "--listen", f"127.0.7.4:{port}", "--state-dir", str(tmp_path)])
    assert rc == 3
    assert f"cannot listen on 127.0.7.4:{port}" in capsys.readouterr().err
    assert not (tmp_path / "reports.sqlite3").exists()


def test_an_unusable_store_exits_3_before_listening(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "reports.sqlite3").write_bytes(b"not a database")
    assert main(["reports", "serve", "--listen", "127.0.7.4:0", "--state-dir", str(tmp_path)]) == 3
    captured = capsys.readouterr()
    assert "is not a usable report store" in captured.err and captured.out == ""


# --- step 4: what must serve an https: rua ------------------------------------------------------


def test_snippets_route_the_rua_path_to_the_receiver() -> None:
    from wizard.hosting.receiver import receiver_snippets

    what, snippets = receiver_snippets(
        "https://Reports.Example.com:8443/v1/tls%20rpt?k=1", state_dir="/srv/my state", user="tlsrpt"
    )
    assert "reports.example.com:8443 must accept HTTPS POSTs to /v1/tls rpt" in what
    nginx, caddy, unit, direct = (s.text for s in snippets)
    assert "listen 8443 ssl;" in nginx and "server_name reports.example.com;" in nginx
    assert 'location = "/v1/tls rpt" {' in nginx and "proxy_pass http://127.0.0.1:8460;" in nginx
    assert "client_max_body_size 10m;" in nginx
    assert "reports.example.com:8443 {" in caddy and 'handle "/v1/tls rpt" {' in caddy
    assert "reverse_proxy 127.0.0.1:8460" in caddy and "max_size 10MB" in caddy
    assert (
        'ExecStart=/usr/local/bin/mta-sts-wizard reports serve --listen 127.0.0.1:8460 --state-dir "/srv/my state"'
        in unit
    )
    assert "User=tlsrpt" in unit and "tls%%20rpt" in unit  # % is a systemd specifier
    assert "--listen [::]:8443 --cert /etc/letsencrypt/live/reports.example.com/fullchain.pem" in direct
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in direct


@pytest.mark.parametrize(
    "uri",
    ["mailto:tlsrpt@example.com", "https://ex;ample.com/x", "https://a.example/x%0aevil", "https://a.example/x%22y"],
)
def test_no_snippets_for_mailto_or_what_would_break_the_files(uri: str) -> None:
    from wizard.hosting.receiver import receiver_snippets

    assert receiver_snippets(uri, state_dir="/s", user="u") == ("", [])


async def test_step4_offers_the_receiver_snippets_for_an_https_rua(tmp_path: Path) -> None:
    from screens.receiver_panel import ReceiverPanel
    from screens.widgets import CopyableValue
    from tests.screens_support import make_app

    app = make_app(tmp_path / "state", "example.com", offline=True)
    async with app.run_test(size=(100, 40)) as pilot:
        app.goto_step(4)
        await pilot.pause()
        panel = app.screen.query_one("#receiver", ReceiverPanel)
        assert not panel.children
        await pilot.press(*"mailto:tlsrpt@example.com", "enter")
        await pilot.pause()
        assert not panel.children and not panel.display  # mail needs no receiver here
        app.screen.query_one("#rua-input").focus()
        await pilot.press(*"https://reports.example.com/v1/tlsrpt", "enter")
        await pilot.pause()
        assert panel.display
        values = {v.title: v.value for v in panel.query(CopyableValue)}
        assert list(values) == [
            "nginx reverse proxy (TLS in nginx)",
            "Caddy reverse proxy (Caddy gets the certificate)",
            "systemd service behind the proxy",
            "Or no proxy: a systemd service serving HTTPS itself",
        ]
        assert 'location = "/v1/tlsrpt" {' in values["nginx reverse proxy (TLS in nginx)"]
        assert f"--state-dir {tmp_path / 'state'}" in values["systemd service behind the proxy"]
        what = str(panel.query_one(".receiver-what").render())
        assert "reports.example.com must accept HTTPS POSTs to /v1/tlsrpt" in what
        # Saved like every other generated value.
        nginx = panel.query(CopyableValue).first()
        nginx.focus()
        await pilot.press("s")
        await pilot.pause()
        target = tmp_path / "out" / "receiver.conf"
        app.screen.query_one("#save-path").value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text() == nginx.value
