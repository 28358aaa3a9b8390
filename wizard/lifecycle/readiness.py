"""The readiness verdict: may this domain move from testing to enforce now?

RFC 8461 §5: in testing mode senders deliver anyway and report what would have failed;
in enforce they refuse to deliver. So the move is safe only when (a) the policy has been
in testing long enough for reports to arrive (14 days by default), (b) reports actually
arrive, (c) they show no failure that is still happening, and (d) a fresh check of every
MX passes with every MX covered by the policy. The verdict is a pure function of the saved
state, the report evidence, the check findings and the time, so the screen, `check` and
`status` all say the same thing.

Anyone can send a report (a DKIM signature only proves which domain signed it), so a host a
report names is believed only when it is one of the domain's own MX hosts as the fresh check
saw them: a failure on any other host neither blocks nor becomes advice ("add 'mx: <host>'"),
it is listed as "reported by <org>, not one of your MX hosts".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from wizard.lifecycle.causes import Cause, cause_for_code, cause_for_result_type
from wizard.lifecycle.evidence import FailurePair
from wizard.lifecycle.step_state import live_mode
from wizard.reports.summary import Summary
from wizard.state import DomainState
from wizard.state.model import as_utc

VerdictStatus = Literal["ready", "not-yet", "blocked"]

#: SPEC §5 / the guide: monitor 2-4 weeks before enforcing.
DEFAULT_MIN_DAYS = 14
#: Reports older than this many days before `now` mean reports stopped arriving.
STALE_REPORT_DAYS = 3
#: Failures seen in reports only before the last this-many report days count as fixed
#: (when the fresh check agrees); senders report one UTC day at a time.
QUIET_DAYS = 3


@dataclass(frozen=True)
class FailureGroup:
    """Failures with one cause: where they happen, how many sessions, and the fix."""

    cause: str
    title: str
    fix: str
    subjects: tuple[str, ...]
    sessions: int = 0
    """Failed sessions in the reports (0 when only the fresh check saw it)."""
    from_reports: bool = False
    from_check: bool = False
    last_seen: str = ""
    """The last report day with this failure (ISO date), when from reports."""

    def render(self) -> str:
        where = []
        if self.sessions:
            where.append(f"{self.sessions} failed session(s) in reports, last {self.last_seen}")
        if self.from_check:
            where.append("seen by the fresh check")
        return f"{self.title} ({'; '.join(where)}). Fix: {self.fix}"

    def to_json(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "title": self.title,
            "fix": self.fix,
            "subjects": list(self.subjects),
            "sessions": self.sessions,
            "from_reports": self.from_reports,
            "from_check": self.from_check,
            "last_seen": self.last_seen or None,
        }


@dataclass(frozen=True)
class Verdict:
    """ready / not-yet (with what is missing) / blocked (with the failing evidence)."""

    status: VerdictStatus
    evidence: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failures: list[FailureGroup] = field(default_factory=list)
    days_in_testing: int | None = None
    failure_rate: float | None = None
    earliest: datetime | None = None
    """When the minimum testing period ends (None before testing started)."""
    mode: str | None = None
    """The saved policy's mode: in enforce the same evidence judges health, not readiness."""
    not_ours: list[str] = field(default_factory=list)
    """Hosts reports name that are not the domain's MX hosts, with who reported them (ignored)."""

    @property
    def headline(self) -> str:
        if self.mode == "enforce":
            if self.status == "blocked":
                return (
                    f"Enforced, but {len(self.failures)} problem(s) stop mail now: fix them "
                    "(or roll back to testing in the same safe order)."
                )
            return "Enforced: no failure in the evidence below." if self.status == "ready" else "Enforced."
        if self.status == "ready":
            return "Ready to enforce: the evidence below shows no failure."
        if self.status == "blocked":
            return f"Blocked: {len(self.failures)} problem(s) would stop mail in enforce mode; fix them first."
        return f"Not yet: {len(self.missing)} thing(s) still missing."

    def lines(self) -> list[str]:
        """The verdict as plain lines (for `check`, `status` and the screen)."""
        out = [self.headline]
        out += [f"  + {e}" for e in self.evidence]
        out += [f"  - missing: {m}" for m in self.missing]
        out += [f"  ! {g.render()}" for g in self.failures]
        out += [f"  ? {n}" for n in self.not_ours]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "evidence": list(self.evidence),
            "missing": list(self.missing),
            "failures": [g.to_json() for g in self.failures],
            "days_in_testing": self.days_in_testing,
            "failure_rate": self.failure_rate,
            "earliest": self.earliest.strftime("%Y-%m-%dT%H:%M:%SZ") if self.earliest else None,
            "mode": self.mode,
            "not_your_mx": list(self.not_ours),
        }


