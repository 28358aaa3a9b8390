"""Received text never drives the terminal (issue 14, item 1; CONTRACT "Text output").

Hostile peers of the test world put terminal escapes (OSC window title, CSI clear screen), CR and
LF (forged lines), a C1 CSI (0x9b) and a right-to-left override (U+202E) into a TXT record, a
certificate's names, an SMTP STARTTLS refusal, an HTTP Content-Type and Location, and a report's
organization name and MX host. `check DOMAIN`, `status DOMAIN` and the wizard's screens must show
all of it escaped: no C0 (but the line breaks of the output itself), C1, DEL or bidi character
reaches the output, while `--json` stays plain JSON.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.reports_factory import detail, report
from tests.screens_support import make_app, settle, wait_until
from tests.world.https_server import Site
from tests.world.smtp_server import MxSpec
from wizard.cli import main
from wizard.policy import PolicyFile
from wizard.reports import ReportStore, parse_report
from wizard.reports.store import store_path
from wizard.state import StateStore, record_policy, record_served

#: What must never reach a terminal: C0 but LF, DEL, C1, bidi marks/overrides/isolates, LS/PS.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
HOSTILE = "\x1b]0;owned\x07\x1b[2J\r\nerror: forged line \x9b2J \u202eevil"
#: HOSTILE in zone-file form (decimal escapes), for a TXT value.
HOSTILE_TXT = "\\027]0;owned\\007\\027[2J\\013\\010error: forged line \\194\\155 \\226\\128\\174evil"
#: U+202E as an HTTP header carries it: its UTF-8 bytes, which the test server sends as latin-1.
RLO_IN_HEADER = "\u202e".encode().decode("latin-1")
#: The visible form every text path must show instead of the OSC title sequence.
SHOWN_OSC = "\\x1b]0;owned\\x07"


def assert_safe(text: str) -> None:
    bad = sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(text)})
    assert not bad, f"raw control or bidi characters reached the output: {bad}"


def hostile_world(world) -> list[str]:  # type: ignore[no-untyped-def]
    """Four domains, each with hostile text in other places."""
    d1 = world.fresh()
    world.domain(d1, mx_spec=MxSpec(behaviour="hostile-text"), sts_id=None, tlsrpt=None)
    world.dns.set(f"_mta-sts.{d1}", "TXT", [f'"v=STSv1; id={HOSTILE_TXT}"'])
    world.dns.set(f"_smtp._tls.{d1}", "TXT", [f'"v=TLSRPTv1; rua=mailto:tls@{d1}{HOSTILE_TXT}"'])
    d2 = world.fresh()
    world.domain(d2, https=Site(cert="hostile-text"), mx_spec=MxSpec(cert="hostile-text"))
    d3 = world.fresh()
    world.domain(d3, https=Site(status=301, reason="Moved", location=f"https://evil.test/\x9b2J{RLO_IN_HEADER}"))
    d4 = world.fresh()
    world.domain(d4, https=Site(content_type="text/html\x1b]0;owned\x07\x9b2J"))
    return [d1, d2, d3, d4]


def test_check_text_shows_every_hostile_peer_escaped(world, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    domains = hostile_world(world)
    code = main(["check", *domains, *world.cli_args(), "--timeout", "3", "--state-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert_safe(out)
    assert_safe(err)
    smtp = "454 4.7.0 TLS off\\x1b]0;owned\\x07\\x1b[2J\\x0derror: forged line \\x9b2J \\u202eevil"
    assert smtp in out  # the STARTTLS refusal, visible and on its own finding's line
    assert "issued by O=Evil CA\\x1b]0\\;owned\\x07\\x1b[2J\\x0d\\x0aerror: forged line \\x9b2J \\u202eevil" in out
    assert "x\\x1b]0;owned\\x07\\x1b[2j\\x0d\\x0aerror.forged" in out  # the SAN
    assert "text/html\\x1b]0;owned\\x07\\x9b2J" in out  # Content-Type
    assert "answered 301 to https://evil.test/\\x9b2J\u00e2\\x80\u00ae;" in out  # Location (UTF-8 read as latin-1)
    assert not any(line.startswith("error: forged") for line in out.splitlines())
    code = main(["check", *domains, *world.cli_args(), "--timeout", "3", "--state-dir", str(tmp_path), "--json"])
    doc = json.loads(capsys.readouterr().out)  # JSON escapes them the JSON way, nothing more
    messages = [f["message"] for d in doc["domains"] for f in d["findings"]]
    assert any("TLS off\x1b]0;owned\x07\x1b[2J\rerror: forged line \x9b2J \u202eevil" in m for m in messages)


HOSTILE_ORG = "Evil Corp" + HOSTILE


def saved_with_hostile_reports(root: Path, domain: str) -> None:
    """A domain in testing for 20 days, and reports from an organisation named with escapes that
    blame a host of the sender's choosing."""
    started = datetime.now(UTC) - timedelta(days=20)
    store = StateStore(root)
    with store.open(domain) as session:
        record_policy(session.state, PolicyFile("testing", 604800, (f"mx.{domain}",)), started)
        record_served(session.state, "testing", 604800, session.state.policy_id or "", started)
        session.save(started)
    with ReportStore(store_path(root)) as reports:
        for n in range(10):
            day = (datetime.now(UTC) - timedelta(days=n + 1)).date().isoformat()
            doc = report(
                org=HOSTILE_ORG,
                report_id=f"r{n}",
                domain=domain,
                day=day,
                failure=3,
                details=[detail("certificate-expired", 3, mx="mail.attacker.example")],
                mx_host=(f"mx.{domain}",),
            )
            reports.add(parse_report(json.dumps(doc).encode()), source="test")


