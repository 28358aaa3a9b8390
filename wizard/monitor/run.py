"""One monitoring pass over several domains: check, fetch reports, compare, record, notify.

The checks of all domains run at once on one shared engine context (one DNS client, so the
per-server query bound and the connection limits hold for the whole pass), each domain within
its own deadline; a domain that runs out of time is reported incomplete and its record is left
as it was. Meanwhile one thread imports new reports from the saved sources. Then each domain is
finished in a worker thread (the lock, the record, SQLite and apprise all block): take the
domain's lock, read the record, judge, write the record with the message pending, send, mark.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from wizard.engine import CheckOptions, DomainReport, SharedContext, check_domain
from wizard.lifecycle.drift import expected_for_check, extra_drift
from wizard.monitor.message import Change, compose
from wizard.monitor.notify import Target, send, target
from wizard.monitor.problems import Observation, Problem, observe
from wizard.monitor.record import MAX_ATTEMPTS, MonitorRecord, OpenProblem, OutboxEntry, RecordError, RecordFile
from wizard.monitor.reports_watch import FetchSettings, fetch_reports, has_sources, judge_reports
from wizard.state import DomainState, StateError, StateStore
from wizard.state.model import StateFormatError, as_utc, utc_now

#: Domains finished (lock, record, report store, notifications) at once.
FINISH_THREADS = 8
#: The longest a pass waits for another pass holding a domain.
LOCK_WAIT = 60.0


@dataclass(frozen=True)
class PassSettings:
    """How to run a pass: where the state lives, how to check, where else to notify."""

    root: Path
    check: CheckOptions
    notify_urls: tuple[str, ...] = ()
    lock_wait: float = LOCK_WAIT
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class DomainOutcome:
    """What a pass did for one domain (the `monitor --json` entry)."""

    domain: str
    checked_at: str
    open: list[OpenProblem] = field(default_factory=list)
    new: list[Change] = field(default_factory=list)
    recovered: list[Change] = field(default_factory=list)
    notices: list[Change] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    incomplete: str | None = None
    resolver_unreachable: bool = False

    @property
    def ok(self) -> bool:
        return not self.open

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "domain": self.domain,
            "checked_at": self.checked_at,
            "ok": self.ok,
            "open": [_open_json(p) for p in self.open],
            "new": [_change_json(c) for c in self.new + self.notices],
            "recovered": [_change_json(c) for c in self.recovered],
            "notified": sorted(set(self.notified)),
        }
        if self.incomplete:
            out["incomplete"] = self.incomplete
        if self.errors:
            out["errors"] = list(self.errors)
        return out


def _open_json(p: OpenProblem) -> dict[str, Any]:
    out = p.finding.to_json()
    out["what"] = p.what
    out["since"] = _iso(p.since)
    if p.urgent:
        out["urgent"] = True
    return out


def _change_json(c: Change) -> dict[str, Any]:
    out = c.problem.finding.to_json()
    out["what"] = c.problem.what
    out["since"] = _iso(c.since)
    if getattr(c.problem, "urgent", False):
        out["urgent"] = True
    return out


def _iso(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_state(root: Path, domain: str) -> DomainState | None:
    """The domain's saved progress (read-only, no lock), or None."""
    try:
        return StateStore(root).read(domain).state
    except (StateError, StateFormatError, OSError, ValueError):
        return None


async def monitor_pass(
    domains: Sequence[str], settings: PassSettings, *, now: datetime | None = None
) -> list[DomainOutcome]:
    """Run one pass over `domains` (A-labels); never raises for a network or a domain's problem."""
    moment = as_utc(now) if now is not None else utc_now()
    states = {d: load_state(settings.root, d) for d in domains}
    fetch = FetchSettings(settings.check.nameservers, settings.check.timeout, settings.check.ca_bundle)
    to_fetch = [states[d] for d in domains if has_sources(states[d])]
    fetch_job = asyncio.to_thread(_fetch_all, settings.root, to_fetch, fetch, settings.environ)
    reports, fetched = await asyncio.gather(_check_all(domains, states, settings), fetch_job)
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=FINISH_THREADS, thread_name_prefix="monitor") as pool:
        jobs = [
            loop.run_in_executor(pool, _finish, d, reports[d], states[d], fetched.get(d, []), moment, settings)
            for d in domains
        ]
        return list(await asyncio.gather(*jobs))


