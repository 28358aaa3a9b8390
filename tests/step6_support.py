"""Saved states and report folders for the step 6 tests, snapshots and benchmark.

Reports are real TLSRPT documents (tests/reports_factory.py) written to a folder and imported
through the same entry point `reports import` uses, so the dashboard reads a real store.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.reports_factory import detail, gz, report
from tests.screens_support import FIXED_NOW
from wizard.policy import PolicyFile
from wizard.reports import ReportStore, import_paths, store_path
from wizard.state import StateStore, record_check, record_policy, record_served, set_step

ORGS = ("Google Inc.", "Microsoft Corporation", "Example Mail Ltd")


def saved_domain(root: Path, name: str, policy: PolicyFile, days_ago: int, *, checked: bool = True) -> str:
    """A domain served `policy` since `days_ago` days before the fixed clock, steps 1-5 verified,
    a clean full check an hour ago (unless `checked` is False). Returns the policy id."""
    started = FIXED_NOW - timedelta(days=days_ago)
    with StateStore(root).open(name) as session:
        state = session.state
        state.created_at = started
        record_policy(state, policy, started)
        state.rua = [f"mailto:tlsrpt@{name}"]
        record_served(state, policy.mode, policy.max_age, state.policy_id or "", started)
        for step in range(1, 6):
            set_step(state, step, "verified", started)
        if checked:
            record_check(state, [], FIXED_NOW - timedelta(hours=1))
        session.save(started)
        return state.policy_id or ""


def failing_details(name: str, i: int) -> list[dict[str, Any]]:
    """One day's failures: no STARTTLS on the backup MX and an expired certificate on the main one,
    from two sending IPs, with a reason code and an additional-information URI."""
    expired = detail("certificate-expired", 40 + i, mx=f"mx1.{name}", ip="198.51.100.25")
    expired["failure-reason-code"] = "X509_V_ERR_CERT_HAS_EXPIRED"
    expired["additional-information"] = "https://tlsrpt.sender.example/info#expired"
    return [expired, detail("starttls-not-supported", 10, mx=f"mx2.{name}", ip="2001:db8:5::25")]


def write_reports(
    folder: Path, name: str, days: int, *, failing: set[int] = frozenset(), end_days_ago: int = 1, orgs: int = 1
) -> Path:
    """`days` daily reports per organisation, the last `end_days_ago` days before the fixed clock;
    the days whose index is in `failing` carry failures."""
    folder.mkdir(parents=True, exist_ok=True)
    mx = (f"mx1.{name}", f"mx2.{name}")
    for i in range(days):
        day = (FIXED_NOW - timedelta(days=days - 1 + end_days_ago - i)).date()
        for o in range(orgs):
            bad = i in failing
            details = failing_details(name, i) if bad else None
            doc = report(
                org=ORGS[o % len(ORGS)],
                report_id=f"{name}-{o}-{i}",
                domain=name,
                day=day.isoformat(),
                success=900 + 37 * (i % 7) + 100 * o,
                failure=sum(d["failed-session-count"] for d in details) if details else 0,
                details=details,
                mx_host=mx,
            )
            (folder / f"{o}!{name}!{i}.json.gz").write_bytes(gz(doc))
    return folder


def import_folder(root: Path, folder: Path) -> int:
    with ReportStore(store_path(root)) as store:
        return import_paths(store, [folder]).imported


def policy_for(name: str, mode: str = "testing", max_age: int = 86400) -> PolicyFile:
    return PolicyFile(mode=mode, max_age=max_age, mx=(f"mx1.{name}", f"mx2.{name}"))
