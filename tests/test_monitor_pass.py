"""Monitoring passes run in process with an injected clock: certificate expiry at 21, 7 and 1 days,
an MX change in enforce mode (urgent), a failure spike in the reports, and reports that stop."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from dkim_support import publish  # the module reports_factory signs with (one session key)

from tests.imap_server import dovecot_binary, running_dovecot
from tests.reports_factory import email_report, gz, report
from tests.test_monitor_sinks import HttpSink, MailSink, http_sink, mail_sink
from tests.world.https_server import Site
from tests.world.world import World
from wizard.monitor.run import DomainOutcome, PassSettings, monitor_pass
from wizard.policy import PolicyFile
from wizard.reports import ReportStore, store_path
from wizard.reports.imap import PASSWORD_ENV
from wizard.state import StateStore, record_policy, record_served, set_step

__all__ = ["http_sink", "mail_sink"]


def one_pass(world: World, root: Path, name: str, urls: list[str], now: datetime, smtp: bool = True) -> DomainOutcome:
    settings = PassSettings(root=root, check=world.options(probe_smtp=smtp, deadline=30), notify_urls=tuple(urls))
    return asyncio.run(monitor_pass([name], settings, now=now))[0]


def not_after(world: World, host: str) -> datetime:
    chain, _key = world.pki.files("good", (host,))
    return x509.load_pem_x509_certificate(chain.read_bytes()).not_valid_after_utc


def test_certificate_expiry_notifies_at_21_then_7_then_1_days_then_recovery(
    world: World, tmp_path: Path, http_sink: HttpSink
) -> None:
    name = world.fresh("certs")
    world.domain(name)
    ends = min(not_after(world, f"mta-sts.{name}"), not_after(world, f"mx.{name}"))
    now = datetime.now(UTC)
    assert one_pass(world, tmp_path, name, [http_sink.url], now).open == []
    assert http_sink.received == []

    seen = []
    for days_left in (20, 19, 6, 0.5, 0.4):
        out = one_pass(world, tmp_path, name, [http_sink.url], ends - timedelta(days=days_left))
        assert {p.finding.code for p in out.open} == {"monitor-cert-expiring"}
        assert {p.finding.subject for p in out.open} == {f"mta-sts.{name}", f"mx.{name}"}
        seen.append(len(http_sink.received))
    assert seen == [1, 1, 2, 3, 3]  # 21 days, nothing new at 19, then 7, then 1; nothing more at 0.4
    first, seven, one = (m["message"] for m in http_sink.received)
    assert "within 21 day(s)" in first and f"mta-sts.{name}" in first and f"mx.{name}" in first
    assert "WORSE" in seven and "within 7 day(s)" in seven
    assert "within 1 day(s)" in one
    assert "Fix: renew it now" in first

    back = one_pass(world, tmp_path, name, [http_sink.url], now)  # renewed: far from expiry again
    assert back.open == [] and len(back.recovered) == 2
    assert len(http_sink.received) == 4 and "RECOVERED" in http_sink.received[3]["message"]


def _save_enforced(root: Path, name: str, policy: PolicyFile, at: datetime) -> str:
    with StateStore(root).open(name) as session:
        state = session.state
        record_policy(state, policy, at)
        record_served(state, policy.mode, policy.max_age, state.policy_id or "", at)
        for step in range(1, 6):
            set_step(state, step, "verified", at)
        session.save(at)
        return state.policy_id or ""


def test_mx_change_in_enforce_is_urgent_and_points_at_the_mx_flow(
    world: World, tmp_path: Path, mail_sink: MailSink
) -> None:
    name = world.fresh("mxchg")
    policy = PolicyFile("enforce", 604800, (f"mx.{name}",))
    policy_id = _save_enforced(tmp_path, name, policy, datetime.now(UTC) - timedelta(days=30))
    scenario = world.domain(name, policy=policy, sts_id=policy_id)
    now = datetime.now(UTC)
    assert one_pass(world, tmp_path, name, [mail_sink.url], now, smtp=False).open == []

    new_host = f"mx2.{name}"
    world.dns.set(name, "MX", [f"10 {new_host}."])
    world.dns.set(new_host, "A", [scenario.mx_addresses[f"mx.{name}"]])
    out = one_pass(world, tmp_path, name, [mail_sink.url], now + timedelta(hours=1), smtp=False)
    changed = [c for c in out.new if c.problem.finding.code == "monitor-mx-changed"]
    assert len(changed) == 1 and changed[0].problem.urgent
    doc = out.to_json()
    assert [n["code"] for n in doc["new"] if n.get("urgent")] == ["monitor-mx-changed"]
    assert "mx-not-covered" in [n["code"] for n in doc["new"]]
    subject, body = mail_sink.messages[-1]
    assert subject.startswith(f"URGENT {name}: mail is being refused")
    assert "mail is being refused" in body and "step 6, key g" in body and f"'mx: {new_host}'" in body

    again = one_pass(world, tmp_path, name, [mail_sink.url], now + timedelta(hours=2), smtp=False)
    assert again.new == [] and len(mail_sink.messages) == 1

    world.dns.set(name, "MX", [f"10 mx.{name}."])  # the MX change was undone
    back = one_pass(world, tmp_path, name, [mail_sink.url], now + timedelta(hours=3), smtp=False)
    recovered = sorted(c.problem.finding.code for c in back.recovered)
    assert recovered == ["monitor-mx-changed", "mx-not-covered", "mx-pattern-unused"] and back.open == []
    assert len(mail_sink.messages) == 2


def _report_file(folder: Path, name: str, day: datetime, success: int, failure: int, n: int) -> None:
    doc = report(
        report_id=f"{name}-{n}",
        domain=name,
        day=day.date().isoformat(),
        success=success,
        failure=failure,
        mx_host=(f"mx.{name}",),
    )
    (folder / f"s!{name}!{n}!{n}.json.gz").write_bytes(gz(doc))


def test_failure_spike_then_reports_stopping(world: World, tmp_path: Path, http_sink: HttpSink) -> None:
    name = world.fresh("spike")
    policy = PolicyFile("testing", 604800, (f"mx.{name}",))
    now = datetime.now(UTC)
    policy_id = _save_enforced(tmp_path, name, policy, now - timedelta(days=20))
    world.domain(name, policy=policy, sts_id=policy_id)
    folder = tmp_path / "reports-in"
    folder.mkdir()
    with StateStore(tmp_path).open(name) as session:
        session.state.report_folders = [str(folder)]
        session.save()
    for i in range(10):  # ten ordinary days: 0.2 % failures
        _report_file(folder, name, now - timedelta(days=12 - i), 1000, 2, i)
    _report_file(folder, name, now - timedelta(days=1), 1000, 2, 10)
    quiet = one_pass(world, tmp_path, name, [http_sink.url], now, smtp=False)
    assert quiet.open == [] and http_sink.received == []

    _report_file(folder, name, now - timedelta(days=1), 700, 300, 11)  # a second reporter: 300 failures
    spike = one_pass(world, tmp_path, name, [http_sink.url], now + timedelta(minutes=5), smtp=False)
    assert [c.problem.finding.code for c in spike.new] == ["monitor-failure-spike"]
    message = http_sink.received[0]["message"]
    assert "302 of 2002 sessions failed" in message and "0.2% usually" in message
    assert f"reports summary {name} --days 2" in message

    later = now + timedelta(days=5)  # nothing arrived since: the spike is over, the reports stopped
    stopped = one_pass(world, tmp_path, name, [http_sink.url], later, smtp=False)
    assert [c.problem.finding.code for c in stopped.new] == ["monitor-reports-stopped"]
    assert [c.problem.finding.code for c in stopped.recovered] == ["monitor-failure-spike"]
    assert "no TLS report" in http_sink.received[1]["message"]

    _report_file(folder, name, later - timedelta(days=1), 1000, 1, 12)  # they come back
    resumed = one_pass(world, tmp_path, name, [http_sink.url], later + timedelta(minutes=5), smtp=False)
    assert [c.problem.finding.code for c in resumed.recovered] == ["monitor-reports-stopped"]
    assert resumed.open == [] and len(http_sink.received) == 3


def test_a_missing_report_folder_is_a_problem_until_it_is_back(
    world: World, tmp_path: Path, http_sink: HttpSink
) -> None:
    name = world.fresh("nofolder")
    world.domain(name)
    folder = tmp_path / "gone"
    with StateStore(tmp_path).open(name) as session:
        session.state.report_folders = [str(folder)]
        session.save()
    now = datetime.now(UTC)
    out = one_pass(world, tmp_path, name, [http_sink.url], now, smtp=False)
    assert [p.finding.code for p in out.open] == ["monitor-report-fetch-failed"]
    folder.mkdir()
    back = one_pass(world, tmp_path, name, [http_sink.url], now, smtp=False)
    assert back.open == [] and len(back.recovered) == 1


def test_reports_come_from_the_saved_imap_mailbox_with_the_password_from_the_environment(
    world: World, tmp_path: Path
) -> None:
    if dovecot_binary() is None or os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true requires the Dovecot IMAP server (as root)")
        pytest.skip("needs Debian's dovecot-imapd, run as root")
    name = world.fresh("imap")
    world.domain(name)
    publish(world, "mail.sender.example")  # the report emails' DKIM key, on the world's DNS
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    mail = email_report(gz(report(domain=name, report_id="imap-1", day=day, mx_host=(f"mx.{name}",))), domain=name)
    with running_dovecot([(mail, None)]) as server:
        bundle = tmp_path / "roots.pem"
        bundle.write_bytes(Path(world.ca_bundle).read_bytes() + server.ca_file.read_bytes())
        with StateStore(tmp_path).open(name) as session:
            session.state.report_imap = {"host": server.address, "user": server.user, "port": server.port}
            session.save()
        check = world.options(probe_smtp=False, ca_bundle=str(bundle), deadline=30)

        def run(environ: dict[str, str]) -> DomainOutcome:
            settings = PassSettings(root=tmp_path, check=check, environ=environ)
            return asyncio.run(monitor_pass([name], settings))[0]

        missing = run({})
        assert [p.finding.code for p in missing.open] == ["monitor-report-fetch-failed"]
        assert PASSWORD_ENV in missing.open[0].finding.message
        assert server.password not in json_text(missing)

        fetched = run({PASSWORD_ENV: server.password})
        assert fetched.open == [] and [c.problem.finding.code for c in fetched.recovered] == [
            "monitor-report-fetch-failed"
        ]
        with ReportStore(store_path(tmp_path)) as store:
            assert store.report_count(name) == 1
        saved = (tmp_path / "progress" / f"{name}.json").read_text()
        assert server.password not in saved and server.address in saved


def json_text(outcome: DomainOutcome) -> str:
    return json.dumps(outcome.to_json())


def test_policy_changed_under_the_same_id_is_drift_until_a_new_id(
    world: World, tmp_path: Path, http_sink: HttpSink
) -> None:
    name = world.fresh("drift")
    scenario = world.domain(name)  # no saved progress: the previous pass is the reference
    now = datetime.now(UTC)
    assert one_pass(world, tmp_path, name, [http_sink.url], now, smtp=False).open == []
    edited = PolicyFile("testing", 86400, (f"mx.{name}",)).to_text().encode()
    scenario.https[0].sites[scenario.policy_host].body = edited  # the file changed, the id did not
    drift = one_pass(world, tmp_path, name, [http_sink.url], now, smtp=False)
    assert [c.problem.finding.code for c in drift.new] == ["sts-id-unchanged"]
    fix = "Fix: once the file you want is served on every address, publish a new id"
    assert fix in http_sink.received[0]["message"]
    world.txt(f"_mta-sts.{name}", ["v=STSv1; id=20270101T000000"])
    fixed = one_pass(world, tmp_path, name, [http_sink.url], now, smtp=False)
    assert [c.problem.finding.code for c in fixed.recovered] == ["sts-id-unchanged"] and fixed.open == []
    assert len(http_sink.received) == 2


def test_an_endpoint_that_is_down_gets_the_message_on_a_later_pass(world: World, tmp_path: Path) -> None:
    name = world.fresh("down")
    world.domain(name, tlsrpt="v=TLSRPTv1; rua=ftp://nowhere")
    sink = HttpSink()
    where = sink.server.server_address[:2]
    url = sink.url
    sink.close()  # the endpoint is down during the first pass
    now = datetime.now(UTC)
    first = one_pass(world, tmp_path, name, [url], now, smtp=False)
    assert [c.problem.finding.code for c in first.new] == ["tlsrpt-rua-invalid"]
    assert first.notified == [] and any("could not notify json://" in e for e in first.errors)
    back = HttpSink(at=(str(where[0]), int(where[1])))
    try:
        second = one_pass(world, tmp_path, name, [url], now, smtp=False)
        assert second.new == [] and second.notified == ["json"]
        assert len(back.received) == 1 and "tlsrpt-rua-invalid" in back.received[0]["message"]
        one_pass(world, tmp_path, name, [url], now, smtp=False)
        assert len(back.received) == 1
    finally:
        back.close()


def test_a_check_over_its_deadline_judges_nothing_and_keeps_what_was_open(
    world: World, tmp_path: Path, http_sink: HttpSink
) -> None:
    name = world.fresh("slow")
    world.domain(name, https=Site(behaviour="silent"))
    now = datetime.now(UTC)
    first = one_pass(world, tmp_path, name, [http_sink.url], now, smtp=False)
    assert first.open and len(http_sink.received) == 1
    check = world.options(probe_smtp=False, deadline=0.05)
    settings = PassSettings(root=tmp_path, check=check, notify_urls=(http_sink.url,))
    late = asyncio.run(monitor_pass([name], settings, now=now))[0]
    assert late.incomplete is not None and "deadline of 0.05 s" in late.incomplete
    assert late.new == [] and late.recovered == [] and [p.finding for p in late.open] == [p.finding for p in first.open]
    assert len(http_sink.received) == 1


def test_a_lost_txt_record_names_the_saved_publish_method(world: World, tmp_path: Path, http_sink: HttpSink) -> None:
    """Issue 17: the saved method (never the secret) is offered again where it helps."""
    name = world.fresh("lost")
    world.domain(name)
    with StateStore(tmp_path).open(name) as session:
        session.state.publish_method = {"via": "rfc2136", "server": "127.0.9.53"}
        session.save()
    now = datetime.now(UTC)
    assert one_pass(world, tmp_path, name, [http_sink.url], now, smtp=False).open == []
    world.dns.set(f"_mta-sts.{name}", "TXT", [])  # lost in a DNS migration
    lost = one_pass(world, tmp_path, name, [http_sink.url], now, smtp=False)
    assert "sts-txt-missing" in [c.problem.finding.code for c in lost.new]
    message = http_sink.received[-1]["message"]
    assert f"published again with: mta-sts-wizard publish {name} (saved method: RFC 2136 to 127.0.9.53)" in message


@pytest.mark.parametrize("kind", ["fifo", "deep", "huge"])
def test_a_hostile_monitor_record_is_moved_aside_not_followed(world: World, tmp_path: Path, kind: str) -> None:
    """Issue 14 items 4, 5: the record is read bounded like saved progress (a FIFO, nesting, size)."""
    name = world.fresh("rec")
    world.domain(name)
    record = tmp_path / "monitor" / f"{name}.json"
    record.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(record)
    elif kind == "deep":
        record.write_text("[" * 100_000)
    else:
        with record.open("wb") as f:
            f.truncate(5 << 20)  # sparse: larger than any record, cheap to make
    out = one_pass(world, tmp_path, name, [], datetime.now(UTC), smtp=False)
    assert out.errors == [] and out.open == []
    assert [p.name for p in record.parent.glob(f"{name}.json.corrupt-*")]  # kept for a look, out of the way
    assert json.loads(record.read_text())["domain"] == name  # a fresh record was written