def _fetch_all(
    root: Path, states: list[DomainState | None], fetch: FetchSettings, environ: Mapping[str, str]
) -> dict[str, list[Problem]]:
    out: dict[str, list[Problem]] = {}
    for state in states:
        if state is not None:
            _imported, problems = fetch_reports(root, state, fetch, environ)
            out[state.domain] = problems
    return out


async def _check_all(
    domains: Sequence[str], states: Mapping[str, DomainState | None], settings: PassSettings
) -> dict[str, DomainReport | str]:
    """Each domain's report, or why it has none (its deadline passed)."""
    # One shared context (one query bound for the pass): check_domains would share it too, but
    # cannot give each domain the saved policy to expect.
    ctx = SharedContext(settings.check)

    async def one(domain: str) -> DomainReport | str:
        state = states.get(domain)
        options = settings.check
        if state is not None and state.policy is not None:
            policy, policy_id = expected_for_check(state)
            options = replace(options, expected_policy=policy, expected_id=policy_id)
        try:
            # The engine ends its own check at the deadline, with findings for what it skipped;
            # this bound is only the backstop, one operation's timeout later.
            async with asyncio.timeout(options.deadline + options.timeout):
                report = await check_domain(domain, options, ctx=ctx)
        except TimeoutError:
            report = None
        if report is None or report.deadline_passed:
            return f"the check did not finish within the deadline of {options.deadline:g} s; nothing was judged"
        if state is not None and state.policy is not None:
            url = report.policy_probe.url if report.policy_probe else ""
            report.findings.extend(extra_drift(state, report.findings, report.policy, report.sts_id, url=url))
        return report

    try:
        results = await asyncio.gather(*(one(d) for d in domains))
    finally:
        await ctx.aclose()
    return dict(zip(domains, results, strict=True))


def _finish(
    domain: str,
    report: DomainReport | str,
    state: DomainState | None,
    fetch_problems: list[Problem],
    now: datetime,
    settings: PassSettings,
) -> DomainOutcome:
    checked_at = report.checked_at if isinstance(report, DomainReport) else _iso(now)
    outcome = DomainOutcome(domain, checked_at)
    if isinstance(report, str):
        outcome.incomplete = report
    elif report.resolver_unreachable:
        outcome.resolver_unreachable = True
        outcome.incomplete = "no DNS resolver answered; nothing was judged"
    urls = list(dict.fromkeys([*settings.notify_urls, *(state.notify_urls if state else [])]))
    targets = {t.digest: t for t in (target(u) for u in urls)}
    record_file = RecordFile(settings.root, domain)
    try:
        if not record_file.acquire(settings.lock_wait):
            outcome.errors.append("another monitoring pass is working on this domain; left to it")
            outcome.open = list(record_file.read().open.values())
            return outcome
        try:
            _judge_and_send(outcome, report, state, fetch_problems, now, settings, record_file, targets)
        finally:
            record_file.release()
    except RecordError as exc:
        outcome.errors.append(str(exc))
        outcome.incomplete = outcome.incomplete or str(exc)
    return outcome


