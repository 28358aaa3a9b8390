"""Every input format, folder recursion, bad files among good ones, and deduplication on re-import.

Report emails are DKIM-signed (reports_factory.email_report) and their key served by the test
world's DNS (the dkim_dns fixture): unsigned ones are skipped (tests/test_reports_dkim.py).
"""

from __future__ import annotations

import mailbox
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from dkim_support import sign
from reports_factory import detail, dumps, email_report, gz, plain_email, report

from wizard.reports import ReportStore, import_paths
from wizard.reports.ingest import ImportOutcome
from wizard.reports.inputs import filename_domain

pytestmark = pytest.mark.usefixtures("dkim_dns")


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory):
    with ReportStore(tmp_path_factory.mktemp("state") / "reports.sqlite3") as s:
        yield s


def _ids(store: ReportStore) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT report_id FROM reports ORDER BY report_id")]


def test_json_and_json_gz_files(tmp_path: Path, store: ReportStore) -> None:
    (tmp_path / "a.json").write_bytes(dumps(report(report_id="a")))
    (tmp_path / "b.json.gz").write_bytes(gz(report(report_id="b")))
    (tmp_path / "oddly-named.bin").write_bytes(gz(report(report_id="c")))  # recognised by content
    out = import_paths(store, [tmp_path / "a.json", tmp_path / "b.json.gz", tmp_path / "oddly-named.bin"])
    assert (out.imported, out.duplicates, out.rejected) == (3, 0, [])
    assert _ids(store) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("compressed", "encoding"),
    [(True, "base64"), (False, "base64"), (False, "7bit")],
    ids=["gzip-b64", "json-b64", "json-7bit"],
)
def test_eml_report_parts(tmp_path: Path, store: ReportStore, compressed: bool, encoding: str) -> None:
    doc = report(report_id=f"eml-{compressed}-{encoding}")
    payload = gz(doc) if compressed else dumps(doc)
    (tmp_path / "r.eml").write_bytes(email_report(payload, compressed=compressed, encoding=encoding))
    out = import_paths(store, [tmp_path / "r.eml"])
    assert (out.imported, out.rejected) == (1, [])
    assert _ids(store) == [doc["report-id"]]


def test_eml_quoted_printable_and_crlf_line_ends(tmp_path: Path, store: ReportStore) -> None:
    body = dumps(report(report_id="qp")).replace(b"Sender", b"S=C3=A9nder")  # =C3=A9 is é in QP
    msg = (
        b"From: r@mail.sender.example\r\nTo: t@example.com\r\nSubject: Report\r\nTLS-Report-Domain: example.com\r\n"
        b"TLS-Report-Submitter: mail.sender.example\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type="tlsrpt"; boundary="XyZ"\r\n\r\n'
        b"preamble\r\n--XyZ\r\nContent-Type: text/plain\r\n\r\nhuman text\r\n--XyZ\r\n"
        b"Content-Type: application/tlsrpt+json\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + body
        + b"\r\n--XyZ--\r\nepilogue\r\n"
    )
    (tmp_path / "qp.eml").write_bytes(sign(msg, "mail.sender.example"))
    out = import_paths(store, [tmp_path / "qp.eml"])
    assert (out.imported, out.rejected) == (1, [])
    org = store.conn.execute("SELECT organisation FROM reports").fetchone()[0]
    assert org == "S\u00e9nder Example Ltd"


def test_forwarded_report_inside_message_rfc822(tmp_path: Path, store: ReportStore) -> None:
    """The forwarder does not sign; the forwarded report email's own signature vouches for it."""
    from email import message_from_bytes

    inner = message_from_bytes(email_report(gz(report(report_id="fwd"))))
    outer = MIMEMultipart("mixed")
    outer["Subject"] = "Fwd: report"
    outer.attach(MIMEText("see attached", "plain"))
    outer.attach(MIMEMessage(inner))
    (tmp_path / "fwd.eml").write_bytes(outer.as_bytes())
    out = import_paths(store, [tmp_path / "fwd.eml"])
    assert (out.imported, out.rejected) == (1, [])


def test_generic_content_type_accepted_only_with_a_report_filename(tmp_path: Path, store: ReportStore) -> None:
    data = email_report(gz(report(report_id="generic")), content_type="gzip", filename="s!example.com!1!2.json.gz")
    (tmp_path / "generic.eml").write_bytes(data)
    msg = MIMEMultipart("mixed")
    msg["Subject"] = "a pdf"
    msg.attach(MIMEApplication(b"%PDF-1.4", "octet-stream", Name="invoice.pdf"))
    (tmp_path / "invoice.eml").write_bytes(msg.as_bytes())
    out = import_paths(store, [tmp_path / "generic.eml", tmp_path / "invoice.eml"])
    assert out.imported == 1
    assert [r.source for r in out.rejected] == [str(tmp_path / "invoice.eml")]
    assert "no TLS report attached" in out.rejected[0].reason


def test_email_with_broken_attachment_is_listed(tmp_path: Path, store: ReportStore) -> None:
    (tmp_path / "bad.eml").write_bytes(email_report(b"\x1f\x8bnot really gzip"))
    (tmp_path / "plain.eml").write_bytes(plain_email())
    out = import_paths(store, [tmp_path])
    reasons = {Path(r.source).name: r.reason for r in out.rejected}
    assert "damaged gzip" in reasons["bad.eml"]
    assert "no TLS report attached" in reasons["plain.eml"]


