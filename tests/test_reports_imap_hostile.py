"""`reports fetch-imap` against a hostile in-process IMAP server (TLS on a random loopback address).

The server answers LOGIN by echoing the command line (with the password as imaplib quoted it),
SEARCH with what no IMAP server should send (a number that is not one, a literal, a flood of
literals), and everything else plainly. Each run goes through the command line (in this process,
tests/cli_runner.py; in a subprocess where its peak memory is measured), so the assertions are on
what a user sees: one line on stderr, the exit code, no traceback, no password.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from tests.cli_runner import CliResult, run_cli
from tests.hosting_servers.loopback import random_loopback
from wizard.reports.imap import MAX_REPLY_BYTES, PASSWORD_ENV

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024

#: (tag, the command line as received) -> the bytes to send back, for the commands a scenario changes.
Script = dict[str, Callable[[bytes, bytes], bytes]]


def _plain(tag: bytes, line: bytes) -> bytes:
    verb = line.split(b" ", 2)[1].upper() if b" " in line else b""
    if verb == b"LOGOUT":
        return b"* BYE bye\r\n" + tag + b" OK done\r\n"
    if verb in (b"SELECT", b"EXAMINE"):
        return b"* 3 EXISTS\r\n" + tag + b" OK [READ-ONLY] done\r\n"
    return tag + b" OK done\r\n"


class HostileImap:
    """A TLS IMAP server on 127.X.Y.Z:993 following `script` (LOGIN, SEARCH...) and `_plain` otherwise."""

    def __init__(self, tmp: Path, script: Script, greeting_drip: float = 0.0) -> None:
        ca = trustme.CA()
        self.address = random_loopback(ports=(993,))
        self.ca_file = tmp / "imap-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(self.address).configure_cert(self.context)
        self.script = script
        #: Seconds between the bytes of the greeting (0: sent at once); each byte comes well within
        #: the client's --timeout, so only a deadline for the whole session ends the wait.
        self.greeting_drip = greeting_drip
        self.stop = threading.Event()
        self.listener = socket.create_server((self.address, 993))
        self.listener.settimeout(60)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.listener.accept()
            conn.settimeout(30)
            with self.context.wrap_socket(conn, server_side=True) as tls:
                greeting = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hostile test server\r\n"
                if self.greeting_drip:
                    for byte in greeting[:-2]:  # bounded: the greeting's length, until the client leaves
                        if self.stop.wait(self.greeting_drip):
                            return
                        tls.sendall(bytes([byte]))
                tls.sendall(greeting)
                reader = tls.makefile("rb")
                for _ in range(50):  # a session is a handful of commands
                    line = reader.readline(64 * 1024)
                    if not line:
                        return
                    line = line.rstrip(b"\r\n")
                    tag = line.split(b" ", 1)[0]
                    verb = b" ".join(line.split(b" ")[1:3]).upper()
                    handler = next((h for name, h in self.script.items() if verb.startswith(name.encode())), _plain)
                    tls.sendall(handler(tag, line))
                    if verb.startswith(b"LOGOUT"):
                        return

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=30)


@contextlib.contextmanager
def hostile_imap(tmp: Path, script: Script, greeting_drip: float = 0.0) -> Iterator[HostileImap]:
    server = HostileImap(tmp, script, greeting_drip)
    try:
        yield server
    finally:
        server.close()


def _fetch(server: HostileImap, tmp: Path, password: str = "secret-pw", *extra: str) -> CliResult:
    env = {**os.environ, PASSWORD_ENV: password}
    env.pop("SSL_CERT_FILE", None)
    return run_cli(
        "reports", "fetch-imap", server.address, "--user", "u",
        "--ca-bundle", str(server.ca_file), "--state-dir", str(tmp / "st"), "--timeout", "20", *extra, env=env,
    )  # fmt: skip


def test_a_greeting_dripped_a_byte_at_a_time_ends_at_the_session_deadline(tmp_path: Path) -> None:
    """Each byte comes within --timeout (20 s), so only the session's --deadline ends the wait."""
    import time

    with hostile_imap(tmp_path, {}, greeting_drip=0.5) as server:
        started = time.monotonic()
        proc = _fetch(server, tmp_path, "secret-pw", "--deadline", "2")
        elapsed = time.monotonic() - started
    assert proc.returncode == 3, proc
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "went past its 2 s deadline (--deadline)" in proc.stderr
    assert elapsed < 15  # bounded by the deadline, not by the ~30 s the drip would take


def _echo_login(tag: bytes, line: bytes) -> bytes:
    return tag + b" NO [AUTHENTICATIONFAILED] refused: " + line + b"\r\n"


@pytest.mark.parametrize("password", ['pa"ss\\word-1', 'x\\"y"z\\\\', "plain-secret"])
def test_the_password_never_shows_even_as_imaplib_quoted_it(tmp_path: Path, password: str) -> None:
    """The server echoes the LOGIN line: imaplib sent the password quoted (`"` and `\\` escaped)."""
    with hostile_imap(tmp_path, {"LOGIN": _echo_login}) as server:
        proc = _fetch(server, tmp_path, password)
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')
    assert proc.returncode == 3, proc
    assert proc.stderr.count("\n") == 1 and "refused" in proc.stderr and "***" in proc.stderr
    for form in (password, quoted):
        assert form not in proc.stdout + proc.stderr


def _search(reply: bytes) -> Callable[[bytes, bytes], bytes]:
    return lambda tag, line: reply + tag + b" OK done\r\n"


@pytest.mark.parametrize(
    "reply",
    [b"* SEARCH 1 2x\r\n", b"* SEARCH {5}\r\n1 2 3\r\n", b"* SEARCH 1 -2\r\n"],
    ids=["not-a-number", "literal", "negative"],
)
def test_a_search_reply_that_is_not_numbers_is_one_line_and_exit_3(tmp_path: Path, reply: bytes) -> None:
    with hostile_imap(tmp_path, {"UID SEARCH": _search(reply)}) as server:
        proc = _fetch(server, tmp_path)
    assert proc.returncode == 3, proc
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "SEARCH reply is not a list of message numbers" in proc.stderr


def _flood(tag: bytes, line: bytes) -> bytes:
    """Literals of 20 MB each, more of them than one reply may carry."""
    block = b"7" * (20 * MB)
    count = MAX_REPLY_BYTES // len(block) + 2
    return b"* SEARCH" + b"".join(b" {%d}\r\n" % len(block) + block for _ in range(count)) + b"\r\n" + tag + b" OK\r\n"


def test_a_reply_of_many_large_literals_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    """A SEARCH answered by 20 MB literals past the per-reply budget: the read stops at the budget."""
    with hostile_imap(tmp_path, {"UID SEARCH": _flood}) as server:
        code = (
            "import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)\n"
            "sys.stderr.write(p.stderr)\n"
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        )
        env = {**os.environ, PASSWORD_ENV: "secret-pw"}
        proc = subprocess.run(
            [sys.executable, "-c", code, sys.executable, "-m", "wizard", "reports", "fetch-imap", server.address,
             "--user", "u", "--ca-bundle", str(server.ca_file), "--state-dir", str(tmp_path / "st")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    rc, rss_kb = map(int, proc.stdout.split())
    assert rc == 3, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert f"stopped: the server sent more than {MAX_REPLY_BYTES // MB} MB of blocks in one reply" in proc.stderr
    assert rss_kb < (MAX_REPLY_BYTES + 120 * MB) // 1024, f"fetch-imap peaked at {rss_kb // 1024} MB RSS"
