"""Step 6: monitor in testing mode, then enforce, laid out as a dashboard.

The verdict card and the checklist toward enforce at the top, the actions under them, then
what the last action said, the records to publish (copy / save), the daily chart and the
failure tables. At 80 columns the card and the checklist stack; from 120 they sit side by side
and the chart grows. Everything shown is decided in wizard.lifecycle.dashboard from the saved
state and the last reading of the report store (read in a thread by step6_lifecycle.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from screens.messages import StepUpdated
from screens.step6_dashboard import ActionBar, ChecklistView, DailyChart, FailureTables, VerdictCard
from screens.step6_lifecycle import LOADING, LifecycleStepScreen
from screens.widgets import CopyableValue
from wizard.lifecycle import dashboard
from wizard.lifecycle.hooks import Saved, step6_lines
from wizard.lifecycle.readiness import Verdict
from wizard.state import DomainState
from wizard.text import shown


class MonitorStep(LifecycleStepScreen):
    """Monitor and enforce."""

    STEP = 6
    TITLE_TEXT = "Monitor, then enforce"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012 (typed by Textual without ClassVar)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort_failures", "Sort table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # The breakpoint class for the App's width now, so the first frame is laid out with it:
        # Textual sets it on the screen's first Resize, after that frame, which restyled the
        # whole screen and laid it out again. Later resizes keep it right (same breakpoints).
        self.add_class("-wide" if self.app.size.width >= 120 else "-narrow")

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="dash-top"):
            yield VerdictCard(id="verdict-card")
            with Vertical(id="dash-side"):
                yield Static(Content.styled("Toward enforce", "bold"), id="checklist-title")
                yield ChecklistView(id="checklist")
                yield Static(id="report-counts")
        yield Static(id="step6-result")
        yield Static(id="verdict-reasons")
        yield Vertical(id="step6-records")
        yield DailyChart(id="daily-chart")
        yield Static(Content.styled("Failures (Enter: details · s: sort)", "bold"), id="failures-title")
        yield Static(id="monitor-history")

    def on_mount(self) -> None:
        self.can_advance = True
        self._shown_reading: object = None
        self._records: list[dashboard.Record] = []
        self._breakdowns: dict[str, list[dashboard.BreakdownRow]] = {}
        self.reload_reports(after_refresh=True)
        self.step6_render()
        # Mounted after the first frame, which they would otherwise delay by tens of milliseconds:
        # the tables (a TabbedContent of four DataTables, the costliest widgets here, below the
        # fold at 80x24) and the action bar (seven buttons: each restyled with the body as it
        # mounts, gets focus and is shown, and Button's CSS parsed on its first use). The first
        # frame says "loading reports…" either way; the bar comes with the next one. Both go
        # straight into the body: a Vertical box around the tables would be 1fr high, get only
        # what the rest leaves (3 rows at 160x50) and cut the table below its header.
        self.call_after_refresh(self._mount_after_first_frame)

    def _mount_after_first_frame(self) -> None:
        body = self.query_one("#step-body", VerticalScroll)
        body.mount(ActionBar(self.step6_actions(), id="action-bar"), after="#dash-top")
        body.mount(FailureTables(self._breakdowns, id="failure-tables"), after="#failures-title")

    def on_resize(self) -> None:
        chart = self.query_one(DailyChart)
        wide = self.size.width >= 120
        chart.rate_rows, chart.volume_rows = (8, 3) if wide and self.size.height >= 40 else (4, 2)
        chart.refresh(layout=True)

    def step_updated(self) -> None:
        self.check_finished()
        self.refresh_state()

    @on(StepUpdated)
    def _full_check_updated(self, message: StepUpdated) -> None:
        """The full check is step 5's: when it ends, step 6's "running" line and verdict follow."""
        if message.step == 5:
            self.step_updated()

    def refresh_state(self) -> None:
        """Show the state now (with the last reading of the reports) and re-read the reports in a thread."""
        self.reload_reports()
        self.step6_render()

    def step6_render(self) -> None:
        app = self.wizard
        state = app.state
        now = app.clock()
        reading = self.reports
        self.query_one("#monitor-history", Static).update(history_content(state))
        self._show_records(dashboard.records(state))
        result = self.query_one("#step6-result", Static)
        result.update(Content("\n".join(shown(line) for line in self.step6_result)))
        result.display = bool(self.step6_result)
        judged = self.current_verdict()
        card = self.query_one(VerdictCard)
        if judged is None or reading is None:
            self.verdict = None
            card.show_loading("Readiness for enforce: " + LOADING)
            self.query_one(ChecklistView).update(Content.styled(LOADING, "$text-muted"))
            self.query_one("#report-counts", Static).update(Content.styled("TLS reports: " + LOADING, "$text-muted"))
            self.query_one("#verdict-reasons", Static).update("")
            self.query_one(DailyChart).show([], LOADING)
            self._show_actions()
            return
        saved, verdict = judged
        if self.verdict is None or self.verdict.status != verdict.status:
            self.verdict = verdict
            self.refresh_header()
        self.verdict = verdict
        evidence = reading.evidence
        card.show(dashboard.card(state, verdict, evidence))
        self.query_one(ChecklistView).show(dashboard.checklist(state, verdict, evidence, now))
        counts = reading.count_problem or dashboard.count_line(reading.count, evidence)
        self.query_one("#report-counts", Static).update(Content.assemble(("TLS reports: ", "$text-muted"), counts))
        self.query_one("#verdict-reasons", Static).update(reasons_content(saved, verdict, now, app.mx_hosts))
        self._show_actions()
        if reading is not self._shown_reading:  # the chart and tables change only with a new reading
            self._shown_reading = reading
            self.query_one(DailyChart).show(dashboard.chart_points(evidence))
            self._breakdowns = {kind: dashboard.breakdown(evidence, kind) for kind, _ in dashboard.BREAKDOWNS}
            for tables in self.query(FailureTables):  # none yet on the first frame: it shows them when mounted
                tables.show(self._breakdowns)

    def _show_actions(self) -> None:
        for bar in self.query(ActionBar):  # none yet on the first frame: it is built with them when mounted
            bar.show(self.step6_actions())

    def _show_records(self, records: list[dashboard.Record]) -> None:
        """The records and files to publish, each copyable and savable; rebuilt only when they change."""
        if records == self._records:
            return
        self._records = records
        box = self.query_one("#step6-records", Vertical)
        box.remove_children()
        box.mount_all(CopyableValue(r.title, r.value, r.filename) for r in records)
        box.display = bool(records)

    @on(FailureTables.Selected)
    def _failure_selected(self, message: FailureTables.Selected) -> None:
        self.show_failure_details(message.kind, message.key)

    def action_sort_failures(self) -> None:
        """Sort the shown failure table: by failed sessions (most first), again by name."""
        found = self.query(FailureTables)
        if not found:
            return
        column = found.first().toggle_sort()
        self.notify(f"sorted by {column}", markup=False, title="Failures")


def reasons_content(saved: Saved, verdict: Verdict, now: datetime, mx_hosts: Sequence[str] | None) -> Content:
    """What blocks or is missing, each with its fix, then where a change or removal stands."""
    parts: list[Content | str | tuple[str, str]] = []
    for group in verdict.failures:
        if parts:
            parts.append("\n")
        parts += [("✗ ", "bold $error"), (shown(group.render()), "")]
    for item in verdict.missing:
        if parts:
            parts.append("\n")
        parts += [("☐ missing: ", "bold $warning"), shown(item)]
    rest = step6_lines(saved, verdict, now, mx_hosts=mx_hosts)[len(verdict.lines()) :]
    for line in rest:
        if parts:
            parts.append("\n")
        parts.append(shown(line))
    return Content.assemble(*parts)


def history_content(state: DomainState) -> Content:
    served = state.mode_history.served
    if not served:
        return Content("")
    parts: list[Content | str | tuple[str, str]] = [("Policies seen served", "bold")]
    for entry in served[-5:]:
        until = "now" if entry.current else entry.last_served_at.strftime("%Y-%m-%d")
        parts.append(
            f"\n  {entry.first_served_at:%Y-%m-%d} – {until}: mode {entry.mode}, "
            f"max_age {entry.max_age} s, id {entry.policy_id}"
        )
    return Content.assemble(*parts)