def _judge_and_send(
    outcome: DomainOutcome,
    report: DomainReport | str,
    state: DomainState | None,
    fetch_problems: list[Problem],
    now: datetime,
    settings: PassSettings,
    record_file: RecordFile,
    targets: dict[str, Target],
) -> None:
    record = record_file.read()
    changes: list[Change] = []
    if outcome.incomplete is None and isinstance(report, DomainReport):
        obs = observe(report, state, record, now, smtp_checked=settings.check.probe_smtp)
        judgement = judge_reports(settings.root, outcome.domain, now)
        for problem in [*judgement.problems, *fetch_problems]:
            obs.add(problem)
        if not judgement.readable:
            obs.carried |= {k for k, p in record.open.items() if p.finding.code.startswith("monitor-failure-spike")}
            obs.carried |= {k for k, p in record.open.items() if p.finding.code == "monitor-reports-stopped"}
        changes = _apply(record, obs, now)
    outcome.open = sorted(record.open.values(), key=lambda p: (p.since, p.finding.step, p.finding.code))
    outcome.new = [c for c in changes if c.kind in ("new", "escalated")]
    outcome.recovered = [c for c in changes if c.kind == "recovered"]
    outcome.notices = [c for c in changes if c.kind == "notice"]
    if changes and targets:
        title, body, kind = compose(outcome.domain, changes, now, _publish_with(state))
        entry_id = f"{now:%Y%m%dT%H%M%S}-{os.urandom(3).hex()}"
        record.outbox.append(OutboxEntry(entry_id, now, title, body, kind, sorted(targets)))
    record_file.write(record)  # the message is pending on disk before anything is sent
    _deliver(outcome, record, record_file, targets, settings.check.timeout)


def _apply(record: MonitorRecord, obs: Observation, now: datetime) -> list[Change]:
    """Move the record to this pass's view; the changes to notify, in order."""
    changes: list[Change] = []
    still: dict[str, OpenProblem] = {}
    for key, p in obs.problems.items():
        prev = record.open.get(key)
        if prev is None:
            changes.append(Change(p, "new", now))
            since = now
        else:
            since = prev.since
            if p.level > prev.level or (p.urgent and not prev.urgent):
                changes.append(Change(p, "escalated", since))
        still[key] = OpenProblem(p.finding, p.what, since, p.urgent, p.level)
    for key in obs.carried:
        if key in record.open and key not in still:
            still[key] = record.open[key]
    for key, prev in record.open.items():
        if key not in still:
            changes.append(Change(prev, "recovered", prev.since))
    changes += [Change(n, "notice", now) for n in obs.notices]
    record.open = still
    record.mx_hosts = obs.mx_hosts
    record.ids = obs.ids
    record.good_steps = sorted(obs.good_steps)
    record.last_pass_at = now
    return changes


def _deliver(
    outcome: DomainOutcome, record: MonitorRecord, record_file: RecordFile, targets: dict[str, Target], timeout: float
) -> None:
    """Send every pending entry (older ones first), marking each target as soon as it acknowledged."""
    if not record.outbox:
        return  # the record is on disk already
    for entry in list(record.outbox):
        entry.attempts += 1
        for digest in list(entry.targets):
            t = targets.get(digest)
            if t is None:
                entry.targets.remove(digest)
                outcome.errors.append(f"a message of {_iso(entry.created_at)} was for a URL no longer given; dropped")
                continue
            result = send(t, entry.title, entry.body, entry.kind, timeout)
            if result.ok:
                entry.targets.remove(digest)
                outcome.notified.append(t.scheme)
                record_file.write(record)
            else:
                entry.last_error = result.error
                outcome.errors.append(f"could not notify {t.label}: {result.error} (retried on the next pass)")
        if not entry.targets:
            record.outbox.remove(entry)
        elif entry.attempts >= MAX_ATTEMPTS:
            record.outbox.remove(entry)
            outcome.errors.append(f"gave up the message of {_iso(entry.created_at)} after {entry.attempts} tries")
    record_file.write(record)


def could_not_run(outcomes: list[DomainOutcome]) -> bool:
    """The pass as a whole could not run: no domain was judged because of our side (DNS, disk)."""
    return bool(outcomes) and all(o.incomplete is not None and (o.resolver_unreachable or o.errors) for o in outcomes)


__all__ = ["DomainOutcome", "PassSettings", "could_not_run", "load_state", "monitor_pass"]


def _publish_with(state: DomainState | None) -> str:
    """The saved publishing method in words ("" when none): step 6 and publish saved it, never a secret."""
    from wizard.publish.method import Method

    method = Method.from_saved(state.publish_method) if state is not None else None
    return f"saved method: {method.describe()}" if method is not None else ""
