"""Report emails count only when DKIM-signed by the reporting domain (RFC 8460 §3, §5.3; SPEC.md §8).

Emails are signed with dkimpy and a 2048-bit RSA key made in the test session; the key is served
as `tlsrpt._domainkey.<domain>` by the test world's DNS server on loopback, which the importer
asks through --nameserver (CLI) or the dkim_dns fixture's lookup (library). Each case asserts the
one line a user sees for the skipped email, and that plain report files are not affected.
"""

from __future__ import annotations

import mailbox
import os
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
from dkim_support import SELECTOR, new_key, publish, sign
from reports_factory import dumps, email_report, gz, mutated, report

from tests.cli_runner import CliResult, run_cli
from tests.world.world import World
from wizard.cli import main
from wizard.reports import ReportStore, import_paths
from wizard.reports.dkim import UNSIGNED, DnsKeyLookup, check_email, signs_for, use_key_lookup

SUBMITTER = "mail.sender.example"


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory):
    with ReportStore(tmp_path_factory.mktemp("state") / "reports.sqlite3") as s:
        yield s


def _import_one(store: ReportStore, path: Path, data: bytes) -> tuple[int, list[str]]:
    path.write_bytes(data)
    out = import_paths(store, [path])
    return out.imported, [r.render() for r in out.rejected]


def _unsigned_report_email(report_id: str = "u", **kw: object) -> bytes:
    return email_report(gz(report(report_id=report_id)), sign=False, **kw)  # type: ignore[arg-type]


# --- the rule, case by case (library path, key on the loopback DNS) -------------------------------------


def test_signed_report_email_is_imported(tmp_path: Path, store: ReportStore, dkim_dns: World) -> None:
    imported, skipped = _import_one(store, tmp_path / "ok.eml", email_report(gz(report(report_id="signed"))))
    assert (imported, skipped) == (1, [])
    assert (f"{SELECTOR}._domainkey.{SUBMITTER}", "TXT", "udp") in dkim_dns.dns.queries


def test_unsigned_report_email_is_skipped_with_the_rfc_reason(
    tmp_path: Path, store: ReportStore, dkim_dns: World
) -> None:
    path = tmp_path / "unsigned.eml"
    assert _import_one(store, path, _unsigned_report_email()) == (0, [f"skipped {path}: {UNSIGNED}"])
    assert UNSIGNED == "not DKIM-signed; RFC 8460 says receivers ignore unsigned reports"
    assert store.report_count() == 0


def test_tampered_body_does_not_verify(tmp_path: Path, store: ReportStore, dkim_dns: World) -> None:
    signed = email_report(dumps(report(report_id="t", success=100)), compressed=False, encoding="7bit")
    assert b'"total-successful-session-count": 100' in signed
    forged = signed.replace(b'"total-successful-session-count": 100', b'"total-successful-session-count": 999')
    path = tmp_path / "forged.eml"
    imported, skipped = _import_one(store, path, forged)
    assert imported == 0
    assert len(skipped) == 1
    assert skipped[0].startswith(
        f"skipped {path}: its DKIM signature by {SUBMITTER} does not verify (body hash mismatch"
    )


def test_signature_with_a_body_length_tag_is_refused(tmp_path: Path, store: ReportStore, dkim_dns: World) -> None:
    data = email_report(gz(report(report_id="l")), length=True)
    assert b"l=" in data.split(b"\n\n", 1)[0]
    path = tmp_path / "l.eml"
    assert _import_one(store, path, data) == (
        0,
        [f"skipped {path}: its DKIM signature (d={SUBMITTER}) has an l= body-length tag, which RFC 8460 forbids"],
    )


def test_signature_from_an_unrelated_domain_is_refused(tmp_path: Path, store: ReportStore, dkim_dns: World) -> None:
    publish(dkim_dns, "other.example")  # a valid signature, only from the wrong domain
    data = email_report(gz(report(report_id="o")), signer="other.example")
    path = tmp_path / "other.eml"
    assert _import_one(store, path, data) == (
        0,
        [
            f"skipped {path}: DKIM-signed by other.example, not by the submitter {SUBMITTER} or a parent domain;"
            " RFC 8460 requires the reporting domain's signature"
        ],
    )


def test_parent_domain_signature_counts_and_a_child_does_not(
    tmp_path: Path, store: ReportStore, dkim_dns: World
) -> None:
    parent = email_report(gz(report(report_id="p")), signer="sender.example")
    assert _import_one(store, tmp_path / "parent.eml", parent) == (1, [])
    publish(dkim_dns, f"relay.{SUBMITTER}")
    child = email_report(gz(report(report_id="c")), signer=f"relay.{SUBMITTER}")
    imported, skipped = _import_one(store, tmp_path / "child.eml", child)
    assert imported == 0 and f"DKIM-signed by relay.{SUBMITTER}, not by the submitter" in skipped[0]


