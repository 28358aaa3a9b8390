"""Step 5: every check at once, as a checklist table (errors first); Enter opens a row's finding with
its fix and a copy action for each record the fix names; `r` re-runs.

The rows are the engine's findings plus the checks that passed without one; nothing here judges
anything. Every message, subject and address may hold received text (DNS names, server replies),
so each goes through `wizard.text.shown` and into a `Text`/`Content`, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from screens.base import StepScreen
from screens.checks import Attempt
from screens.widgets import CopyableValue, format_clock
from wizard.findings import Finding
from wizard.fix_records import records_in_fix
from wizard.text import shown

_ORDER = {"error": 0, "warning": 1, "info": 2, "ok": 3}
_RESULT = {"error": "✗ error", "warning": "! warning", "info": "i info", "ok": "✓ ok"}
_RESULT_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "cyan", "ok": "green"}


@dataclass(frozen=True)
class CheckRow:
    """One row of the checklist: a finding, or a check that passed (finding None)."""

    step: int
    what: str
    where: str
    result: str
    time: str
    finding: Finding | None = None


def check_rows(attempt: Attempt) -> list[CheckRow]:
    """The findings and the passing checks of one full check, errors first, then by step."""
    at = format_clock(attempt.at)
    rows = [CheckRow(f.step, f.code, f.address or f.subject or "-", f.severity, at, f) for f in attempt.findings]
    rows += [CheckRow(step, cid, "-", "ok", at) for cid, step, status, _ms in attempt.checks if status == "pass"]
    return sorted(rows, key=lambda r: (_ORDER.get(r.result, 9), r.step))


def summary_content(attempt: Attempt, running: bool) -> Content:
    counts = {level: sum(1 for f in attempt.findings if f.severity == level) for level in ("error", "warning", "info")}
    passed = sum(1 for c in attempt.checks if c[2] == "pass")
    parts: list[Content | str | tuple[str, str]] = [(f"Checked at {format_clock(attempt.at)}: ", "$text-muted")]
    style = {"verified": "bold $success", "warning": "bold $warning"}.get(attempt.status, "bold $error")
    parts += [(attempt.headline, style), "\n"]
    words = [
        (f"✗ {counts['error']} error(s)", "bold $error" if counts["error"] else "$text-muted"),
        (f"! {counts['warning']} warning(s)", "bold $warning" if counts["warning"] else "$text-muted"),
        (f"i {counts['info']} info", "$text-muted"),
        (f"✓ {passed} check(s) passed", "$success" if passed else "$text-muted"),
    ]
    for i, word in enumerate(words):
        if i:
            parts.append("  ·  ")
        parts.append(word)
    if running:
        parts.append(("  (checking again…)", "$text-muted"))
    errors = list(dict.fromkeys(f.code for f in attempt.findings if f.severity == "error"))
    if errors:
        parts += ["\n", ("to fix first: ", "bold"), ", ".join(errors), (" (Enter on a row: the fix)", "$text-muted")]
    return Content.assemble(*parts)


class VerifyStep(StepScreen):
    """The full check (the same one `mta-sts-wizard check` runs)."""

    STEP = 5
    TITLE_TEXT = "Verify everything"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "rerun", "Re-run check")]

    def compose_body(self) -> ComposeResult:
        yield Static(id="check-status")
        yield DataTable(id="check-table", cursor_type="row", zebra_stripes=True)
        yield Vertical(id="check-detail")

    def on_mount(self) -> None:
        self._rows: list[CheckRow] = []
        self._shown: Attempt | None = None
        self._what_width = 0
        self._columns(_MIN_WHAT)
        self.show_latest()
        self.call_after_refresh(self._fit)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _columns(self, what_width: int) -> None:
        table = self.query_one("#check-table", DataTable)
        table.clear(columns=True)
        table.add_column("Step", key="step", width=4)
        table.add_column("What", key="what", width=what_width)
        table.add_column("Address", key="where", width=_WHERE_WIDTH)
        table.add_column("Result", key="result", width=9)
        table.add_column("Time", key="time", width=8)
        self._what_width = what_width

    def _fit(self) -> None:
        """The What column (the check and its message, wrapped) takes the rest of the table's width."""
        table = self.query_one("#check-table", DataTable)
        available = table.scrollable_content_region.width or self.size.width - 4
        width = max(_MIN_WHAT, available - (4 + _WHERE_WIDTH + 9 + 8) - 5 * 2 * table.cell_padding - 1)
        if width == self._what_width:
            return
        self._columns(width)
        self._fill(table)
        self._check_if_never_checked()

    def resumed(self) -> None:
        """Shown again: the latest result, and the first check if none ran yet (as on the first visit)."""
        self.show_latest()
        self._check_if_never_checked()

    def _check_if_never_checked(self) -> None:
        if not self.wizard.attempts.get(5) and not self.wizard.offline and not self.wizard.full_check_running():
            self.action_rerun()

    def action_rerun(self) -> None:
        self.wizard.run_check(5)
        self.show_latest()

    def step_updated(self) -> None:
        self.show_latest()

    def show_latest(self) -> None:
        attempts = self.wizard.attempts.get(5, [])
        running = self.wizard.full_check_running()
        status = self.query_one("#check-status", Static)
        table = self.query_one("#check-table", DataTable)
        if not attempts:
            status.update(
                Content("Checking every step now…" if running else "Not checked yet: press r to run every check.")
            )
            table.display = False
            return
        latest = attempts[-1]
        status.update(summary_content(latest, running))
        table.display = True
        if latest is self._shown:
            return
        self._shown = latest
        self._rows = check_rows(latest)
        self._fill(table)
        self.query_one("#check-detail", Vertical).remove_children()

    def _fill(self, table: DataTable) -> None:
        """One row per check: its code and (wrapped, under it) what it found; received text escaped."""
        table.clear()
        for i, row in enumerate(self._rows):
            what = Text(shown(row.what), "bold")
            if row.finding is not None:
                what.append("\n" + shown(row.finding.message), "")
            table.add_row(
                str(row.step),
                what,
                Text(shown(row.where)),
                Text(_RESULT.get(row.result, row.result), _RESULT_STYLE.get(row.result, "")),
                row.time,
                key=str(i),
                height=None,
            )

    @on(DataTable.RowSelected, "#check-table")
    def _expand(self, event: DataTable.RowSelected) -> None:
        row = self._rows[int(event.row_key.value or 0)]
        box = self.query_one("#check-detail", Vertical)
        box.remove_children()
        box.mount_all(self.detail_widgets(row))

    def detail_widgets(self, row: CheckRow) -> list[Static]:
        """The finding in full, its fix, and one copyable value per record the fix names."""
        f = row.finding
        if f is None:
            return [
                Static(Content.assemble((f"{row.what}", "bold"), f": passed at {row.time}"), classes="check-finding")
            ]
        parts: list[Content | str | tuple[str, str]] = [
            (_RESULT.get(f.severity, f.severity) + " ", _RESULT_STYLE_VAR.get(f.severity, "")),
            (f.code, "bold"),
            f" (step {f.step})",
            "\n",
            shown(f.message),
        ]
        if f.subject or f.address:
            parts += ["\n", ("where: ", "$text-muted"), shown(" ".join(x for x in (f.subject, f.address or "") if x))]
        if f.fix:
            parts += ["\n", ("fix: ", "bold"), shown(f.fix)]
        widgets: list[Static] = [Static(Content.assemble(*parts), classes="check-finding")]
        state = self.wizard.state
        for i, value in enumerate(records_in_fix(f.fix, policy_id=state.policy_id, rua=state.rua)):
            widgets.append(CopyableValue(f"Record the fix names ({i + 1})", value, f"{f.code}-record.txt"))
        return widgets


_MIN_WHAT = 24
_WHERE_WIDTH = 16

_RESULT_STYLE_VAR = {"error": "bold $error", "warning": "bold $warning", "info": "$accent"}