class _Groups:
    """Accumulates failures by cause key, keeping first-seen order."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def add(
        self, cause: Cause, subject: str, *, sessions: int = 0, report: bool = False, last: str = "", fix: str = ""
    ) -> None:
        g = self.items.setdefault(
            cause.key,
            {"cause": cause, "subjects": [], "sessions": 0, "report": False, "check": False, "last": "", "fix": fix},
        )
        if subject and subject not in g["subjects"]:
            g["subjects"].append(subject)
        g["sessions"] += sessions
        g["report" if report else "check"] = True
        g["last"] = max(g["last"], last)

    def groups(self) -> list[FailureGroup]:
        out = []
        for g in self.items.values():
            cause: Cause = g["cause"]
            subjects = tuple(g["subjects"])
            subject = ", ".join(subjects)
            fix = g["fix"] if cause.key.startswith("check:") and g["fix"] else cause.fix_for(subject)
            out.append(
                FailureGroup(
                    cause=cause.key,
                    title=cause.title_for(subject),
                    fix=fix,
                    subjects=subjects,
                    sessions=g["sessions"],
                    from_reports=g["report"],
                    from_check=g["check"],
                    last_seen=g["last"],
                )
            )
        return out


def _days(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 86400))


def readiness_verdict(
    state: DomainState,
    summary: Summary | None,
    findings: Iterable[Any] | None,
    now: datetime,
    *,
    min_days: int = DEFAULT_MIN_DAYS,
    pairs: Sequence[FailurePair] = (),
    mx_hosts: Sequence[str] | None = None,
    smtp_checked: bool = True,
) -> Verdict:
    """Judge whether the domain may move to enforce.

    `summary` is the report store's summary since testing started (None: no store);
    `pairs` the failures by (result type, MX) from `wizard.lifecycle.evidence`;
    `findings` the findings of a fresh full check (objects with code, severity, subject,
    message and optionally fix; None when no check ran); `mx_hosts` the MX hosts that
    check saw; `smtp_checked` False when that check skipped the port-25 probes.
    Nothing here touches the network or the disk.
    """
    now = as_utc(now)
    evidence: list[str] = []
    missing: list[str] = []
    not_ours: list[str] = []
    groups = _Groups()
    started = state.mode_history.testing_started_at
    days: int | None = None
    earliest: datetime | None = None

    # (a) the policy and the time in testing
    if state.policy is None:
        missing.append("a saved policy: finish steps 1 to 5 first")
    elif state.mode == "enforce":
        evidence.append("the saved policy is already in enforce mode")
    elif state.mode == "none":
        missing.append("a testing policy: the saved policy is in mode none (MTA-STS is being turned off)")
    if started is None:
        if state.mode != "enforce":
            missing.append("testing has not started: step 5 starts it when it sees the testing policy served")
    else:
        started = as_utc(started)
        days = _days(now - started)
        earliest = started + timedelta(days=min_days)
        if state.mode == "testing":
            if now >= earliest:
                evidence.append(f"{days} days in testing since {started:%Y-%m-%d} (at least {min_days} advised)")
            else:
                left = earliest - now
                missing.append(
                    f"{min_days} days of testing: {days} so far, "
                    f"{_days(left) or 'less than 1'} more (until {earliest:%Y-%m-%d %H:%M} UTC)"
                )

    # (b) reports covering those days, (c) failures in them
    rate: float | None = None
    if summary is None or summary.report_count == 0:
        missing.append("no reports: check the TLSRPT record and the mailbox, then import them")
    else:
        rate = summary.rate
        span = f"{summary.first} to {summary.last}" if summary.first else "no day"
        evidence.append(
            f"{summary.report_count} report(s) covering {summary.days_covered} day(s) ({span}); "
            f"{summary.success} sessions succeeded, {summary.failure} failed "
            f"({'-' if rate is None else f'{rate * 100:.2f}%'} failure rate)"
        )
        wanted = max(1, min(min_days, days if days is not None else min_days) // 2)
        if summary.days_covered < wanted:
            missing.append(
                f"reports on more days: {summary.days_covered} day(s) so far, at least {wanted} wanted "
                "before the failure rate means much"
            )
        if summary.last is not None and (now.date() - summary.last).days > STALE_REPORT_DAYS:
            missing.append(
                f"recent reports: the last one covers {summary.last}; check the mailbox and import the new ones"
            )
        quiet_from = _quiet_from(summary)
        own = {_host(h) for h in mx_hosts} if mx_hosts is not None else None
        strangers = _strangers(pairs, own)
        for host, (orgs, count) in strangers.items():
            not_ours.append(
                f"{host}: {count} failed session(s) reported by {', '.join(orgs) or 'an unnamed sender'}, "
                "not one of your MX hosts; ignored (a report can name any host)"
            )
        for pair in pairs:
            if _host(pair.mx) in strangers:
                continue
            c = cause_for_result_type(pair.result_type)
            if quiet_from is not None and pair.last < quiet_from:
                evidence.append(f"{c.title_for(pair.mx)}: {pair.count} failed session(s) until {pair.last}, none since")
                continue
            groups.add(c, pair.mx, sessions=pair.count, report=True, last=pair.last.isoformat())
        for host in summary.uncovered_mx:
            if _host(host) in strangers:
                continue
            if own is None:  # no fresh check: whether it is one of the MX hosts is not known yet
                orgs = sorted({o for p in pairs if _host(p.mx) == _host(host) for o in p.organisations})
                missing.append(
                    f"a fresh check: reports by {', '.join(orgs) or 'a sender'} name {host}, which the policy "
                    "does not cover; the check tells whether it is one of your MX hosts"
                )
                continue
            groups.add(cause_for_code("mx-not-covered"), host, report=True)
        if not pairs and summary.failure:
            last_fail = max((d.date for d in summary.daily if d.failure), default=None)
            if last_fail is not None and (quiet_from is None or last_fail >= quiet_from):
                groups.add(
                    cause_for_result_type("unspecified"),
                    "",
                    sessions=summary.failure,
                    report=True,
                    last=last_fail.isoformat(),
                )

    # (d) a fresh check of every MX, every MX covered
    if findings is None:
        missing.append("a fresh full check of every MX (run the check)")
    else:
        found = list(findings)
        unreachable = [f for f in found if f.code == "mx-unreachable"]
        for f in found:
            if f.severity != "error":
                continue
            c = cause_for_code(f.code, f.message, getattr(f, "fix", ""))
            groups.add(c, f.subject or "", fix=getattr(f, "fix", ""))
        if unreachable:
            hosts = ", ".join(sorted({f.subject for f in unreachable}))
            missing.append(f"a check of port 25 on {hosts}: it could not be reached from here")
        if not smtp_checked:
            missing.append("a STARTTLS check of every MX (the last check skipped port 25)")
        elif not any(f.severity == "error" for f in found):
            hosts_text = f" ({', '.join(mx_hosts)})" if mx_hosts else ""
            evidence.append(f"the fresh check passed: every MX{hosts_text} offers valid TLS and matches the policy")

    failures = groups.groups()
    status: VerdictStatus = "blocked" if failures else ("not-yet" if missing else "ready")
    # The mode in force, not the saved one: mid-switch the saved policy already says enforce.
    return Verdict(status, evidence, missing, failures, days, rate, earliest, live_mode(state) or state.mode, not_ours)


def _host(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _strangers(pairs: Sequence[FailurePair], own: set[str] | None) -> dict[str, tuple[list[str], int]]:
    """Hosts named in failure reports that are not the domain's MX hosts: host -> (reporters, sessions).

    Empty when the MX hosts are not known (no fresh check) and for failures naming no host.
    """
    out: dict[str, tuple[list[str], int]] = {}
    if own is None:
        return out
    for pair in pairs:
        host = _host(pair.mx)
        if not host or host in own:
            continue
        orgs, count = out.get(host, ([], 0))
        out[host] = (sorted({*orgs, *pair.organisations}), count + pair.count)
    return out


def _quiet_from(summary: Summary) -> Any:
    """The first of the last QUIET_DAYS report days, when none of them had a failure."""
    recent = summary.daily[-QUIET_DAYS:]
    if len(recent) < QUIET_DAYS or any(d.failure for d in recent):
        return None
    return recent[0].date