@pytest.mark.parametrize("header", ["TLS-Report-Submitter", "TLS-Report-Domain"])
def test_missing_report_header_is_refused_even_when_signed(
    tmp_path: Path, store: ReportStore, dkim_dns: World, header: str
) -> None:
    plain = _unsigned_report_email()
    lines = [line for line in plain.split(b"\n") if not line.startswith(header.encode() + b":")]
    data = sign(b"\n".join(lines), SUBMITTER)
    path = tmp_path / "noheader.eml"
    assert _import_one(store, path, data) == (
        0,
        [f"skipped {path}: no {header} header; RFC 8460 requires both on an emailed report"],
    )


def test_submitter_must_equal_the_contact_info_domain(tmp_path: Path, store: ReportStore, dkim_dns: World) -> None:
    doc = mutated(report(report_id="ci"), ["contact-info"], "tlsrpt@elsewhere.example")
    path = tmp_path / "contact.eml"
    assert _import_one(store, path, email_report(gz(doc))) == (
        0,
        [
            f"skipped {path}: TLS-Report-Submitter {SUBMITTER} differs from the domain of its contact-info"
            " (elsewhere.example); RFC 8460 requires them equal"
        ],
    )


def test_key_without_s_tlsrpt_is_accepted_and_said(dkim_dns: World) -> None:
    """RFC 8460: receivers MAY ignore keys lacking s=tlsrpt; this one accepts them and says which it was."""
    key = new_key()
    publish(dkim_dns, "plainkey.example", key=key, tlsrpt=False)
    plain = email_report(gz(report()), sign=False, submitter="plainkey.example")
    data = sign(plain, "plainkey.example", key=key)
    lookup = DnsKeyLookup((dkim_dns.dns.address,), timeout=3.0)
    verdict = check_email(data, BytesHeaderParser().parsebytes(data), lookup)
    assert (verdict.reason, verdict.signer, verdict.tlsrpt_key) == (None, "plainkey.example", False)
    signed = email_report(gz(report()))
    assert check_email(signed, BytesHeaderParser().parsebytes(signed), lookup).tlsrpt_key is True


def test_a_forwarders_signature_before_the_reporters_does_not_hide_it(
    tmp_path: Path, store: ReportStore, dkim_dns: World
) -> None:
    publish(dkim_dns, "forwarder.example")
    data = sign(email_report(gz(report(report_id="two"))), "forwarder.example")
    assert data.count(b"DKIM-Signature:") == 2
    assert _import_one(store, tmp_path / "two.eml", data) == (1, [])


def test_unpublished_key_is_a_reason(tmp_path: Path, store: ReportStore, dkim_dns: World) -> None:
    dkim_dns.dns.add_zone("nokey.example")
    doc = mutated(report(report_id="nx"), ["contact-info"], "tlsrpt@mail.nokey.example")
    data = email_report(gz(doc), submitter="mail.nokey.example")
    path = tmp_path / "nx.eml"
    imported, skipped = _import_one(store, path, data)
    assert imported == 0
    assert skipped == [
        f"skipped {path}: the DKIM key of mail.nokey.example cannot be looked up"
        f" ({SELECTOR}._domainkey.mail.nokey.example does not exist (NXDOMAIN)); try again later"
    ]


def test_key_lookup_timeout_skips_without_a_traceback(tmp_path: Path, store: ReportStore) -> None:
    """A nameserver on loopback that never answers: every signed email is skipped with the reason."""
    world = World(tmp_path / "silent-world")
    try:
        silent = world.silent_dns()
        box = mailbox.mbox(tmp_path / "box")
        for i in range(3):
            box.add(email_report(gz(report(report_id=f"s{i}"))))
        box.close()
        lookup = DnsKeyLookup((silent.address,), timeout=0.5)
        with use_key_lookup(lookup):
            out = import_paths(store, [tmp_path / "box"])
    finally:
        world.close()
    assert out.imported == 0
    assert len(out.rejected) == 3
    for rejection in out.rejected:
        assert rejection.reason.startswith(f"the DKIM key of {SUBMITTER} cannot be looked up (looking up TXT for")
        assert "timed out" in rejection.reason and rejection.reason.endswith("try again later")
    assert len(lookup._memo) == 1  # one timeout for the whole mailbox, not one per email


def test_plain_report_files_need_no_signature_and_no_lookup(tmp_path: Path, store: ReportStore) -> None:
    """.json/.json.gz files and posted reports are not emails: no DNS is asked even if none answers."""
    (tmp_path / "a.json.gz").write_bytes(gz(report(report_id="file-a")))
    (tmp_path / "b.json").write_bytes(dumps(report(report_id="file-b")))
    asked: list[str] = []

    def lookup(name: str) -> tuple[str, ...]:
        asked.append(name)
        return ()

    with use_key_lookup(lookup):
        out = import_paths(store, [tmp_path])
    assert (out.imported, out.rejected, asked) == (2, [], [])


def test_signs_for() -> None:
    assert signs_for("mail.sender.example", "mail.sender.example")
    assert signs_for("Sender.Example.", "mail.sender.example")
    assert not signs_for("relay.mail.sender.example", "mail.sender.example")
    assert not signs_for("example", "mail.sender.example")  # a bare TLD never counts
    assert not signs_for("ender.example", "mail.sender.example")  # a suffix, not a parent
    assert not signs_for("", "mail.sender.example")


