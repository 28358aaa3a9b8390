"""Step 6: monitor in testing mode, then enforce. This screen shows where the domain stands.

Everything here is read from the saved state (when testing started, the policy served
and its history) and the report store; the readiness verdict, the ordered switch to
enforce and the max_age ladder are added to this screen by issue 7.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from screens.step6_lifecycle import LOADING, LifecyclePanel, LifecycleStepScreen
from wizard.lifecycle.adopt import live_mode
from wizard.state import DomainState
from wizard.text import shown

#: SPEC §5: watch the reports this long in testing before enforce.
MIN_TESTING_DAYS = 14


class MonitorStep(LifecycleStepScreen):
    """Monitor and enforce."""

    STEP = 6
    TITLE_TEXT = "Monitor, then enforce"

    def compose_body(self) -> ComposeResult:
        yield Static(id="monitor-since")
        yield Static(id="monitor-history")
        yield Static(id="monitor-reports")
        yield Static(id="monitor-next")
        yield LifecyclePanel()

    def on_mount(self) -> None:
        self.can_advance = True
        self.refresh_state()

    def step_updated(self) -> None:
        self.refresh_state()

    def refresh_state(self) -> None:
        """Show the state now (with the last reading of the reports) and re-read the reports in a thread."""
        self.reload_reports()
        self.show_state()

    def show_reports(self) -> None:
        self.show_state()

    def show_state(self) -> None:
        state = self.wizard.state
        now = self.wizard.clock()
        self.query_one("#monitor-since", Static).update(since_text(state, now))
        self.query_one("#monitor-history", Static).update(history_text(state))
        self.query_one("#monitor-reports", Static).update(self.reports_text())
        self.query_one("#monitor-next", Static).update(next_text(state, now))
        self.step6_render()

    def reports_text(self) -> Text:
        """The report count from the last reading of the store (read in a thread, never here)."""
        out = Text()
        out.append("TLS reports imported: ", "dim")
        reading = self.reports
        if reading is None:
            out.append(LOADING, "dim")
        elif reading.count_problem:
            out.append(shown(reading.count_problem), "red")  # names the store's path
        elif reading.count is None:
            out.append("none yet", "yellow")
        else:
            out.append(str(reading.count), "bold" if reading.count else "yellow")
        return out


def since_text(state: DomainState, now: datetime) -> Text:
    out = Text()
    started = state.mode_history.testing_started_at
    mode = state.mode
    enforced = state.mode_history.enforce_started_at
    if live_mode(state) == "enforce" and enforced is not None:
        out.append("Enforce mode is live", "bold green")
        out.append(f", seen since {enforced:%Y-%m-%d %H:%M UTC}; id {state.policy_id or '-'}.")
        return out
    if started is None:
        out.append("Testing has not started yet: ", "bold yellow")
        out.append("it starts when step 5 sees your testing policy served. Finish steps 1 to 5 first.")
        return out
    days = max(0, (now - started).days)
    out.append("Testing started ", "dim")
    out.append(started.strftime("%Y-%m-%d %H:%M UTC"), "bold")
    out.append(f" ({days} day{'s' if days != 1 else ''} ago).", "dim")
    if mode:
        out.append(f"\nThe saved policy is in {mode} mode, id {state.policy_id or '-'}.")
    return out


def history_text(state: DomainState) -> Text:
    out = Text()
    served = state.mode_history.served
    if not served:
        return out
    out.append("Policies seen served:\n", "bold")
    for entry in served[-5:]:
        until = "now" if entry.current else entry.last_served_at.strftime("%Y-%m-%d")
        out.append(
            f"  {entry.first_served_at.strftime('%Y-%m-%d')} – {until}: mode {entry.mode}, "
            f"max_age {entry.max_age} s, id {entry.policy_id}\n"
        )
    return out


def next_text(state: DomainState, now: datetime) -> Text:
    """What comes next, in the order that cannot break mail delivery (SPEC §5)."""
    out = Text()
    out.append("What comes next\n", "bold")
    started = state.mode_history.testing_started_at
    # "Enforced" only once enforce is live (every address serves it and its id is seen everywhere:
    # wizard.lifecycle.switch records that), not when the saved policy merely says enforce.
    if state.pending_change is not None:
        out.append("  Finish the change in progress below, one phase at a time.\n")
        return out
    if live_mode(state) == "enforce":
        out.append(
            "  The policy is enforced. Keep the certificates of mta-sts and every MX renewed, and re-run the "
            "check (step 5) after any change to MX hosts or the web server.\n"
        )
        return out
    earliest = (started + timedelta(days=MIN_TESTING_DAYS)) if started else None
    when = earliest.strftime("%Y-%m-%d") if earliest else f"{MIN_TESTING_DAYS} days after testing starts"
    out.append(f"  1. Keep testing mode until at least {when}, and read the daily TLS reports.\n")
    out.append("  2. Import them: mta-sts-wizard reports import PATH (files, mbox or Maildir).\n")
    out.append("     See them: mta-sts-wizard reports summary " + state.domain + "\n")
    out.append("  3. Fix every failure the reports show (expired certificate, MX not in the policy, no STARTTLS).\n")
    out.append(
        "  4. Then switch to enforce in this order: publish the new policy file with mode enforce, check that "
        "every address serves it, and only then publish the new TXT id.\n"
    )
    if earliest and now < earliest:
        left = earliest - now
        out.append(f"  {left.days} day{'s' if left.days != 1 else ''} of testing left.", "dim")
    return out
