"""The overview: six steps with their status, the policy's mode/id/max_age, the MX hosts.

Any step can be opened (Enter on its row); `n` opens the suggested one, the first step
not yet verified.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Static

from screens.base import live_content
from screens.footer import KeyBar
from screens.messages import StepUpdated
from screens.widgets import mx_text
from wizard.lifecycle.step_state import step_state
from wizard.state import STEP_NAMES, DomainState, first_unverified_step
from wizard.text import shown

if TYPE_CHECKING:
    from screens.app import WizardApp

STATUS_WORDS = {
    "not-started": "not started",
    "waiting": "waiting for you",
    "verified": "verified",
    "warning": "warning",
    "failed": "failed",
}
#: The badge of each saved status: a mark and a word on the theme's colour (readable without colour).
BADGES = {
    "not-started": ("○ not started", "$text-muted"),
    "waiting": ("… waiting", "bold $accent"),
    "verified": ("✓ verified", "bold $success"),
    "warning": ("! warning", "bold $warning"),
    "failed": ("✗ failing", "bold $error"),
}
STEP6_BADGES = {
    "verified": ("✓ enforced", "bold $success"),
    "waiting": ("… monitoring", "bold $accent"),
    "failing": ("✗ failing", "bold $error"),
    "not started": ("○ not started", "$text-muted"),
}


class OverviewScreen(Screen):
    """All six steps at a glance."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "suggested", "Suggested step"),
        Binding("escape", "start", "Domains"),
    ]

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="step-header")
        if self.wizard.read_only_reason:
            yield Static(Text(f"Read-only: {self.wizard.read_only_reason}"), id="read-only-banner")
        with VerticalScroll(id="step-body"):
            yield DataTable(id="steps-table", cursor_type="row", zebra_stripes=False)
            yield Static(id="overview-summary")
            yield Static(id="overview-mx")
            yield Static(id="overview-regressions")
        yield KeyBar()

    def _title(self) -> Content:
        domain = self.wizard.domain.display() if self.wizard.domain else ""
        title = Content.styled(f"Overview · {domain}", "bold")
        if self.wizard.session is None:
            return title
        return Content.assemble(title, " · ", live_content(self.wizard.state))

    def on_mount(self) -> None:
        table = self.query_one("#steps-table", DataTable)
        self._build_table(table, _MIN_DETAIL)
        self.refresh_all()
        table.focus()
        self.call_after_refresh(self._fit_detail)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_detail)

    def _build_table(self, table: DataTable, detail_width: int) -> None:
        table.add_column("Step", key="step", width=_STEP_WIDTH)
        table.add_column("What", key="what", width=_WHAT_WIDTH)
        table.add_column("Status", key="status", width=_STATUS_WIDTH)
        table.add_column("When", key="checked", width=_CHECKED_WIDTH)
        table.add_column("Detail", key="detail", width=detail_width)
        for step, name in _SHORT_NAMES.items():
            table.add_row(str(step), name, "", "", "", key=str(step), height=None)
        self._detail_width = detail_width

    def _fit_detail(self) -> None:
        """Give the Detail column the rest of the table's width (a column sized by its first,
        empty value showed 'testin' at 100 columns); rebuilt only when the width changes."""
        table = self.query_one("#steps-table", DataTable)
        available = table.scrollable_content_region.width
        if available <= 0:
            return
        fixed = _STEP_WIDTH + _WHAT_WIDTH + _STATUS_WIDTH + _CHECKED_WIDTH + 5 * 2 * table.cell_padding
        width = max(_MIN_DETAIL, available - fixed - 1)
        if width == self._detail_width:
            return
        row = table.cursor_row
        table.clear(columns=True)
        self._build_table(table, width)
        self.refresh_all()
        table.move_cursor(row=row)

    def on_screen_resume(self) -> None:
        self.refresh_all()

    @on(StepUpdated)
    def _updated(self, _message: StepUpdated) -> None:
        self.refresh_all()

    def refresh_all(self) -> None:
        if self.wizard.session is None:
            return
        state = self.wizard.state
        suggested = first_unverified_step(state)
        table = self.query_one("#steps-table", DataTable)
        self.query_one("#step-header", Static).update(self._title())
        for step in STEP_NAMES:
            record = state.steps[step]
            table.update_cell(str(step), "status", badge(state, step))
            checked = record.checked_at
            if step == 6 and checked is None and state.last_check is not None:
                checked = state.last_check.checked_at  # step 6 is judged from the last full check
            table.update_cell(str(step), "checked", Text(_checked(checked, self.wizard.clock())))
            detail = record.detail
            if step == 6 and not detail:
                detail = step6_detail(state)
            if step == suggested:
                detail = f"→ next. {detail}" if detail else "→ next"
            table.update_cell(str(step), "detail", Text(shown(detail)))
        policy = state.policy
        summary = Text()
        if policy is None:
            summary.append("No policy yet: step 1 makes one.", "dim")
        else:
            summary.append("Mode ", "dim")
            summary.append(policy.mode, "bold")
            summary.append("  ·  id ", "dim")
            summary.append(state.policy_id or "-", "bold")
            summary.append("  ·  max_age ", "dim")
            summary.append(f"{policy.max_age} s ({_days(policy.max_age)})", "bold")
        summary.append(f"\nSuggested next: step {suggested}, {STEP_NAMES[suggested]} (press n).")
        self.query_one("#overview-summary", Static).update(summary)
        self.query_one("#overview-mx", Static).update(mx_text(self.wizard))
        lines = self.wizard.regression_lines
        regress = Text()
        if lines:
            regress.append("Regressed since your last visit:\n", "bold yellow")
            regress.append("\n".join(f"  - {shown(line)}" for line in lines))
        self.query_one("#overview-regressions", Static).update(regress)

    @on(DataTable.RowSelected, "#steps-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.wizard.goto_step(int(event.row_key.value or "1"))

    def action_suggested(self) -> None:
        if self.wizard.session is not None:
            self.wizard.goto_step(first_unverified_step(self.wizard.state))

    def action_start(self) -> None:
        self.wizard.show_start()


_STEP_WIDTH = 4
_WHAT_WIDTH = 17  # "monitor & enforce"
#: Step names as the table shows them (the longest shortened so the Detail column keeps its room).
_SHORT_NAMES = {**STEP_NAMES, 6: "monitor & enforce"}
_STATUS_WIDTH = 13  # "○ not started"
_CHECKED_WIDTH = 5  # "09:30" today, "11-27" before
_MIN_DETAIL = 12


def badge(state: DomainState, step: int) -> Content:
    """The step's status as a badge; step 6's from the live mode (it has no saved status until removal)."""
    if step == 6:
        word, style = STEP6_BADGES[step_state(state, 6)]
    else:
        word, style = BADGES.get(state.steps[step].status, (state.steps[step].status, ""))
    return Content.styled(word, style)


def step6_detail(state: DomainState) -> str:
    started = state.mode_history.testing_started_at
    if state.pending_change is not None:
        return f"change in progress: {state.pending_change.kind}"
    if state.mode == "enforce":
        return "enforced"
    if started is not None:
        return f"testing since {started:%Y-%m-%d}"
    return ""


def _checked(moment: datetime | None, now: datetime) -> str:
    """When the step was last checked: the time today (UTC), the day before, "-" never."""
    if moment is None:
        return "-"
    return f"{moment:%H:%M}" if moment.date() == now.date() else f"{moment:%m-%d}"


def _days(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day" + ("s" if days != 1 else "")
    return f"{seconds / 86400:.1f} days"