def test_mbox_reports_and_other_mail(tmp_path: Path, store: ReportStore) -> None:
    path = tmp_path / "tlsrpt.mbox"
    box = mailbox.mbox(path)
    box.add(email_report(gz(report(report_id="m1"))))
    box.add(plain_email("lunch?"))
    box.add(email_report(dumps(report(report_id="m2")), compressed=False))
    box.close()
    out = import_paths(store, [path])
    assert out.imported == 2
    assert [(r.source, "no TLS report attached" in r.reason) for r in out.rejected] == [(f"{path} (message 2)", True)]
    assert _ids(store) == ["m1", "m2"]


def test_maildir_with_subfolders(tmp_path: Path, store: ReportStore) -> None:
    md = mailbox.Maildir(tmp_path / "Maildir", create=True)
    md.add(email_report(gz(report(report_id="md1"))))
    sub = md.add_folder("TLSRPT")
    sub.add(email_report(gz(report(report_id="md2"))))
    msg = mailbox.MaildirMessage(email_report(gz(report(report_id="md3"))))
    msg.set_subdir("cur")
    sub.add(msg)
    out = import_paths(store, [tmp_path / "Maildir"])
    assert (out.imported, out.rejected) == (3, [])
    assert _ids(store) == ["md1", "md2", "md3"]


def test_folders_recursively_with_every_kind_and_a_bad_file_that_does_not_stop_the_import(
    tmp_path: Path, store: ReportStore
) -> None:
    root = tmp_path / "reports"
    (root / "2025" / "03").mkdir(parents=True)
    (root / "2025" / "03" / "s!example.com!1741910400!1741996799!x.json.gz").write_bytes(gz(report(report_id="f1")))
    (root / "2025" / "broken.json").write_bytes(b'{"organization-name": "x"')
    (root / "2025" / "zz.json").write_bytes(dumps(report(report_id="f2")))
    (root / "notes.txt").write_bytes(b"\x00\x01binary junk")
    (root / "empty.json").write_bytes(b"")
    (root / "mail.eml").write_bytes(email_report(gz(report(report_id="f3"))))
    box = mailbox.mbox(root / "archive")
    box.add(email_report(gz(report(report_id="f4"))))
    box.close()
    md = mailbox.Maildir(root / "inbox", create=True)
    md.add(email_report(gz(report(report_id="f5"))))
    out = import_paths(store, [root, tmp_path / "missing.json.gz"])
    assert out.imported == 5
    assert _ids(store) == ["f1", "f2", "f3", "f4", "f5"]
    reasons = {Path(r.source.split(" (")[0]).name: r.reason for r in out.rejected}
    assert set(reasons) == {"broken.json", "notes.txt", "empty.json", "missing.json.gz"}
    assert "not valid JSON" in reasons["broken.json"]
    assert "not a TLS report" in reasons["notes.txt"]
    assert reasons["empty.json"] == "is empty"
    assert reasons["missing.json.gz"] == "no such file or folder"
    assert all("\n" not in r.render() for r in out.rejected)


def test_dangling_link_fifo_and_symlink_loop_are_listed_not_fatal(tmp_path: Path, store: ReportStore) -> None:
    import os

    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "pipe.json")  # opening it would block forever
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)
    (tmp_path / "sub" / "ok.json").write_bytes(dumps(report(report_id="ok")))
    out = import_paths(store, [tmp_path, tmp_path / "pipe.json"])
    assert out.imported == 1
    reasons = {Path(r.source).name: r.reason for r in out.rejected}
    assert set(reasons) == {"dangling.json", "pipe.json"}
    assert all("not a regular file" in r for r in reasons.values())
    assert len(out.rejected) == 3  # the pipe inside the folder and the pipe given by name


def test_reimporting_the_same_mailbox_changes_nothing(tmp_path: Path, store: ReportStore) -> None:
    box = mailbox.mbox(tmp_path / "box")
    for i in range(5):
        box.add(email_report(gz(report(report_id=f"d{i}", failure=1, details=[detail("starttls-not-supported", 1)]))))
    box.close()
    first = import_paths(store, [tmp_path / "box"])
    before = store.summary("example.com").to_json()
    second = import_paths(store, [tmp_path / "box"])
    assert (first.imported, first.duplicates) == (5, 0)
    assert (second.imported, second.duplicates) == (0, 5)
    assert store.summary("example.com").to_json() == before
    assert store.conn.execute("SELECT COUNT(*) FROM failures").fetchone()[0] == 5


def test_same_report_id_from_two_organisations_is_two_reports(tmp_path: Path, store: ReportStore) -> None:
    (tmp_path / "a.json").write_bytes(dumps(report(org="Google Inc.", report_id="same")))
    (tmp_path / "b.json").write_bytes(dumps(report(org="Microsoft Corporation", report_id="same")))
    assert import_paths(store, [tmp_path]).imported == 2


def test_progress_callback_and_batches(tmp_path: Path, store: ReportStore) -> None:
    for i in range(7):
        (tmp_path / f"{i}.json").write_bytes(dumps(report(report_id=f"p{i}")))
    seen: list[int] = []
    out = import_paths(store, [tmp_path], progress=lambda o: seen.append(o.imported), commit_every=3)
    assert out.imported == 7
    assert seen == [3, 6, 7]


def test_outcome_render_is_one_line_per_skipped_input() -> None:
    out = ImportOutcome(imported=2, duplicates=1)
    assert out.render() == "imported 2 new reports (1 already in the store, 0 inputs skipped)"


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("mail.sndr.example.com!example.net!1470013207!1470186007!001.json.gz", "example.net"),
        ("google.com!Example.COM!1!2.json", "example.com"),
        ("report.json.gz", None),
    ],
)
def test_filename_domain(name: str, domain: str | None) -> None:
    assert filename_domain(name) == domain
