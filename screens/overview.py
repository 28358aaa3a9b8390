"""The overview: six steps with their status, the policy's mode/id/max_age, the MX hosts.

Any step can be opened (Enter on its row); `n` opens the suggested one, the first step
not yet verified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from screens.base import status_style
from screens.footer import KeyBar
from screens.messages import StepUpdated
from screens.widgets import mx_text
from wizard.state import STEP_NAMES, first_unverified_step
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

    def _title(self) -> Text:
        domain = self.wizard.domain.display() if self.wizard.domain else ""
        return Text(f"Overview · {domain}", style="bold")

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
        table.add_column("Detail", key="detail", width=detail_width)
        for step, name in STEP_NAMES.items():
            table.add_row(str(step), name, "", "", key=str(step), height=None)
        self._detail_width = detail_width

    def _fit_detail(self) -> None:
        """Give the Detail column the rest of the table's width (a column sized by its first,
        empty value showed 'testin' at 100 columns); rebuilt only when the width changes."""
        table = self.query_one("#steps-table", DataTable)
        available = table.scrollable_content_region.width
        if available <= 0:
            return
        fixed = _STEP_WIDTH + _WHAT_WIDTH + _STATUS_WIDTH + 4 * 2 * table.cell_padding
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
        for step in STEP_NAMES:
            record = state.steps[step]
            status = Text(STATUS_WORDS[record.status], style=status_style(record.status))
            detail = record.detail
            if step == suggested:
                detail = f"→ next. {detail}" if detail else "→ next"
            table.update_cell(str(step), "status", status)
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
_WHAT_WIDTH = 19  # "monitor and enforce"
_STATUS_WIDTH = 15  # "waiting for you"
_MIN_DETAIL = 12


def _days(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day" + ("s" if days != 1 else "")
    return f"{seconds / 86400:.1f} days"
