"""Hostile inputs to `reports import` end bounded and say what they skipped (issue 14).

Received text never drives the terminal (file names, report fields, email headers in reasons);
an address field holds an address or is dropped with a note; a one-line mbox, an email of
thousands of parts and an email of gzip bombs cost bounded memory and work; a FIFO in a Maildir
and a Maildir folder linked to itself end; four imports into one store at once all complete;
a full disk is said to be one.
"""

from __future__ import annotations

import gzip
import mailbox
import os
import re
import sqlite3
import subprocess
import sys
import zlib
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

import pytest
from dkim_support import sign
from reports_factory import detail, dumps, gz, plain_email, report

from wizard.cli import main
from wizard.reports import ReportStore, import_paths
from wizard.reports.emails import MAX_INFLATED_PER_EMAIL, MAX_MIME_PARTS, MAX_REPORT_PARTS

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
#: What must never reach a terminal: C0 (but the line ends we print), DEL, C1 and bidi controls.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wizard", *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def _peak(*argv: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """The CLI run in a wrapper whose only child it is: (its result, its peak RSS in MB)."""
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=300)\n"
        "sys.stderr.write(p.stderr)\n"
        "sys.stdout.write(p.stdout)\n"
        "print('RC', p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "wizard", *argv],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    *lines, last = proc.stdout.splitlines()
    _, rc, rss = last.split()
    return subprocess.CompletedProcess(proc.args, int(rc), "\n".join(lines) + "\n", proc.stderr), int(rss)


# --- item 1: received text is shown escaped; address fields hold addresses --------------------


def _escaping_email() -> bytes:
    """Report headers and a DKIM-Signature header (never verified) whose d= and submitter hold escapes."""
    return (
        b"From: r@sender.example\nTo: t@example.com\nSubject: r\nTLS-Report-Domain: example.com\n"
        b"TLS-Report-Submitter: mail.sender.example\x1b]0;owned\x07\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; d=evil\x1b[2J\xc2\x9b.example; s=x; h=from; bh=x; b=x\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/report; report-type="tlsrpt"; boundary="b"\n\n'
        b"--b\nContent-Type: application/tlsrpt+json\n\n{}\n--b--\n"
    )


def test_received_text_never_reaches_the_terminal_raw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    evil = report(
        org="Evil\x1b[2J\u202eOrg\x9b",
        failure=3,
        details=[
            detail("certificate-expired\x1b]0;t\x07", 1, mx="mx\x1b]2;x\x07.example.com", ip="192.0.2.7"),
            detail("starttls-not-supported", 2, ip="198.51.100.1\x1b[31m owned"),
        ],
    )
    evil["policies"][0]["failure-details"][0]["receiving-ip"] = "not-an-ip\u2066"
    (folder / "a.json").write_bytes(dumps(evil))
    (folder / "x\x1b]0;t\x07\nimported 500 new reports.json").write_bytes(b"{not json")
    (folder / "z.eml").write_bytes(_escaping_email())
    state = str(tmp_path / "st")
    assert main(["reports", "import", str(folder), "--state-dir", state]) == 1
    imported = capsys.readouterr().out
    assert main(["reports", "summary", "example.com", "--state-dir", state]) == 0
    summary = capsys.readouterr().out
    for out in (imported, summary):
        assert not UNSAFE.findall(out), out
    lines = imported.splitlines()
    assert lines[-1] == "imported 1 new reports (0 already in the store, 2 inputs skipped)"
    assert not any(line.startswith("imported 500") for line in lines)  # a file name forges no line
    assert any("x\\x1b]0;t\\x07\\x0aimported 500 new reports.json: is not valid JSON" in line for line in lines)
    refused = next(line for line in lines if "DKIM-signed by" in line)  # d= and the submitter as the headers said
    assert "DKIM-signed by evil\\x1b[2j" in refused and "submitter mail.sender.example\\x1b]0;owned\\x07" in refused
    notes = [line for line in lines if line.startswith("note ")]
    assert len(notes) == 2
    assert "policies[0].failure-details[0].receiving-ip 'not-an-ip\\u2066' is not an IP address" in notes[0]
    assert "failure-details[1].sending-mta-ip" in notes[1] and "stored without it" in notes[1]
    assert "Evil\\x1b[2J\\u202eOrg\\x9b" in summary
    assert "certificate-expired\\x1b]0;t\\x07" in summary
    assert "(not reported) (Evil" in summary  # the sending IP that was no address
    with ReportStore(tmp_path / "st" / "reports.sqlite3") as store:
        ips = store.conn.execute("SELECT sending_ip, receiving_ip FROM failures ORDER BY rowid").fetchall()
    assert ips == [("192.0.2.7", None), (None, None)]


