"""Reports in a monitoring pass: fetch new ones from the domain's saved sources, then judge them.

Fetching uses the same entry points as `reports import` and `reports fetch-imap`
(wizard.reports.inputs.import_paths / import_candidates, wizard.reports.imap.ImapSession),
with the IMAP password from MTA_STS_WIZARD_IMAP_PASSWORD only (a cron job has no terminal to
ask on). Imports from several domains and from two passes at once take turns on one lock, so
they never fight over the store.

Judging reads the store (RFC 8460 reports cover one UTC day each, and arrive the day after):
- `monitor-failure-spike`: the failure rate of the reports for the last day (yesterday and
  today, UTC) is well above the domain's usual rate (the USUAL_DAYS days before);
- `monitor-reports-stopped`: reports had been arriving, and none covers the last STOPPED_DAYS days;
- `monitor-report-fetch-failed`: a saved source could not be read (folder gone, IMAP refused).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from wizard.findings import STEP_MONITOR
from wizard.monitor.problems import Problem, monitor_finding, problem_key
from wizard.monitor.record import MONITOR_DIR
from wizard.reports.dkim import DnsKeyLookup, use_key_lookup
from wizard.reports.store import ReportStore, StoreError, store_path
from wizard.state.files import private_dir
from wizard.state.lock import DomainLock
from wizard.state.model import DomainState

USUAL_DAYS = 28
STOPPED_DAYS = 3
#: A spike needs this many sessions in the last day, this many failures, and a rate above
#: max(SPIKE_FACTOR x usual, usual + SPIKE_MARGIN): a handful of failures is noise.
MIN_SESSIONS = 20
MIN_FAILURES = 5
SPIKE_FACTOR = 2.0
SPIKE_MARGIN = 0.02
#: The longest a pass waits for another import to finish.
IMPORT_LOCK_WAIT = 120.0


@dataclass(frozen=True)
class FetchSettings:
    """How a pass reaches report sources: DKIM key lookups and the IMAP connection."""

    nameservers: tuple[str, ...] = ()
    timeout: float = 10.0
    ca_bundle: str | None = None


@dataclass
class ReportJudgement:
    """Report problems of one domain, and whether the store could be read at all."""

    problems: list[Problem] = field(default_factory=list)
    readable: bool = True
    imported: int = 0


def has_sources(state: DomainState | None) -> bool:
    return state is not None and bool(state.report_folders or state.report_imap.get("host"))


def fetch_reports(
    root: Path, state: DomainState, settings: FetchSettings, environ: Mapping[str, str] = os.environ
) -> tuple[int, list[Problem]]:
    """Import new reports from the domain's saved folders and mailbox (blocking: call in a thread).

    Returns how many new reports were stored, and a problem per source that could not be read.
    """
    lock = DomainLock(Path(root) / MONITOR_DIR / "reports-import.lock")
    private_dir(lock.path.parent)
    if not lock.acquire(IMPORT_LOCK_WAIT):
        return 0, [_fetch_problem(state.domain, "reports", "another pass has been importing for too long")]
    try:
        return _fetch_locked(root, state, settings, environ)
    finally:
        lock.release()


def _fetch_locked(
    root: Path, state: DomainState, settings: FetchSettings, environ: Mapping[str, str]
) -> tuple[int, list[Problem]]:
    from wizard.reports.ingest import import_paths

    problems: list[Problem] = []
    imported = 0
    keys = DnsKeyLookup(settings.nameservers, timeout=settings.timeout)
    folders = [f for f in state.report_folders if f]
    present = [f for f in folders if Path(f).expanduser().is_dir()]
    for missing in sorted(set(folders) - set(present)):
        problems.append(_fetch_problem(state.domain, missing, "the folder does not exist (or is not a folder)"))
    try:
        with ReportStore(store_path(root)) as store, use_key_lookup(keys):
            if present:
                imported += import_paths(store, [Path(f).expanduser() for f in present]).imported
            if state.report_imap.get("host"):
                got, problem = _fetch_imap(store, state, settings, environ)
                imported += got
                if problem is not None:
                    problems.append(problem)
    except StoreError as exc:
        problems.append(_fetch_problem(state.domain, "the report store", str(exc)))
    return imported, problems


def _fetch_imap(
    store: ReportStore, state: DomainState, settings: FetchSettings, environ: Mapping[str, str]
) -> tuple[int, Problem | None]:
    from wizard.reports.imap import ImapError, ImapSession, ImapSettings, PasswordMissing, read_password
    from wizard.reports.ingest import import_candidates

    cfg = state.report_imap
    try:
        imap = ImapSettings(
            host=str(cfg["host"]),
            user=str(cfg.get("user", "")),
            port=int(cfg.get("port", 993)),
            folder=str(cfg.get("folder", "INBOX")),
            since_days=int(cfg["since_days"]) if cfg.get("since_days") else None,
            ca_bundle=settings.ca_bundle,
            timeout=max(settings.timeout, 10.0),
        )
    except (KeyError, TypeError, ValueError):
        return 0, _fetch_problem(state.domain, "imap", "the saved IMAP settings are incomplete; save them again")
    label = imap.label()
    try:
        password = read_password(dict(environ), is_tty=lambda: False, user=imap.user, host=imap.host)
    except PasswordMissing as exc:
        return 0, _fetch_problem(state.domain, label, f"{exc} (in the cron job's or the timer's environment)")
    try:
        session = ImapSession(imap, password)
    except ImapError as exc:
        return 0, _fetch_problem(state.domain, label, str(exc))
    finally:
        del password
    with session:
        outcome = import_candidates(store, session.candidates())
    if session.error:
        return outcome.imported, _fetch_problem(state.domain, label, str(session.error))
    return outcome.imported, None


def _fetch_problem(domain: str, source: str, why: str) -> Problem:
    f = monitor_finding(
        "monitor-report-fetch-failed",
        "warning",
        STEP_MONITOR,
        f"the TLS reports of {domain} could not be fetched from {source}: {why}",
        "fix the report source saved for this domain (folder path, IMAP server, user, password in "
        "MTA_STS_WIZARD_IMAP_PASSWORD), then wait for the next pass",
        source,
    )
    return Problem(problem_key(f), f, f"reports could not be fetched from {source}")


def judge_reports(root: Path, domain: str, now: datetime) -> ReportJudgement:
    """The spike and stopped problems from the store (blocking SQLite: call in a thread)."""
    path = store_path(root)
    if not path.exists():
        return ReportJudgement()
    today = now.date()
    try:
        with ReportStore(path) as store:
            summary = store.summary(domain)
            recent = store.summary(domain, since=today - timedelta(days=1)) if summary.report_count else None
    except StoreError:
        return ReportJudgement(readable=False)
    out = ReportJudgement()
    if not summary.report_count or summary.last is None:
        return out
    spike = _spike(domain, summary.daily, today, recent)
    if spike is not None:
        out.problems.append(spike)
    if (today - summary.last).days > STOPPED_DAYS:
        f = monitor_finding(
            "monitor-reports-stopped",
            "warning",
            STEP_MONITOR,
            f"no TLS report for {domain} has arrived since the one for {summary.last.isoformat()} "
            f"({(today - summary.last).days} days); {summary.report_count} report(s) had arrived since "
            f"{summary.first.isoformat() if summary.first else '?'}",
            f"check that _smtp._tls.{domain} still names your rua address, that the mailbox or endpoint "
            "still receives the reports, and that the report source saved for monitoring is right",
            domain,
        )
        out.problems.append(Problem(problem_key(f), f, "TLS reports stopped arriving"))
    return out


def _spike(domain: str, daily: list, today: date, recent_summary: object) -> Problem | None:  # type: ignore[type-arg]
    first_recent = today - timedelta(days=1)
    usual_from = first_recent - timedelta(days=USUAL_DAYS)
    recent = [d for d in daily if d.date >= first_recent]
    usual = [d for d in daily if usual_from <= d.date < first_recent]
    r_fail = sum(d.failure for d in recent)
    r_total = r_fail + sum(d.success for d in recent)
    u_fail = sum(d.failure for d in usual)
    u_total = u_fail + sum(d.success for d in usual)
    if len(usual) < 3 or not u_total or r_total < MIN_SESSIONS or r_fail < MIN_FAILURES:
        return None
    usual_rate, rate = u_fail / u_total, r_fail / r_total
    if rate <= max(SPIKE_FACTOR * usual_rate, usual_rate + SPIKE_MARGIN):
        return None
    causes = ""
    with contextlib.suppress(AttributeError):
        types = recent_summary.by_result_type[:3]  # type: ignore[attr-defined]
        mxs = recent_summary.by_mx[:3]  # type: ignore[attr-defined]
        if types:
            causes += "; failures by result type: " + ", ".join(f"{c.key} {c.count}" for c in types)
        if mxs:
            causes += "; by receiving MX: " + ", ".join(f"{c.key} {c.count}" for c in mxs)
    f = monitor_finding(
        "monitor-failure-spike",
        "warning",
        STEP_MONITOR,
        f"{r_fail} of {r_total} sessions failed in the TLS reports of the last day ({rate:.1%}), against "
        f"{usual_rate:.1%} usually ({len(usual)} day(s) before){causes}",
        f"see who fails and why with 'mta-sts-wizard reports summary {domain} --days 2', then fix the cause "
        "on the MX it names (certificate, STARTTLS, policy coverage) before it costs mail in enforce mode",
        domain,
    )
    return Problem(problem_key(f), f, "the TLS failure rate jumped")
