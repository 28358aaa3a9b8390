"""The pieces of a monitoring pass on their own: judging a report against the record, the message
text (received text escaped), the record on disk, and the schedule texts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wizard.engine import CheckRecord, DomainReport, MxProbe
from wizard.findings import finding
from wizard.monitor import schedule
from wizard.monitor.message import Change, compose
from wizard.monitor.problems import Problem, observe, problem_key
from wizard.monitor.record import MonitorRecord, OpenProblem, OutboxEntry, RecordFile, url_digest
from wizard.monitor.run import _apply

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _report(*findings, steps=(1, 2, 3, 4, 5), hosts=("mx.example.com",)) -> DomainReport:  # type: ignore[no-untyped-def]
    mx = MxProbe("example.com", records=[(10, h) for h in hosts])
    checks = [CheckRecord(f"s{n}", n, "pass", 1) for n in steps]
    return DomainReport("example.com", "2026-12-01T12:00:00Z", findings=list(findings), checks=checks, mx=mx)


def test_a_warning_is_a_problem_only_on_a_step_seen_passing() -> None:
    record = MonitorRecord("example.com")
    obs = observe(_report(), None, record, NOW)
    assert obs.problems == {} and obs.good_steps == {1, 2, 3, 4, 5}
    _apply(record, obs, NOW)
    warn = finding("tlsrpt-missing", "no TLSRPT record", "publish one", subject="_smtp._tls.example.com")
    obs = observe(_report(warn), None, record, NOW)
    (problem,) = obs.problems.values()
    assert problem.what == "step 4 (TLSRPT TXT) regressed: the _smtp._tls TLSRPT record disappeared"
    fresh = observe(_report(warn), None, MonitorRecord("example.com"), NOW)
    assert fresh.problems == {}  # never seen passing: unfinished work, not a regression


def test_port_25_blocked_here_is_not_a_regression_and_keeps_mx_problems_open() -> None:
    record = MonitorRecord("example.com")
    expired = finding("mx-tls-expired", "expired", "renew", subject="mx.example.com", address="192.0.2.1")
    _apply(record, observe(_report(expired), None, record, NOW), NOW)
    blocked = finding("mx-unreachable", "no answer", "run elsewhere", subject="mx.example.com", address="192.0.2.1")
    obs = observe(_report(blocked), None, record, NOW)
    assert obs.problems == {}
    assert obs.carried == {problem_key(expired)}  # could not look: neither notified nor recovered
    changes = _apply(record, obs, NOW)
    assert changes == [] and list(record.open) == [problem_key(expired)]


def test_a_dns_failure_does_not_declare_recoveries() -> None:
    record = MonitorRecord("example.com")
    missing = finding("sts-txt-missing", "none", "publish", subject="_mta-sts.example.com")
    _apply(record, observe(_report(missing), None, record, NOW), NOW)
    failed = finding("dns-lookup-failed", "SERVFAIL", "fix DNS", subject="_mta-sts.example.com", step=3)
    obs = observe(_report(failed), None, record, NOW)
    assert problem_key(missing) in obs.carried


def test_message_escapes_received_text_and_carries_the_fix() -> None:
    hostile = finding(
        "policy-content-type",
        "served as text/html\x1b]0;owned\x07\u202e",
        "serve it as text/plain",
        subject="https://mta-sts.example.com/.well-known/mta-sts.txt",
    )
    change = Change(Problem(problem_key(hostile), hostile, "new error: \x1b[2J"), "new", NOW)
    title, body, kind = compose("example.com", [change], NOW)
    assert kind == "failure" and title == "example.com: 1 new problem(s)"
    assert "\x1b" not in body and "\x07" not in body and "\u202e" not in body
    assert "\\x1b]0;owned\\x07\\u202e" in body
    assert "  Fix: serve it as text/plain" in body and "NEW (since 2026-12-01 12:00 UTC)" in body


def test_record_round_trips_and_keeps_no_url(tmp_path: Path) -> None:
    f = finding("mx-missing", "no MX", "publish MX", subject="example.com")
    url = "mailto://user:secret@smtp.example.com?to=a@example.com"
    record = MonitorRecord("example.com", NOW, {"k": OpenProblem(f, "new error", NOW - timedelta(days=1))})
    record.outbox.append(OutboxEntry("1", NOW, "t", "b", "failure", [url_digest(url)]))
    file = RecordFile(tmp_path, "example.com")
    assert file.acquire(1)
    try:
        file.write(record)
        back = file.read()
    finally:
        file.release()
    assert back.open["k"].finding == f and back.open["k"].since == NOW - timedelta(days=1)
    assert back.outbox[0].targets == [url_digest(url)]
    text = file.path.read_text()
    assert "secret" not in text and "smtp.example.com" not in text
    assert json.loads(text)["version"] == 1


def test_a_damaged_record_is_moved_aside(tmp_path: Path) -> None:
    file = RecordFile(tmp_path, "example.com")
    file.dir.mkdir(parents=True)
    file.path.write_text("{ not json")
    assert file.read().open == {}
    assert [p.name for p in file.dir.iterdir() if ".corrupt-" in p.name]


def test_schedule_texts_quote_paths_and_escape_percent() -> None:
    root = Path("/srv/state dir/100%")
    exe = ["/usr/bin/mta-sts-wizard"]
    service = schedule.service(["example.com"], root, exe).text
    assert "ExecStart=/usr/bin/mta-sts-wizard monitor example.com --state-dir '/srv/state dir/100%%'" in service
    line = schedule.crontab(["example.com"], root, exe).text
    expected = "/usr/bin/mta-sts-wizard monitor example.com --state-dir '/srv/state dir/100\\%'"
    assert line == f"17 * * * * {expected} >/dev/null\n"
