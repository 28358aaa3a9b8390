"""The readiness verdict on synthetic report histories, read through the real report store.

Reports are generated as .json.gz files and imported with wizard.reports.import_paths,
so the verdict sees exactly what `reports import` would store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.reports_factory import detail, gz, report
from wizard.findings import finding
from wizard.lifecycle.evidence import load_evidence
from wizard.lifecycle.readiness import readiness_verdict
from wizard.policy import PolicyFile
from wizard.reports import ReportStore, import_paths
from wizard.state import new_state, record_policy, record_served

DOMAIN = "example.com"
MX = ("mx1.example.com", "mx2.example.com")
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _state(started: datetime = START, mode: str = "testing"):  # type: ignore[no-untyped-def]
    state = new_state(DOMAIN, now=started)
    record_policy(state, PolicyFile(mode, 604800, MX), started)
    record_served(state, mode, 604800, state.policy_id or "", started)
    return state


def _import(tmp_path: Path, days: list[date], failing: dict[date, list[dict]] | None = None) -> ReportStore:
    folder = tmp_path / "reports"
    folder.mkdir(exist_ok=True)
    for i, day in enumerate(days):
        details = (failing or {}).get(day)
        failure = sum(d["failed-session-count"] for d in details) if details else 0
        doc = report(
            report_id=f"r{i}",
            domain=DOMAIN,
            day=day.isoformat(),
            success=1000,
            failure=failure,
            details=details,
            mx_host=MX,
        )
        (folder / f"sender!{DOMAIN}!{i}!{i}!r{i}.json.gz").write_bytes(gz(doc))
    store = ReportStore(tmp_path / "reports.sqlite3")
    outcome = import_paths(store, [folder])
    assert outcome.imported == len(days), outcome.render()
    return store


def _days(n: int) -> list[date]:
    return [START.date() + timedelta(days=i) for i in range(n)]


def _verdict(state, store, findings, now, **kw):  # type: ignore[no-untyped-def]
    ev = load_evidence(store, DOMAIN, since=START.date(), policy_patterns=MX)
    kw.setdefault("mx_hosts", MX)
    return readiness_verdict(state, ev.summary, findings, now, pairs=ev.pairs, **kw)


def test_clean_history_and_clean_check_is_ready(tmp_path: Path) -> None:
    store = _import(tmp_path, _days(15))
    now = START + timedelta(days=15, hours=1)
    v = _verdict(_state(), store, [], now)
    assert v.status == "ready", v.lines()
    text = "\n".join(v.lines())
    assert "15 days in testing since 2026-03-01" in text
    assert "15 report(s) covering 15 day(s)" in text
    assert "0.00% failure rate" in text
    assert "mx1.example.com, mx2.example.com" in text
    assert not v.missing and not v.failures


def test_one_failing_mx_blocks_with_cause_and_fix(tmp_path: Path) -> None:
    days = _days(15)
    failing = {d: [detail("certificate-expired", 40, mx="mx2.example.com")] for d in days[-5:]}
    store = _import(tmp_path, days, failing)
    v = _verdict(_state(), store, [], START + timedelta(days=15, hours=1))
    assert v.status == "blocked"
    assert len(v.failures) == 1
    group = v.failures[0]
    assert group.title == "expired certificate on mx2.example.com"
    assert group.sessions == 200
    assert "renew the certificate of mx2.example.com" in group.fix
    assert group.last_seen == days[-1].isoformat()
    assert "Blocked" in v.lines()[0]
    assert v.failure_rate is not None and 0 < v.failure_rate < 0.05


def test_fresh_check_failure_joins_the_report_cause(tmp_path: Path) -> None:
    days = _days(15)
    store = _import(tmp_path, days, {days[-1]: [detail("starttls-not-supported", 3, mx="mx1.example.com")]})
    check = [
        finding("mx-no-starttls", "mx1.example.com does not offer STARTTLS", "enable it", subject="mx1.example.com")
    ]
    v = _verdict(_state(), store, check, START + timedelta(days=15, hours=1))
    assert v.status == "blocked"
    assert [g.cause for g in v.failures] == ["no-starttls"]
    assert v.failures[0].from_reports and v.failures[0].from_check
    assert v.failures[0].title == "no STARTTLS on mx1.example.com"


def test_failures_that_stopped_after_a_fix_do_not_block(tmp_path: Path) -> None:
    days = _days(15)
    store = _import(tmp_path, days, {days[3]: [detail("certificate-host-mismatch", 9, mx="mx2.example.com")]})
    v = _verdict(_state(), store, [], START + timedelta(days=15, hours=1))
    assert v.status == "ready", v.lines()
    assert any("none since" in e and "mx2.example.com" in e for e in v.evidence)


def test_no_reports_is_not_yet_with_the_hint(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "reports.sqlite3")
    v = _verdict(_state(), store, [], START + timedelta(days=20))
    assert v.status == "not-yet"
    assert any("no reports: check the TLSRPT record and the mailbox" in m for m in v.missing)


def test_too_short_testing_is_not_yet_until_the_date(tmp_path: Path) -> None:
    store = _import(tmp_path, _days(5))
    now = START + timedelta(days=5, hours=1)
    v = _verdict(_state(), store, [], now)
    assert v.status == "not-yet"
    assert v.days_in_testing == 5
    assert any("14 days of testing: 5 so far" in m and "2026-03-15" in m for m in v.missing)
    # Same history, configurable minimum: 5 days are enough for min_days=5.
    assert _verdict(_state(), store, [], now, min_days=5).status == "ready"


def test_no_fresh_check_and_unreachable_port_25_are_missing(tmp_path: Path) -> None:
    store = _import(tmp_path, _days(15))
    now = START + timedelta(days=15, hours=1)
    assert any("fresh full check" in m for m in _verdict(_state(), store, None, now).missing)
    warn = [finding("mx-unreachable", "port 25 timed out", subject="mx2.example.com")]
    v = _verdict(_state(), store, warn, now)
    assert v.status == "not-yet"
    assert any("port 25 on mx2.example.com" in m for m in v.missing)


def test_mx_seen_in_reports_but_not_in_policy_blocks(tmp_path: Path) -> None:
    days = _days(15)
    store = _import(tmp_path, days, {days[-1]: [detail("validation-failure", 2, mx="mx3.example.com")]})
    # mx3 is one of the domain's MX hosts (the fresh check saw it), but the policy lacks it
    v = _verdict(_state(), store, [], START + timedelta(days=15, hours=1), mx_hosts=(*MX, "mx3.example.com"))
    causes = {g.cause: g for g in v.failures}
    assert "mx-not-covered" in causes
    assert "add 'mx: mx3.example.com'" in causes["mx-not-covered"].fix


def test_a_host_reports_name_that_is_not_an_mx_neither_blocks_nor_becomes_advice(tmp_path: Path) -> None:
    """Anyone can send a signed report: a stranger naming a host of their choice must not steer the
    verdict or make the program advise adding that host to the policy (issue 14, item 2)."""
    days = _days(15)
    forged = [
        detail("certificate-expired", 40, mx="mail.attacker.example"),
        detail("validation-failure", 2, mx="x.example"),
    ]
    store = _import(tmp_path, days, {days[-1]: forged})
    v = _verdict(_state(), store, [], START + timedelta(days=15, hours=1))
    assert v.status == "ready", v.lines()
    assert not v.failures
    text = "\n".join(v.lines())
    assert "mx: mail.attacker.example" not in text and "renew" not in text
    assert (
        "mail.attacker.example: 40 failed session(s) reported by Sender Example Ltd, not one of your MX hosts" in text
    )
    assert v.to_json()["not_your_mx"] and "x.example" in text
    # without a fresh check the MX hosts are unknown: not blocked, and the check is asked for
    offline = _verdict(_state(), store, [], START + timedelta(days=15, hours=1), mx_hosts=None)
    assert offline.status != "blocked" or all(g.cause != "mx-not-covered" for g in offline.failures)
    assert any("name mail.attacker.example" in m and "the check tells" in m for m in offline.missing)


def test_reports_that_stopped_arriving_are_missing(tmp_path: Path) -> None:
    store = _import(tmp_path, _days(15))
    v = _verdict(_state(), store, [], START + timedelta(days=25))
    assert v.status == "not-yet"
    assert any("recent reports" in m for m in v.missing)


def test_unknown_result_type_is_its_own_cause(tmp_path: Path) -> None:
    days = _days(15)
    store = _import(tmp_path, days, {days[-1]: [detail("quantum-failure", 4, mx="mx1.example.com")]})
    v = _verdict(_state(), store, [], START + timedelta(days=15, hours=1))
    assert v.failures[0].title == "reported as quantum-failure on mx1.example.com"
    assert v.to_json()["status"] == "blocked"
