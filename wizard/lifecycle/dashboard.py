"""Step 6 as a dashboard: the verdict card, the checklist toward enforce, the chart series, the
failure breakdowns, the records to publish and the actions with why each is unavailable.

Everything the step 6 screen shows is decided here, from the saved state, the readiness verdict
(wizard.lifecycle.readiness) and the report evidence; the screen only lays it out. So the
checklist ticks and the verdict cannot disagree: each item is read off the verdict's own
evidence, missing items and failure groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from wizard.lifecycle import switch
from wizard.lifecycle.evidence import ReportEvidence
from wizard.lifecycle.mx_change import mx_guide
from wizard.lifecycle.readiness import DEFAULT_MIN_DAYS, STALE_REPORT_DAYS, Verdict
from wizard.lifecycle.removal import removal_status
from wizard.lifecycle.step_state import live_mode
from wizard.mx import pattern_matches
from wizard.reports.summary import NOT_REPORTED
from wizard.state import DomainState
from wizard.state.model import as_utc

#: The failure rate above which enforce would lose mail. readiness_verdict blocks on any failure
#: still happening in the reports (RFC 8461 §5: in enforce a failing session is not delivered), so
#: the line the chart draws is at zero: every day above it is a day of mail enforce would refuse.
ENFORCE_MAX_FAILURE_RATE = 0.0

STATUS_WORDS = {"ready": "READY", "not-yet": "NOT YET", "blocked": "BLOCKED"}
#: What each verdict means, for the card (the word is never the only signal).
STATUS_MEANING = {
    "ready": "nothing stands in the way of enforce",
    "not-yet": "evidence is still missing",
    "blocked": "failures would stop mail in enforce",
}
ENFORCED_MEANING = {
    "ready": "enforced, no failure in the evidence",
    "not-yet": "enforced; evidence is missing",
    "blocked": "enforced, and failures stop mail now",
}


@dataclass(frozen=True)
class Card:
    """The verdict card's fields."""

    status: str
    word: str
    meaning: str
    mode: str
    live_mode: str
    policy_id: str
    max_age: int | None
    days_so_far: int | None
    days_needed: int
    started: datetime | None
    last_check: datetime | None
    last_report: date | None


@dataclass(frozen=True)
class ChecklistItem:
    """One condition toward enforce: met or not, and the date or count that says so."""

    key: str
    label: str
    done: bool
    detail: str


@dataclass(frozen=True)
class DayPoint:
    """One day of the chart: the failure rate in percent (None: no sessions) and the session count."""

    day: date
    rate_pct: float | None
    sessions: int
    failures: int


@dataclass(frozen=True)
class BreakdownRow:
    """One row of a failure table: what (result type, MX, organisation or IP), failed sessions, share."""

    key: str
    failures: int
    share_pct: float
    extra: str = ""
    """The organisation of a sending IP row."""


@dataclass(frozen=True)
class Record:
    """A record or file step 6 asks the user to publish: shown, copyable, savable."""

    title: str
    value: str
    filename: str


@dataclass(frozen=True)
class ActionState:
    """One step 6 action: its key, its label, and why it cannot run now ("" when it can)."""

    action: str
    key: str
    label: str
    reason: str = ""
    advice: str = ""
    """Shown beside an available action that the verdict advises against (e.g. enforce while blocked)."""

    @property
    def enabled(self) -> bool:
        return not self.reason


BREAKDOWNS: tuple[tuple[str, str], ...] = (
    ("result", "Result type"),
    ("mx", "Receiving MX"),
    ("org", "Sending organisation"),
    ("ip", "Sending IP"),
)


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def card(
    state: DomainState, verdict: Verdict, evidence: ReportEvidence | None, min_days: int = DEFAULT_MIN_DAYS
) -> Card:
    policy = state.policy
    meanings = ENFORCED_MEANING if live_mode(state) == "enforce" else STATUS_MEANING  # in force, not planned
    return Card(
        status=verdict.status,
        word=STATUS_WORDS.get(verdict.status, verdict.status.upper()),
        meaning=meanings.get(verdict.status, ""),
        mode=state.mode or "none saved",
        live_mode=live_mode(state) or "not seen served",
        policy_id=state.policy_id or "-",
        max_age=policy.max_age if policy else None,
        days_so_far=verdict.days_in_testing,
        days_needed=min_days,
        started=state.mode_history.testing_started_at,
        last_check=state.last_check.checked_at if state.last_check else None,
        last_report=evidence.summary.last if evidence and evidence.summary.report_count else None,
    )


