"""`reports fetch-imap` against a real Dovecot on a random loopback address (tests/imap_server.py).

The report emails are DKIM-signed (reports_factory) and every run looks the key up on a loopback
test DNS server (--nameserver, the module's `key_dns`). Without Dovecot these tests skip with the
reason; under CI=true (.ci/run installs dovecot-imapd) they fail instead. Every run goes through
the command line (in this process, tests/cli_runner.py; at a terminal, a real process), so the
assertions are on what a user sees: stdout, stderr, exit code, and the mailbox's flags afterwards.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pty
import select
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dkim_support import DEFAULT_SIGNERS, publish
from reports_factory import email_report, gz, plain_email, report

from tests.cli_runner import CliResult, run_cli
from tests.hosting_servers.loopback import random_loopback
from tests.imap_server import ImapServer, dovecot_binary, running_dovecot
from tests.world.world import World
from wizard.reports.imap import MAX_FETCH_BYTES, PASSWORD_ENV, _read_failure, imap_date, quote_mailbox

ROOT = Path(__file__).resolve().parent.parent
RECENT = 4  # report emails received today
OLD_DAYS = 100


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires the IMAP tests to run", pytrace=False)
    pytest.skip(reason)


def _oversized() -> bytes:
    """A message the report filter selects (TLS-Report-Domain) but over the size cap."""
    head = (
        b"From: tlsrpt@big.example\r\nTo: tlsrpt@example.com\r\nTLS-Report-Domain: example.com\r\nSubject: big\r\n\r\n"
    )
    line = b"x" * 998 + b"\r\n"
    return head + line * (MAX_FETCH_BYTES // len(line) + 1024)


@pytest.fixture(scope="module")
def server() -> Iterator[ImapServer]:
    if dovecot_binary() is None:
        _skip_or_fail("dovecot is not installed (Debian package dovecot-imapd; .ci/run installs it)")
    if os.geteuid() != 0:
        _skip_or_fail("the Dovecot test server runs as root (it drops to 'nobody' for mail access)")
    old = time.time() - OLD_DAYS * 86400
    messages: list[tuple[bytes, float | None]] = [
        (email_report(gz(report(org=f"Org {i}", report_id=f"recent-{i}", day="2025-03-14"))), None)
        for i in range(RECENT)
    ]
    messages.append((email_report(gz(report(org="Old Org", report_id="old-1", day="2024-12-01"))), old))
    messages.append((plain_email("lunch?"), None))
    messages.append((_oversized(), None))
    with running_dovecot(messages) as srv:
        yield srv


def _run(
    server: ImapServer | None, *args: str, password: str | None = None, env_extra: dict[str, str] | None = None
) -> CliResult:
    env = {k: v for k, v in os.environ.items() if k not in (PASSWORD_ENV, "SSL_CERT_FILE")}
    if password is not None:
        env[PASSWORD_ENV] = password
    env.update(env_extra or {})
    cmd = ["reports", "fetch-imap"]
    if server is not None:
        cmd += [server.address, "--user", server.user]
    return run_cli(*cmd, *args, env=env)


#: --nameserver ADDR of the DNS server holding the report emails' DKIM key (set by key_dns).
_KEY_NS: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def key_dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    world = World(tmp_path_factory.mktemp("imap-dkim"))
    try:
        for domain in DEFAULT_SIGNERS:
            publish(world, domain)
        _KEY_NS[:] = ["--nameserver", world.dns.address]
        yield
    finally:
        _KEY_NS.clear()
        world.close()


def _trusted(server: ImapServer, state: Path) -> list[str]:
    return ["--ca-bundle", str(server.ca_file), "--state-dir", str(state), *_KEY_NS]


def test_imports_reports_then_dedups_and_skips_the_oversized(server: ImapServer, tmp_path: Path) -> None:
    state = tmp_path / "st"
    label = f"imap://{server.user}@{server.address}:993/INBOX"
    first = _run(server, *_trusted(server, state), "--since", "30", password=server.password)
    lines = first.stdout.splitlines()
    assert first.returncode == 1, first
    assert first.stderr == ""
    assert len(lines) == 2
    assert lines[0] == f"skipped {label} (UID 7): message is 26.0 MB, larger than the 25 MB cap; not downloaded"
    assert lines[1] == f"imported {RECENT} new reports (0 already in the store, 1 inputs skipped)"

    # Without --since the old report comes in too; the recent ones are already stored.
    second = _run(server, *_trusted(server, state), password=server.password)
    assert second.returncode == 1
    assert second.stdout.splitlines()[-1] == f"imported 1 new reports ({RECENT} already in the store, 1 inputs skipped)"
    third = _run(server, *_trusted(server, state), password=server.password)
    assert (
        third.stdout.splitlines()[-1] == f"imported 0 new reports ({RECENT + 1} already in the store, 1 inputs skipped)"
    )

    summary = run_cli("reports", "summary", "example.com", "--state-dir", str(state))
    assert summary.returncode == 0, summary.stderr
    assert f"{RECENT + 1} reports covering 2 days (first 2024-12-01, last 2025-03-14)" in summary.stdout

    # The password is in no output and in no file the import wrote.
    for proc in (first, second, third, summary):
        assert server.password not in proc.stdout + proc.stderr
    for file in state.rglob("*"):
        if file.is_file():
            assert server.password.encode() not in file.read_bytes(), file


def test_messages_stay_unread(server: ImapServer, tmp_path: Path) -> None:
    proc = _run(server, *_trusted(server, tmp_path / "st"), "--all-messages", password=server.password)
    assert proc.returncode == 1
    flags = server.flags()
    assert len(flags) == RECENT + 3
    assert all("\\Seen" not in f for f in flags.values()), flags


def test_all_messages_lists_the_non_report_email(server: ImapServer, tmp_path: Path) -> None:
    proc = _run(server, *_trusted(server, tmp_path / "st"), "--all-messages", password=server.password)
    label = f"imap://{server.user}@{server.address}:993/INBOX"
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[1].startswith(f"skipped {label} (UID 7): message is 26.0 MB")
    assert (
        f"skipped {label} (UID 6): email has no TLS report attached (no application/tlsrpt+gzip or +json part)"
        in proc.stdout.splitlines()
    )
    assert (
        proc.stdout.splitlines()[-1] == f"imported {RECENT + 1} new reports (0 already in the store, 2 inputs skipped)"
    )


def test_ca_bundle_from_ssl_cert_file(server: ImapServer, tmp_path: Path) -> None:
    proc = _run(
        server,
        "--since",
        "30",
        "--state-dir",
        str(tmp_path / "st"),
        *_KEY_NS,
        password=server.password,
        env_extra={"SSL_CERT_FILE": str(server.ca_file)},
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[-1].startswith(f"imported {RECENT} new reports")


def test_untrusted_certificate_exits_3(server: ImapServer, tmp_path: Path) -> None:
    proc = _run(server, "--state-dir", str(tmp_path / "st"), password=server.password)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr == (
        f"mta-sts-wizard: cannot connect to {server.address}:993: certificate not trusted"
        " (unable to get local issuer certificate); pass --ca-bundle FILE if the server uses a private CA\n"
    )
    assert server.password not in proc.stderr


def test_missing_folder_exits_3(server: ImapServer, tmp_path: Path) -> None:
    proc = _run(server, *_trusted(server, tmp_path / "st"), "--folder", "No Such", password=server.password)
    assert proc.returncode == 3
    assert proc.stderr.startswith("mta-sts-wizard: cannot open folder 'No Such' on ")
    assert proc.stderr.count("\n") == 1


def test_nothing_listening_exits_3(tmp_path: Path) -> None:
    address = random_loopback(ports=(993,))
    proc = run_cli(
        "reports", "fetch-imap", address, "--user", "u", "--state-dir", str(tmp_path),
        env={**os.environ, PASSWORD_ENV: "secret-pw"},
    )  # fmt: skip
    assert proc.returncode == 3
    assert proc.stderr == f"mta-sts-wizard: cannot connect to {address}:993: Connection refused\n"


def test_silent_server_times_out(tmp_path: Path) -> None:
    """A server that accepts the connection and never speaks: the --timeout ends the wait."""
    address = random_loopback(ports=(993,))
    listener = socket.create_server((address, 993))
    accepted: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(30)
        with contextlib.suppress(OSError):
            accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        proc = run_cli(
            "reports", "fetch-imap", address, "--user", "u", "--timeout", "0.5",
            env={**os.environ, PASSWORD_ENV: "secret-pw"},
        )  # fmt: skip
    finally:
        listener.close()
        thread.join(timeout=35)
        for conn in accepted:
            conn.close()
    assert proc.returncode == 3
    assert proc.stderr == f"mta-sts-wizard: cannot connect to {address}:993: no answer within the timeout (--timeout)\n"


def test_no_password_and_no_terminal_is_a_usage_error(tmp_path: Path) -> None:
    proc = _run(None, "127.0.0.1", "--user", "u", "--state-dir", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr == (
        f"mta-sts-wizard: no IMAP password: set {PASSWORD_ENV}, or run in a terminal to be asked for it\n"
    )


def test_password_prompt_on_a_terminal(server: ImapServer, tmp_path: Path) -> None:
    """On a terminal the password is asked for without echo; it does not appear on the screen."""
    state = tmp_path / "st"
    env = {k: v for k, v in os.environ.items() if k not in (PASSWORD_ENV, "SSL_CERT_FILE")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI with the pty as its controlling terminal
        os.chdir(ROOT)
        os.execve(
            sys.executable,
            [sys.executable, "-m", "wizard", "reports", "fetch-imap", server.address, "--user", server.user,
             "--since", "30", *_trusted(server, state)],
            env,
        )  # fmt: skip
    screen = b""
    deadline = time.monotonic() + 60
    sent = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
            if not sent and b"IMAP password for" in screen:
                os.write(fd, server.password.encode() + b"\n")
                sent = True
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = screen.decode(errors="replace")
    assert sent, text
    assert os.waitstatus_to_exitcode(status) == 1, text
    assert f"imported {RECENT} new reports" in text
    assert server.password not in text


def test_imap_helpers() -> None:
    import datetime as dt

    assert imap_date(dt.date(2025, 3, 1)) == "1-Mar-2025"
    assert quote_mailbox('Reports "TLS"\\x') == '"Reports \\"TLS\\"\\\\x"'


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(104, "Connection reset by peer"),
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
        imaplib.IMAP4.abort("command: UID => socket error: EOF"),
        BrokenPipeError(32, "Broken pipe"),
    ],
)
def test_every_shape_of_a_cut_connection_reads_the_same(exc: Exception) -> None:
    """A killed server shows up as any of these, depending on timing; the user sees one message."""
    assert _read_failure(exc).startswith("the connection to the server was lost (")
    assert _read_failure(TimeoutError("timed out")) == "no answer within the timeout (--timeout)"


def test_missing_dovecot_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true requires"):
        _skip_or_fail("dovecot is not installed")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        _skip_or_fail("dovecot is not installed")


def test_small_batches_give_the_same_outcome(
    server: ImapServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sizes asked 3 UIDs at a time and bodies fetched 2 at a time: same imports, same order of skips."""
    from wizard.cli import main
    from wizard.reports import imap

    monkeypatch.setattr(imap, "SIZE_BATCH", 3)
    monkeypatch.setattr(imap, "BODY_BATCH", 2)
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    args = ["reports", "fetch-imap", server.address, "--user", server.user, "--all-messages"]
    rc = main([*args, *_trusted(server, tmp_path / "st")])
    out = capsys.readouterr().out.splitlines()
    assert rc == 1
    assert [line.split("(UID ")[1][:1] for line in out[:-1]] == ["6", "7"]
    assert out[-1] == f"imported {RECENT + 1} new reports (0 already in the store, 2 inputs skipped)"