# --- item 4: bounded memory ----------------------------------------------------------------------


def test_a_one_line_mbox_is_skipped_without_holding_the_line(tmp_path: Path) -> None:
    path = tmp_path / "one-line.mbox"
    with path.open("wb") as f:
        f.write(b"From x@example.com Thu Jan  1 00:00:00 2025\n")
        for _ in range(200):
            f.write(b"A" * MB)
        f.write(b"\n")
    proc, rss = _peak("reports", "import", str(path), "--state-dir", str(tmp_path / "st"))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[0] == f"skipped {path} (message 1): email is larger than 28 MB; not imported"
    print("one-line mbox import peak RSS MB:", rss)
    assert rss < 120, f"the import peaked at {rss} MB RSS"


@pytest.mark.parametrize(
    ("ctype", "reason"),
    [
        (b"application/tlsrpt+json", f"email has more than {MAX_REPORT_PARTS} report attachments; not a report email"),
        (b"text/plain", f"email has more than {MAX_MIME_PARTS} MIME parts; not a report email"),
    ],
)
def test_an_email_of_thousands_of_parts_is_refused_at_the_cap(tmp_path: Path, ctype: bytes, reason: str) -> None:
    parts = b"".join(b"--b\nContent-Type: " + ctype + b"\n\n{}\n" for _ in range(MAX_MIME_PARTS * 5))
    email = (
        b"From: r@sender.example\nTLS-Report-Domain: example.com\nTLS-Report-Submitter: sender.example\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/report; report-type="tlsrpt"; boundary="b"\n\n'
        + parts
        + b"--b--\n"
    )
    (tmp_path / "parts.eml").write_bytes(email)
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(store, [tmp_path / "parts.eml"])
    assert [r.reason for r in outcome.rejected] == [reason]


# --- item 10: each gzip attachment inflated once, within a budget per email ----------------------