def checklist(
    state: DomainState,
    verdict: Verdict,
    evidence: ReportEvidence | None,
    now: datetime,
    min_days: int = DEFAULT_MIN_DAYS,
) -> list[ChecklistItem]:
    """The five conditions readiness_verdict applies, each ticked from the verdict's own reasons."""
    now = as_utc(now)
    summary = evidence.summary if evidence else None
    missing = " ".join(verdict.missing)
    started = state.mode_history.testing_started_at
    out: list[ChecklistItem] = []

    # (a) long enough in testing
    days = verdict.days_in_testing
    if state.mode == "enforce":
        out.append(ChecklistItem("days", f"{min_days} days in testing", True, "done: the policy is enforced"))
    elif started is None or days is None:
        out.append(ChecklistItem("days", f"{min_days} days in testing", False, "testing has not started"))
    else:
        done = days >= min_days
        until = f"since {started:%Y-%m-%d}" if done else f"until {verdict.earliest:%Y-%m-%d}"
        out.append(ChecklistItem("days", f"{min_days} days in testing", done, f"{_days(days)} so far, {until}"))

    # (b) reports arriving
    if summary is None or summary.report_count == 0:
        out.append(ChecklistItem("reports", "reports arriving", False, "none imported in the window yet"))
    else:
        stale = summary.last is not None and (now.date() - summary.last).days > STALE_REPORT_DAYS
        few = "reports on more days" in missing
        detail = f"{summary.report_count} report(s) on {summary.days_covered} day(s), last {summary.last}"
        out.append(ChecklistItem("reports", "reports arriving", not (stale or few), detail))

    # (c) failure rate under the threshold: no failure the reports show is still happening
    from_reports = [g for g in verdict.failures if g.from_reports]
    if summary is None or summary.report_count == 0:
        out.append(ChecklistItem("rate", "no failure still happening", False, "no reports to judge from"))
    elif from_reports:
        last = max((g.last_seen for g in from_reports if g.last_seen), default="")
        rate = summary.rate
        pct = "-" if rate is None else f"{rate * 100:.2f}%"
        out.append(
            ChecklistItem("rate", "no failure still happening", False, f"{pct} failed, last on {last or 'unknown'}")
        )
    else:
        rate = summary.rate
        pct = "-" if rate is None else f"{rate * 100:.2f}%"
        out.append(ChecklistItem("rate", "no failure still happening", True, f"{pct} over the window, none recent"))

    # (d) a fresh full check without errors
    checked = state.last_check
    check_failures = [g for g in verdict.failures if g.from_check]
    if "fresh full check" in missing or checked is None:
        out.append(ChecklistItem("check", "fresh full check clean", False, "not run yet: press c"))
    elif check_failures or "port 25" in missing or "STARTTLS check" in missing:
        out.append(
            ChecklistItem("check", "fresh full check clean", False, f"problems at {checked.checked_at:%Y-%m-%d %H:%M}")
        )
    else:
        out.append(
            ChecklistItem("check", "fresh full check clean", True, f"passed {checked.checked_at:%Y-%m-%d %H:%M}")
        )

    # (e) every MX covered by the policy
    uncovered = [s for g in verdict.failures if g.cause == "mx-not-covered" for s in g.subjects]
    if uncovered:
        out.append(ChecklistItem("mx", "every MX covered", False, "not covered: " + ", ".join(uncovered)))
    elif state.policy is None:
        out.append(ChecklistItem("mx", "every MX covered", False, "no policy saved"))
    else:
        out.append(ChecklistItem("mx", "every MX covered", True, f"{len(state.policy.mx)} pattern(s) in the policy"))
    return out


def chart_points(evidence: ReportEvidence | None) -> list[DayPoint]:
    """One point per calendar day from the first day reported to the last: a day no report
    covers is a point with no rate and no sessions, so every day keeps its column on the chart
    (the store lists only the days it has rows for)."""
    if evidence is None or not evidence.summary.daily:
        return []
    reported = {d.date: d for d in evidence.summary.daily}
    first, last = min(reported), max(reported)
    points = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        d = reported.get(day)
        if d is None:
            points.append(DayPoint(day, None, 0, 0))
        else:
            points.append(DayPoint(day, None if d.rate is None else d.rate * 100, d.success + d.failure, d.failure))
    return points


def breakdown(evidence: ReportEvidence | None, kind: str) -> list[BreakdownRow]:
    """Failed sessions by result type, receiving MX, sending organisation or sending IP."""
    if evidence is None:
        return []
    s = evidence.summary
    total = s.failure or 1
    if kind == "ip":
        return [
            BreakdownRow(c.sending_ip or NOT_REPORTED, c.count, c.count * 100 / total, c.organisation)
            for c in s.by_sender
        ]
    counts = {"result": s.by_result_type, "mx": s.by_mx, "org": s.by_organisation}[kind]
    return [BreakdownRow(c.key or NOT_REPORTED, c.count, c.count * 100 / total) for c in counts]


def count_line(imported: int | None, evidence: ReportEvidence | None) -> str:
    """The report counts, saying why the store's total and the window's differ when they do."""
    if imported is None:
        return "no reports imported yet"
    in_window = evidence.summary.report_count if evidence else 0
    since = evidence.summary.since if evidence else None
    if evidence is None or in_window == imported:
        return f"{imported} report(s) imported, all in the window"
    where = f"since testing started on {since}" if since else "in the window"
    return (
        f"{imported} report(s) imported, {in_window} {where}; "
        f"the other {imported - in_window} cover earlier days and do not count toward enforce"
    )