# --- the CLI, as a user runs it ---------------------------------------------------------------------------


def _cli(*args: str) -> CliResult:
    return run_cli("reports", "import", *args, env={k: v for k, v in os.environ.items() if k != "MTA_STS_WIZARD_HOME"})


def test_cli_import_prints_a_line_per_refused_email(tmp_path: Path, dkim_dns: World) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "1-signed.eml").write_bytes(email_report(gz(report(report_id="cli-ok"))))
    (folder / "2-unsigned.eml").write_bytes(_unsigned_report_email("cli-unsigned"))
    (folder / "3-file.json.gz").write_bytes(gz(report(report_id="cli-file")))
    publish(dkim_dns, "other.example")
    (folder / "4-other.eml").write_bytes(email_report(gz(report(report_id="cli-o")), signer="other.example"))
    proc = _cli(str(folder), "--nameserver", dkim_dns.dns.address, "--state-dir", str(tmp_path / "st"))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == f"skipped {folder / '2-unsigned.eml'}: {UNSIGNED}"
    assert lines[1].startswith(f"skipped {folder / '4-other.eml'}: DKIM-signed by other.example, not by the submitter")
    assert lines[2] == "imported 2 new reports (0 already in the store, 2 inputs skipped)"


def test_cli_silent_nameserver_is_a_reason_not_a_traceback(tmp_path: Path) -> None:
    world = World(tmp_path / "silent-world")
    try:
        silent = world.silent_dns()
        (tmp_path / "r.eml").write_bytes(email_report(gz(report(report_id="quiet"))))
        args = [str(tmp_path / "r.eml"), "--nameserver", silent.address, "--timeout", "0.5"]
        proc = _cli(*args, "--state-dir", str(tmp_path / "st"))
    finally:
        world.close()
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"skipped {tmp_path / 'r.eml'}: the DKIM key of {SUBMITTER} cannot be looked up")
    assert "timed out" in first


def test_cli_bad_nameserver_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reports", "import", str(tmp_path), "--nameserver", "dns.example"]) == 2
    err = capsys.readouterr().err
    assert "not an IP address" in err and err.count("\n") == 1


# --- IMAP: the same rule on messages read from a mailbox --------------------------------------------------


def test_fetch_imap_imports_the_signed_report_and_skips_the_unsigned(tmp_path: Path, dkim_dns: World) -> None:
    from tests.imap_server import dovecot_binary, running_dovecot
    from wizard.reports.imap import PASSWORD_ENV

    if dovecot_binary() is None or os.geteuid() != 0:
        reason = "dovecot is not installed (Debian package dovecot-imapd) or not running as root"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires the IMAP tests to run", pytrace=False)
        pytest.skip(reason)
    messages: list[tuple[bytes, float | None]] = [
        (email_report(gz(report(report_id="imap-signed"))), None),
        (_unsigned_report_email("imap-unsigned"), None),
    ]
    with running_dovecot(messages) as srv:
        env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "MTA_STS_WIZARD_HOME")}
        env[PASSWORD_ENV] = srv.password
        args = [srv.address, "--user", srv.user, "--ca-bundle", str(srv.ca_file), "--state-dir", str(tmp_path / "st")]
        proc = run_cli("reports", "fetch-imap", *args, "--nameserver", dkim_dns.dns.address, env=env)
    label = f"imap://{srv.user}@{srv.address}:993/INBOX"
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == [
        f"skipped {label} (UID 2): {UNSIGNED}",
        "imported 1 new reports (0 already in the store, 1 inputs skipped)",
    ]
    with ReportStore(tmp_path / "st" / "reports.sqlite3") as store:
        ids = [r[0] for r in store.conn.execute("SELECT report_id FROM reports")]
    assert ids == ["imap-signed"]


def test_key_lookups_are_remembered_then_asked_again_once_stale(dkim_dns: World) -> None:
    name = f"{SELECTOR}._domainkey.{SUBMITTER}"
    kept = DnsKeyLookup((dkim_dns.dns.address,), timeout=3.0)
    assert kept(name) == kept(name.upper() + ".")
    stale = DnsKeyLookup((dkim_dns.dns.address,), timeout=3.0, remember=-1.0)  # every entry already too old
    assert stale(name) == stale(name) == kept(name)
    assert [q for q in dkim_dns.dns.queries if q[0] == name] == [(name, "TXT", "udp")] * 3


async def test_key_lookup_from_inside_a_running_event_loop(dkim_dns: World) -> None:
    """A caller already in asyncio (a Textual worker, say) still gets its answer: the lookup runs beside it."""
    records = DnsKeyLookup((dkim_dns.dns.address,), timeout=3.0)(f"{SELECTOR}._domainkey.{SUBMITTER}")
    assert records and records[0].startswith("v=DKIM1; k=rsa; s=tlsrpt; p=")