def _bomb(size: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(b'{"organization-name": "' + b"A" * size) + c.flush()


class _CountingInflater:
    def __init__(self, inner: Any, counter: list[int]) -> None:
        self._inner, self._counter = inner, counter

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        out = self._inner.decompress(data, max_length)
        self._counter[0] += len(out)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.usefixtures("dkim_dns")
def test_gzip_bombs_in_one_signed_email_are_inflated_once_within_its_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    msg = MIMEMultipart("report", report_type="tlsrpt")
    msg["From"] = "tlsrpt@mail.sender.example"
    msg["To"] = "tlsrpt@example.com"
    msg["Subject"] = "Report Domain: example.com"
    msg["TLS-Report-Domain"] = "example.com"
    msg["TLS-Report-Submitter"] = "mail.sender.example"
    msg.attach(MIMEText("bombs", "plain"))
    bomb = _bomb(100 * MB)
    for i in range(6):
        part = MIMEApplication(bomb, "tlsrpt+gzip")
        part.add_header("Content-Disposition", "attachment", filename=f"b{i}.json.gz")
        msg.attach(part)
    (tmp_path / "bombs.eml").write_bytes(sign(msg.as_bytes(), "mail.sender.example"))
    inflated = [0]
    real = zlib.decompressobj
    monkeypatch.setattr(zlib, "decompressobj", lambda *a: _CountingInflater(real(*a), inflated))
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(store, [tmp_path / "bombs.eml"])
    reasons = [r.reason for r in outcome.rejected]
    assert len(reasons) == 6 and outcome.imported == 0
    assert all("decompresses to more than 20 MB" in r for r in reasons[:2])
    assert all("decompress to more than 40 MB together" in r for r in reasons[2:])
    assert inflated[0] <= MAX_INFLATED_PER_EMAIL + 2, f"{inflated[0] // MB} MB inflated"


# --- item 5: only regular files, each folder once ----------------------------------------------


def test_a_fifo_in_maildir_new_is_skipped_not_waited_for(tmp_path: Path) -> None:
    md = mailbox.Maildir(tmp_path / "Maildir", create=True)
    md.add(plain_email("lunch?"))
    os.mkfifo(tmp_path / "Maildir" / "new" / "0000.fifo")  # opening it to read would block forever
    proc = _cli("reports", "import", str(tmp_path / "Maildir"), "--state-dir", str(tmp_path / "st"), timeout=60)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1, proc.stderr
    assert lines[0].startswith(f"skipped {tmp_path / 'Maildir'} (message 0000.fifo): is not a regular file")
    assert "no TLS report attached" in lines[1]
    assert lines[-1] == "imported 0 new reports (0 already in the store, 2 inputs skipped)"


def test_a_maildir_subfolder_linking_to_itself_is_read_once(tmp_path: Path) -> None:
    md = mailbox.Maildir(tmp_path / "Maildir", create=True)
    md.add(plain_email("lunch?"))
    (tmp_path / "Maildir" / ".a").symlink_to(".")
    proc = _cli("reports", "import", str(tmp_path / "Maildir"), "--state-dir", str(tmp_path / "st"), timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[-1] == "imported 0 new reports (0 already in the store, 1 inputs skipped)"


# --- item 8: concurrent imports into one store ---------------------------------------------------


def _share(folder: Path, first: int, count: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(first, first + count):
        doc = report(report_id=f"r{i}", day=f"2025-03-{1 + i % 28:02d}", failure=i % 3,
                     details=[detail("certificate-expired", i % 3)] if i % 3 else None)  # fmt: skip
        (folder / f"{i:05d}.json.gz").write_bytes(gzip.compress(dumps(doc), compresslevel=1))
    return folder


def _stored(state: Path) -> tuple[list[tuple[object, ...]], dict[str, Any]]:
    with ReportStore(state / "reports.sqlite3") as store:
        rows = store.conn.execute("SELECT organisation, report_id, day FROM reports ORDER BY report_id").fetchall()
        return rows, store.summary("example.com").to_json()


def test_four_concurrent_imports_all_complete_as_one_serial_import(tmp_path: Path) -> None:
    """Each share overlaps the next by 500 reports, so the imports race on the same reports too."""
    shares = [_share(tmp_path / f"share{n}", n * 4500, 5000) for n in range(4)]
    state = tmp_path / "st"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wizard", "reports", "import", str(share), "--state-dir", str(state)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    results = [(p.returncode, out, err) for p in procs for out, err in [p.communicate(timeout=300)]]
    assert [rc for rc, _, _ in results] == [0, 0, 0, 0], [err for _, _, err in results]
    counts = [re.search(r"imported (\d+) new reports \((\d+) already", out).groups() for _, out, _ in results]  # type: ignore[union-attr]
    assert sum(int(new) for new, _ in counts) == 3 * 4500 + 5000
    assert sum(int(new) + int(dup) for new, dup in counts) == 4 * 5000
    serial = _cli("reports", "import", *map(str, shares), "--state-dir", str(tmp_path / "serial"))
    assert serial.stdout.splitlines()[-1] == "imported 18500 new reports (1500 already in the store, 0 inputs skipped)"
    assert _stored(state) == _stored(tmp_path / "serial")


# --- item 11: a full disk ----------------------------------------------------------------------


def test_a_full_disk_is_said_to_be_full_and_the_store_stays_intact(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        folder = _share(tmp_path / "in", 0, 6000)
        proc = _cli("reports", "import", str(folder), "--state-dir", str(disk / "st"))
        assert proc.returncode == 3, proc
        assert proc.stderr == (
            f"mta-sts-wizard: the disk holding {disk / 'st' / 'reports.sqlite3'} is full; free some space and run"
            " the import again (reports stored before this are kept)\n"
        )
        raw = sqlite3.connect(disk / "st" / "reports.sqlite3")
        try:
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert raw.execute("SELECT COUNT(*) FROM reports").fetchone()[0] > 0  # earlier commits kept
        finally:
            raw.close()
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_json_report_and_gz_of_the_same_report_are_one(tmp_path: Path) -> None:
    """Dedup holds across forms of one report (JSON and gzip) in a single import."""
    (tmp_path / "a.json").write_bytes(dumps(report(report_id="same")))
    (tmp_path / "b.json.gz").write_bytes(gz(report(report_id="same")))
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(store, [tmp_path])
    assert (outcome.imported, outcome.duplicates) == (1, 1)