def covering_patterns(state: DomainState, host: str) -> list[str]:
    """The saved policy's mx patterns that match `host` (RFC 8461 §4.1), in policy order."""
    if state.policy is None or not host or host == NOT_REPORTED:
        return []
    name = host.rstrip(".").lower()
    return [p for p in state.policy.mx if pattern_matches(p, name)]


def records(state: DomainState) -> list[Record]:
    """What the pending change asks the user to publish: the new file, then (once given) the new TXT."""
    pending = state.pending_change
    if pending is None or pending.new_policy is None:
        return []
    out = [Record("New policy file (mta-sts.txt)", pending.new_policy.text, "mta-sts.txt")]
    if pending.new_id:
        out.append(
            Record(f"New TXT record at _mta-sts.{state.domain}", f"v=STSv1; id={pending.new_id}", "mta-sts-txt.txt")
        )
    return out


def actions(
    state: DomainState,
    verdict: Verdict | None,
    now: datetime,
    mx_hosts: Sequence[str] | None,
    *,
    read_only: str | None = None,
    check_running: bool = False,
    importing: bool = False,
) -> list[ActionState]:
    """Every step 6 action in bar order, each with the reason it cannot run now.

    The phase actions of a pending change (published, id live, done, cancel) come first while
    one is in progress. Callers may append their own actions to the list."""
    pending = state.pending_change
    current = switch.phase(pending)
    busy = (
        f"finish the {switch.KIND_TITLES.get(pending.kind, pending.kind)} in progress first (or cancel it)"
        if pending
        else ""
    )
    writing = f"read-only: {read_only}" if read_only else ""
    out: list[ActionState] = []
    if pending is not None:
        out.append(
            ActionState(
                "served",
                "p",
                "Published: verify",
                "" if current in (2, 3) else "the new file is verified already",
            )
        )
        out.append(ActionState("id_live", "i", "Id published", "" if current == 4 else "the new id is not given yet"))
        out.append(
            ActionState(
                "publish",
                "u",
                "Publish it for me",
                writing or ("" if current in (2, 3, 4) else "the new id is live already"),
            )
        )
        if pending.kind == "mx-change":
            out.append(
                ActionState("confirm", "k", "MX records changed", "" if current == 5 else "the new id is not live yet")
            )
        out.append(
            ActionState("cancel", "z", "Cancel change", "" if current in (2, 3) else "the new id was given out already")
        )
    out.append(ActionState("import", "r", "Import reports", writing or ("an import is running" if importing else "")))
    out.append(ActionState("check", "c", "Fresh check", "a full check is running" if check_running else ""))
    out.append(ActionState("monitor_setup", "m", "Notifications", writing))

    enforce_reason = writing or busy
    if not enforce_reason and state.policy is None:
        enforce_reason = "no policy saved: finish steps 1 to 5"
    elif not enforce_reason and state.mode == "enforce":
        enforce_reason = "the policy is already in enforce mode"
    elif not enforce_reason and state.mode != "testing":
        enforce_reason = f"the saved policy is in mode {state.mode}; start again from testing"
    advice = ""
    if not enforce_reason and verdict is not None and verdict.status != "ready":
        advice = "not advised: " + ("blocked" if verdict.status == "blocked" else "evidence missing")
    out.append(ActionState("enforce", "e", "Switch to enforce", enforce_reason, advice))

    ladder_reason = writing or busy
    if not ladder_reason and switch.next_rung(state) is None:
        if state.mode != "enforce":
            ladder_reason = "only in enforce mode"
        elif state.policy is not None and state.policy.max_age >= switch.LADDER[-1]:
            ladder_reason = "max_age is at the top of the ladder"
        else:
            ladder_reason = "enforce must be seen served first (run a fresh check)"
    out.append(ActionState("ladder", "a", "Raise max_age", ladder_reason))

    mx_reason = writing or busy
    if not mx_reason:
        if mx_hosts is None:
            mx_reason = "the MX hosts are not looked up yet"
        else:
            guide = mx_guide(state, list(mx_hosts))
            if guide is None or not guide.uncovered:
                mx_reason = "every MX in DNS is covered by the policy"
    out.append(ActionState("mx", "g", "MX change", mx_reason))

    if state.mode == "enforce" and pending is None:
        out.append(ActionState("rollback", "t", "Roll back to testing", writing))

    off_reason = writing or busy
    if not off_reason and state.mode in (None, "none"):
        off_reason = "MTA-STS is already being turned off" if state.mode == "none" else "no policy saved"
    out.append(ActionState("remove", "d", "Turn off", off_reason))
    if pending is None and removal_status(state, now).stage == "safe":
        out.append(ActionState("confirm", "k", "Records removed", writing))
    return out


#: Why an action missing from the bar cannot run (its key still works, and says this).
_ABSENT = {
    "served": "no change is in progress",
    "id_live": "no change is in progress",
    "cancel": "no change is in progress",
    "confirm": "no MX change is waiting, and removal is not due",
    "publish": "no change is in progress: step 6 publishes the new id of a switch, max_age rung or MX change",
    "rollback": "only in enforce mode, with no change in progress",
}


def absent_reason(action: str) -> str:
    return _ABSENT.get(action, "it does not apply now")
