"""Step 6 for the commands: what `check` and `status` add when a saved state exists.

Kept here so the commands stay thin: `check` asks for the engine options that expect the
saved policy and id, then for the drift findings the engine cannot know and the verdict;
`status` (offline, read-only) asks for the verdict from the last saved check. Both print
`step6_lines`, the same lines the step 6 screen shows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from wizard.engine import CheckOptions, DomainReport
from wizard.lifecycle.drift import expected_for_check, extra_drift
from wizard.lifecycle.evidence import ReportEvidence, load_evidence_from_dir
from wizard.lifecycle.mx_change import mx_guide, mx_wait
from wizard.lifecycle.readiness import DEFAULT_MIN_DAYS, Verdict, readiness_verdict
from wizard.lifecycle.removal import removal_status
from wizard.lifecycle.switch import next_rung, pending_lines
from wizard.reports.store import StoreError
from wizard.state import DomainState, StateError, StateStore
from wizard.state.model import StateFormatError


@dataclass
class Saved:
    """A domain's saved state with its report evidence (None: no report store yet)."""

    state: DomainState
    evidence: ReportEvidence | None
    store_problem: str | None = None


def evidence_for(state: DomainState, root: Path | str) -> tuple[ReportEvidence | None, str | None]:
    """The report evidence since testing started, or (None, why) when the store cannot be read."""
    started = state.mode_history.testing_started_at
    since: date | None = started.date() if started else None
    patterns = list(state.policy.mx) if state.policy else None
    try:
        return load_evidence_from_dir(root, state.domain, since=since, policy_patterns=patterns), None
    except StoreError as exc:
        return None, str(exc)


def load_saved(root: Path | str, domain: str) -> Saved | None:
    """Read a domain's saved state without locking or repairing; None when there is none (or unreadable)."""
    store = StateStore(root)
    try:
        if domain not in store.domains():
            return None
        state = store.read(domain).state
    except (StateError, StateFormatError, OSError, ValueError):
        return None
    if state is None or state.policy is None:
        return None
    evidence, problem = evidence_for(state, root)
    return Saved(state, evidence, problem)


def options_for(options: CheckOptions, state: DomainState) -> CheckOptions:
    """The engine options expecting the saved (or rolling-out) policy and id."""
    policy, policy_id = expected_for_check(state)
    return replace(options, expected_policy=policy, expected_id=policy_id)


def after_check(
    report: DomainReport, saved: Saved, now: datetime, *, smtp_checked: bool = True, min_days: int = DEFAULT_MIN_DAYS
) -> Verdict:
    """Add the drift findings the engine did not report, and judge readiness from this fresh check."""
    url = report.policy_probe.url if report.policy_probe else ""
    report.findings.extend(extra_drift(saved.state, report.findings, report.policy, report.sts_id, url=url))
    return verdict_for(
        saved,
        report.findings,
        now,
        mx_hosts=report.mx.hosts if report.mx else None,
        smtp_checked=smtp_checked,
        min_days=min_days,
    )


def verdict_for(
    saved: Saved,
    findings: Any,
    now: datetime,
    *,
    mx_hosts: Any = None,
    smtp_checked: bool = True,
    min_days: int = DEFAULT_MIN_DAYS,
) -> Verdict:
    ev = saved.evidence
    return readiness_verdict(
        saved.state,
        ev.summary if ev else None,
        findings,
        now,
        min_days=min_days,
        pairs=ev.pairs if ev else (),
        mx_hosts=mx_hosts,
        smtp_checked=smtp_checked,
    )


def verdict_from_last_check(saved: Saved, now: datetime, *, min_days: int = DEFAULT_MIN_DAYS) -> Verdict:
    """For `status`: the verdict with the last saved check standing in for a fresh one."""
    last = saved.state.last_check
    return verdict_for(saved, last.findings if last else None, now, min_days=min_days)


def step6_lines(
    saved: Saved, verdict: Verdict, now: datetime, *, mx_hosts: Any = None, txt_ttl: int | None = None
) -> list[str]:
    """Everything step 6 has to say about the domain, as plain lines."""
    state = saved.state
    out = list(verdict.lines())
    if saved.store_problem:
        out.append(f"  report store: {saved.store_problem}")
    out += pending_lines(state)
    wait = mx_wait(state, now)
    if wait is not None:
        out += wait.lines()
    if mx_hosts:
        guide = mx_guide(state, mx_hosts, txt_ttl)
        if guide is not None:
            out += guide.lines()
    rung = next_rung(state)
    if rung is not None:
        out.append("next: " + rung.line())
    removal = removal_status(state, now)
    if removal.stage != "not-started":
        out += removal.lines()
    return out


def step6_status(
    state: DomainState, root: Path | str, now: datetime | None = None
) -> tuple[dict[str, Any], list[str]] | None:
    """For `status DOMAIN`: the verdict (JSON) and the step 6 lines, offline from the last saved check.

    None before a policy is saved. Reads only: a missing report store is not created.
    """
    if state.policy is None:
        return None
    from datetime import UTC

    moment = now or datetime.now(UTC)
    evidence, problem = evidence_for(state, root)
    saved = Saved(state, evidence, problem)
    verdict = verdict_from_last_check(saved, moment)
    lines = step6_lines(saved, verdict, moment)
    if state.last_check is not None:
        lines.insert(
            1, f"  (from the last check, {state.last_check.checked_at:%Y-%m-%d %H:%M} UTC; run 'check' for a fresh one)"
        )
    return verdict.to_json(), lines