def test_a_literal_over_the_cap_is_refused_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server announcing a huge block is not trusted with memory: the read stops with a reason."""
    import imaplib

    from wizard.reports.imap import _BoundedIMAP4_SSL

    conn = object.__new__(_BoundedIMAP4_SSL)
    with pytest.raises(imaplib.IMAP4.abort, match="over the"):
        conn.read(10 * MAX_FETCH_BYTES)


def test_server_gone_mid_read_keeps_what_was_read_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The connection is cut after the first message is read: that report is stored, the reason is one line."""
    if dovecot_binary() is None or os.geteuid() != 0:
        _skip_or_fail("dovecot is not installed (Debian package dovecot-imapd) or not running as root")
    from wizard.cli import main
    from wizard.reports import imap

    messages: list[tuple[bytes, float | None]] = [
        (email_report(gz(report(report_id=f"gone-{i}"))), None) for i in range(3)
    ]
    with running_dovecot(messages) as srv:
        read = imap.message_candidates

        def read_then_stop(data: bytes, source: str) -> Iterator[imap.Candidate]:
            yield from read(data, source)
            srv.drop_clients()

        monkeypatch.setattr(imap, "BODY_BATCH", 1)
        monkeypatch.setattr(imap, "message_candidates", read_then_stop)
        monkeypatch.setenv(PASSWORD_ENV, srv.password)
        state = tmp_path / "st"
        rc = main(["reports", "fetch-imap", srv.address, "--user", srv.user, *_trusted(srv, state)])
        out, err = capsys.readouterr()
    assert rc == 3
    assert out.strip() == "imported 1 new reports (0 already in the store, 0 inputs skipped)"
    label = f"imap://{srv.user}@{srv.address}:993/INBOX"
    assert err.startswith(f"mta-sts-wizard: reading {label} stopped: the connection to the server was lost")
    assert err.count("\n") == 1
    assert srv.password not in out + err


# Refused logins come last: Dovecot's anvil then holds an auth penalty against 127.0.0.1 that
# delays every later login to the module's server by 2, 4, 8... seconds.


def test_wrong_password_is_one_line_and_never_echoed(server: ImapServer, tmp_path: Path) -> None:
    wrong = "Wr0ng-" + server.password[::-1]
    state = tmp_path / "st"
    proc = _run(server, *_trusted(server, state), password=wrong)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"mta-sts-wizard: login as {server.user} on {server.address}:993 refused: ")
    assert "Authentication failed" in proc.stderr
    assert wrong not in proc.stderr and server.password not in proc.stderr
    assert not state.exists()  # a refused login creates no store


def test_non_ascii_wrong_password_goes_through_authenticate(server: ImapServer, tmp_path: Path) -> None:
    wrong = "pässwörd-ünïcode"
    proc = _run(server, *_trusted(server, tmp_path / "st"), password=wrong)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "refused" in proc.stderr
    assert wrong not in proc.stderr and "Traceback" not in proc.stderr