def test_status_and_check_show_hostile_report_fields_escaped(world, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh()
    world.domain(name, policy=PolicyFile("testing", 604800, (f"mx.{name}",)))
    saved_with_hostile_reports(tmp_path, name)
    assert main(["status", name, "--state-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "step 6:" in out and f"Evil Corp{SHOWN_OSC}" in out
    main(["check", name, *world.cli_args(), "--timeout", "3", "--no-smtp", "--state-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert "step 6 (saved progress)" in out and f"Evil Corp{SHOWN_OSC}" in out
    assert "not one of your MX hosts" in out  # and not advice to add the stranger's host (item 2)
    assert "mx: mail.attacker.example" not in out


def painted_text(app) -> str:  # type: ignore[no-untyped-def]
    """Every segment the screen paints, and every widget's content (also what is scrolled away)."""
    parts = ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]
    for widget in app.screen.query("*"):
        rendered = widget.render()
        parts.append(getattr(rendered, "plain", str(rendered)))
    return "\n".join(parts)


async def test_screens_show_hostile_peers_escaped(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh()
    mx = (f"mx.{name}", f"mx2.{name}")
    world.domain(
        name,
        mx=mx,
        policy=PolicyFile("testing", 86400, mx),
        https=Site(content_type=f"text/html\x1b]0;owned\x07\x9b2J {RLO_IN_HEADER}evil"),
        mx_spec={mx[0]: MxSpec(behaviour="hostile-text"), mx[1]: MxSpec(cert="hostile-text")},
        sts_id=None,
    )
    world.dns.set(f"_mta-sts.{name}", "TXT", [f'"v=STSv1; id={HOSTILE_TXT}"'])
    app = make_app(tmp_path, name, world=world, poll_seconds=30)
    async with app.run_test(size=(120, 200)) as pilot:
        await wait_until(pilot, lambda: app.mx_hosts is not None)
        await settle(app, pilot)  # the opening check (adoption) is done: no screen change races the keys
        if getattr(app.screen, "STEP", 0) == 1:
            await pilot.press("n")  # accept the policy: step 2, whose live check fetches it
        else:  # the opening check adopted what is live and opened a later step
            app.goto_step(2)
        await wait_until(pilot, lambda: getattr(app.screen, "STEP", 0) == 2)
        await pilot.press("p")
        await wait_until(pilot, lambda: len(app.attempts.get(2, [])) >= 1)
        await wait_until(pilot, lambda: "text/html" in painted_text(app))
        text = painted_text(app)
        assert_safe(text)
        assert "text/html\\x1b]0;owned\\x07\\x9b2J " in text
        await pilot.press("x")
        app.goto_step(5)  # the full check runs on arrival
        await wait_until(pilot, lambda: getattr(app.screen, "STEP", 0) == 5)
        await wait_until(pilot, lambda: bool(app.attempts.get(5)), timeout=30)
        # Step 5's table wraps long messages inside their cells: compare with whitespace runs as one space.
        await wait_until(pilot, lambda: "TLS off" in " ".join(painted_text(app).split()))
        text = " ".join(painted_text(app).split())
        assert_safe(painted_text(app))
        assert "TLS off\\x1b]0;owned\\x07\\x1b[2J\\x0derror: forged line \\x9b2J \\u202eevil" in text
        assert "issued by O=Evil CA\\x1b]0\\;owned\\x07\\x1b[2J\\x0d\\x0aerror: forged line" in text


@pytest.mark.parametrize("value", [HOSTILE, "a\x00b\x7fc\x85d\u2066e", "\udcff"])
def test_finding_lines_are_one_escaped_line(value: str) -> None:
    from wizard.commands.check import render_report
    from wizard.engine import DomainReport
    from wizard.findings import finding

    rep = DomainReport(domain="example.com", checked_at="2026-01-01T00:00:00Z")
    rep.findings.append(finding("mx-no-starttls", f"refused it: {value}", subject="mx.example.com"))
    text = render_report(rep)
    assert_safe(text)
    assert len(text.splitlines()) == 3  # headline, step line, the one finding


async def test_a_crafted_saved_name_is_shown_escaped(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A progress file is outside input too (it may have been edited or planted)."""
    store = StateStore(tmp_path)
    with store.open("example.com") as session:
        session.state.unicode_name = "ex" + HOSTILE + "ample.com"
        session.state.notes = HOSTILE
        session.save()
    assert main(["status", "--state-dir", str(tmp_path)]) == 0
    assert main(["status", "example.com", "--state-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert_safe(out + err)
    assert f"ex{SHOWN_OSC}" in out
    assert main(["status", "example.com", "--json", "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert_safe(out.replace("\n", ""))  # the JSON way: \u001b, \u009b, \u202e
    assert json.loads(out)["domains"][0]["notes"] == HOSTILE
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "Resume a saved domain" in painted_text(app))
        text = painted_text(app)
        assert_safe(text)
        assert f"ex{SHOWN_OSC}" in text
