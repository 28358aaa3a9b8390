"""Step 6's dashboard widgets: the verdict card, the checklist, the daily chart, the failure tables
and the action bar.

They lay out what wizard.lifecycle.dashboard decided; none of them judges anything. Text is
built as `Content` (never markup), with colours from the theme's variables, and every value that
came from a report (MX names, organisations, IPs, result types) passes through `wizard.text.shown`.
Nothing is said by colour alone: ticks are ☑/☐, the verdict is a word, bars have heights.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, DataTable, Static, TabbedContent, TabPane

from wizard.lifecycle.dashboard import (
    BREAKDOWNS,
    ENFORCE_MAX_FAILURE_RATE,
    ActionState,
    BreakdownRow,
    Card,
    ChecklistItem,
    DayPoint,
)
from wizard.text import shown

#: A piece of `Content.assemble`: content, plain text, or (text, style).
Part: TypeAlias = Content | str | tuple[str, str]

_STATUS_MARK = {"ready": "✓", "not-yet": "…", "blocked": "✗"}
_STATUS_VAR = {"ready": "$success", "not-yet": "$warning", "blocked": "$error"}


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "never"


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{seconds} s ({days} day{'s' if days != 1 else ''})"
    return f"{seconds} s"


#: A three-row block font for the verdict words (the word is also written in plain text below it).
_BIG = {
    "A": ("▄▀▄", "█▀█", "▀ ▀"),
    "B": ("█▀▄", "█▀▄", "▀▀ "),
    "C": ("█▀▀", "█  ", "▀▀▀"),
    "D": ("█▀▄", "█ █", "▀▀ "),
    "E": ("█▀▀", "█▀ ", "▀▀▀"),
    "K": ("█▄▀", "█▀▄", "▀ ▀"),
    "L": ("█  ", "█  ", "▀▀▀"),
    "N": ("█▄ █", "█ ▀█", "▀  ▀"),
    "O": ("█▀█", "█ █", "▀▀▀"),
    "R": ("█▀█", "█▀▄", "▀ ▀"),
    "T": ("▀█▀", " █ ", " ▀ "),
    "Y": ("█ █", "▀█▀", " ▀ "),
    " ": ("  ", "  ", "  "),
}


def big_text(word: str) -> str:
    """`word` in the three-row block font; letters it lacks are left out."""
    glyphs = [_BIG[c] for c in word.upper() if c in _BIG]
    return "\n".join(" ".join(g[row] for g in glyphs) for row in range(3))


class VerdictCard(Vertical):
    """Ready / not yet / blocked as a large word on its colour, then the facts that go with it."""

    def compose(self) -> ComposeResult:
        yield Static(id="verdict-word")
        yield Static(id="verdict-facts")

    def show_loading(self, text: str) -> None:
        self.set_class(False, "-ready", "-not-yet", "-blocked")
        self.query_one("#verdict-word", Static).update(Content(text))
        self.query_one("#verdict-facts", Static).update(Content(""))

    def show(self, card: Card) -> None:
        self.set_class(card.status == "ready", "-ready")
        self.set_class(card.status == "not-yet", "-not-yet")
        self.set_class(card.status == "blocked", "-blocked")
        self.query_one("#verdict-word", Static).update(Content(big_text(card.word)))
        so_far = "-" if card.days_so_far is None else str(card.days_so_far)
        facts = [
            ("", f"{_STATUS_MARK.get(card.status, '')} {card.word}: {card.meaning}"),
            ("mode ", f"{card.mode} (served: {card.live_mode})"),
            ("id ", card.policy_id),
            ("max_age ", _age(card.max_age)),
            ("testing ", f"{so_far} day{'' if so_far == '1' else 's'} ({card.days_needed} needed)"),
            ("checked ", _when(card.last_check)),
            ("last report ", str(card.last_report) if card.last_report else "none"),
        ]
        parts: list[Part] = []
        for i, (label, value) in enumerate(facts):
            if i:
                parts.append("\n")
            if label:
                parts.append((label, "$text-muted"))
            parts.append((value, "bold"))
        self.query_one("#verdict-facts", Static).update(Content.assemble(*parts))


class ChecklistView(Static):
    """The conditions toward enforce as ☑/☐ lines, each with its date or count."""

    def show(self, items: Sequence[ChecklistItem]) -> None:
        parts: list[Part] = []
        for i, item in enumerate(items):
            if i:
                parts.append("\n")
            if item.done:
                parts.append(("☑ ", "bold $success"))
            else:
                parts.append(("☐ ", "bold $warning"))
            parts.append((item.label, "bold"))
            parts += _styled("  " + shown(item.detail), "$text-muted")  # may name MX hosts from reports
        self.update(Content.assemble(*parts))


_EIGHTHS = " ▁▂▃▄▅▆▇█"


def _styled(text: str, style: str) -> list[Part]:
    """`text` in `style`, its leading blanks apart and unstyled. On screen it is the same; in an
    SVG screenshot a styled run is one <text> placed at its own column, and some SVG renderers
    (librsvg) drop the leading blanks of a <text>, which drew bars and words left of their
    column. A run of blanks alone is left out of the SVG, so what follows is placed exactly."""
    body = text.lstrip(" ")
    lead = text[: len(text) - len(body)]
    parts: list[Part] = [lead] if lead else []
    if body:
        parts.append((body, style))
    return parts


def _bucket(points: Sequence[DayPoint], width: int) -> tuple[list[list[DayPoint]], int]:
    """Group consecutive days so they fit `width` columns; returns the groups and the bar width."""
    if not points:
        return [], 1
    per = max(1, -(-len(points) // max(1, width)))
    groups = [list(points[i : i + per]) for i in range(0, len(points), per)]
    bar = max(1, min(10, width // len(groups)))
    return groups, bar


def _bars(values: Sequence[float], top: float, height: int, bar: int) -> list[list[str]]:
    """Rows of cells (one per value, `bar` columns wide), top row first, for values scaled to `top`.
    A value of 0 is a blank cell that keeps its place."""
    rows = []
    for level in range(height, 0, -1):
        row = []
        for v in values:
            filled = 0.0 if top <= 0 else v / top * height
            cell = min(8, max(0, round((filled - (level - 1)) * 8)))
            if v > 0 and level == 1 and cell == 0:
                cell = 1  # a failure too small for an eighth still shows
            row.append(_EIGHTHS[cell] * bar)
        rows.append(row)
    return rows


def _runs(cells: Sequence[str], style: str) -> list[Part]:
    """A row of cells as runs: each filled cell its own run in `style`, blank cells between them
    unstyled (see `_styled`). One run per day puts each day's bar at its own column in an SVG
    screenshot even where the viewer sizes block glyphs a little off the cell width."""
    parts: list[Part] = []
    blank = ""
    for cell in cells:
        if not cell.strip():
            blank += cell
            continue
        if blank:
            parts.append(blank)
            blank = ""
        parts.append((cell, style))
    if blank:
        parts.append(blank)
    return parts


#: The rule's label; the explanation follows when the chart leaves room for it.
_THRESHOLD = " enforce threshold"
_THRESHOLD_WHY = ": any failure above the line blocks"
#: The labels' column: "100.00% " / "sessions ".
_AXIS = 9


class DailyChart(Widget):
    """The daily failure rate over the window, with the enforce threshold, and the session volume.

    Drawn from block characters, sized to the widget: one column of `bar` cells per day, the
    failure bars and the session bars on the same columns, the first and last dates under them.
    Days are grouped when there are more than columns (the worst rate and the sum of sessions
    of each group), and a single day gets a wide bar with its figures written next to it. Lines
    never wrap: the height is exactly the lines drawn."""

    DEFAULT_CSS = "DailyChart { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: list[DayPoint] = []
        self.rate_rows = 4
        self.volume_rows = 2
        self.note = ""

    def show(self, points: Sequence[DayPoint], note: str = "") -> None:
        self.points = list(points)
        self.note = note
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return 2 if not self.points else 3 + self.rate_rows + self.volume_rows

    def layout_for(self, width: int) -> tuple[list[list[DayPoint]], int, str]:
        """The day groups, the bar width and the rule's label for a chart `width` columns wide:
        with the explanation after the rule when that still leaves bars 4 columns wide."""
        room = width - _AXIS
        for label in (_THRESHOLD + _THRESHOLD_WHY, _THRESHOLD):
            groups, bar = _bucket(self.points, max(8, room - len(label)))
            if bar >= 4 or label == _THRESHOLD:
                return groups, bar, label
        raise AssertionError("unreachable")

    def day_column(self, index: int) -> int:
        """The first column of the bar of day `index` (of `points`), failure and sessions alike."""
        groups, bar, _ = self.layout_for(self.size.width)
        per = len(groups[0])
        return _AXIS + (index // per) * bar

    def render(self) -> Content:
        title = Content.styled("Daily failure rate and sessions", "bold")
        if not self.points:
            return Content.assemble(title, "\n", (self.note or "no reports in the window yet", "$warning"))
        groups, bar, rule_label = self.layout_for(self.size.width)
        rates = [max((p.rate_pct or 0.0) for p in g) for g in groups]
        sessions = [float(sum(p.sessions for p in g)) for g in groups]
        top_rate = max(rates) or 1.0
        top_sessions = max(sessions) or 1.0
        first, last = self.points[0].day, self.points[-1].day
        per = len(groups[0])
        span = f"{first} to {last}" if first != last else f"{first}"
        grouping = f", {per} days per bar (worst day)" if per > 1 else ""
        peak = max(p.rate_pct or 0.0 for p in self.points)
        out: list[Part] = [title, "  ", (f"{span}{grouping}; peak {peak:.2f}%", "$text-muted"), "\n"]
        for i, row in enumerate(_bars(rates, top_rate, self.rate_rows, bar)):
            label = f"{top_rate:.2f}%" if i == 0 else ("failed" if i == 1 else "")
            out += [*_styled(f"{label:>8} ", "$text-muted"), *_runs(row, "$error"), "\n"]
        cols = len(groups) * bar
        out += [
            *_styled(f"{ENFORCE_MAX_FAILURE_RATE:g}%".rjust(8) + " ", "$text-muted"),
            ("─" * cols, "bold $warning"),
            (rule_label, "$text-muted"),
            "\n",
        ]
        for i, row in enumerate(_bars(sessions, top_sessions, self.volume_rows, bar)):
            label = f"{int(top_sessions)}" if i == 0 else ("sessions" if i == 1 else "")
            out += [*_styled(f"{label:>8} ", "$text-muted"), *_runs(row, "$primary"), "\n"]
        if len(self.points) == 1:
            p = self.points[0]
            rate = "-" if p.rate_pct is None else f"{p.rate_pct:.2f}%"
            out += [" " * _AXIS, (f"{p.day}: {rate} failed, {p.failures} of {p.sessions} sessions", "$text")]
        else:
            gap = max(1, cols - 2 * len(str(first)))
            out += [" " * _AXIS, (str(first), "$text-muted"), " " * gap, (str(last), "$text-muted")]
        return Content.assemble(*out)


class FailureTables(Vertical):
    """Failed sessions by result type, receiving MX, sending organisation and sending IP; sortable
    (s, or a click on a column's header), Enter opens a row's details."""

    class Selected(Message):
        """A row was chosen: `kind` is the breakdown, `key` the value the row stands for."""

        def __init__(self, kind: str, key: str) -> None:
            super().__init__()
            self.kind = kind
            self.key = key

    def __init__(self, rows: dict[str, list[BreakdownRow]] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: dict[str, list[BreakdownRow]] = rows or {}
        #: kind -> row key -> the value the row stands for (the table's own keys are r0, r1, ...).
        self._keys: dict[str, dict[str, str]] = {kind: {} for kind, _ in BREAKDOWNS}
        #: table id -> (column, reversed) of its last sort.
        self._sorted: dict[str, tuple[str, bool]] = {}

    def compose(self) -> ComposeResult:
        with TabbedContent(id="failure-tabs"):
            for kind, title in BREAKDOWNS:
                with TabPane(title, id=f"tab-{kind}"):
                    yield BreakdownTable(kind, title)

    def show(self, rows: dict[str, list[BreakdownRow]]) -> None:
        """New rows for every table (a table whose columns are not set up yet takes them when it
        mounts)."""
        self.rows = rows
        for table in self.query(BreakdownTable):
            if table.columns:
                self.fill(table)

    def fill(self, table: BreakdownTable) -> None:
        kind = table.kind
        table.clear()
        self._sorted.pop(table.id or "", None)
        keys = self._keys[kind] = {}
        data = self.rows.get(kind, [])
        if not data:
            cells: list[object] = [Text("no failures reported", "italic"), "", ""]
            if kind == "ip":
                cells.append("")
            table.add_row(*cells, key="-")
            return
        for i, row in enumerate(data):
            key = f"r{i}"
            keys[key] = row.key
            cells = [Text(shown(row.key))]  # a Text is never read as markup
            if kind == "ip":
                cells.append(Text(shown(row.extra)))
            cells += [row.failures, f"{row.share_pct:5.1f}%"]
            table.add_row(*cells, key=key)

    def sort_by(self, column: str) -> None:
        """Sort the shown table by `column`: failed sessions most first, names A to Z; the same
        column again reverses it."""
        table = self.current_table()
        last = self._sorted.get(table.id or "")
        reverse = column == "failures"
        if last is not None and last[0] == column:
            reverse = not last[1]
        if len(self._keys.get((table.id or "").removeprefix("failures-"), {})) == 0:
            return  # the "no failures" placeholder row: nothing to sort
        table.sort(column, key=_sort_key, reverse=reverse)
        self._sorted[table.id or ""] = (column, reverse)

    def toggle_sort(self) -> str:
        """The `s` key: by name, then by failed sessions, and so on (rows arrive by failed sessions)."""
        table = self.current_table()
        last = self._sorted.get(table.id or "")
        column = "key" if last is None or last[0] == "failures" else "failures"
        self.sort_by(column)
        return {"key": "name", "failures": "failed sessions"}[column]

    def current_table(self) -> DataTable:
        active = self.query_one("#failure-tabs", TabbedContent).active or "tab-result"
        return self.query_one(f"#failures-{active.removeprefix('tab-')}", DataTable)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        kind = (event.data_table.id or "").removeprefix("failures-")
        key = self._keys.get(kind, {}).get(str(event.row_key.value))
        if key is not None:
            self.post_message(self.Selected(kind, key))

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))


class BreakdownTable(DataTable):
    """One failure breakdown; its columns are set up when it mounts, then it takes its rows."""

    def __init__(self, kind: str, title: str) -> None:
        super().__init__(id=f"failures-{kind}", cursor_type="row", zebra_stripes=True)
        self.kind = kind
        self.title = title

    def on_mount(self) -> None:
        self.add_column(self.title, key="key")
        if self.kind == "ip":
            self.add_column("Organisation", key="extra")
        self.add_column("Failed sessions", key="failures")
        self.add_column("Share", key="share")
        owner = next((a for a in self.ancestors if isinstance(a, FailureTables)), None)
        if owner is not None:
            owner.fill(self)


def _sort_key(value: object) -> object:
    """Cells compare by their text (names) or number (counts)."""
    return value.plain.lower() if isinstance(value, Text) else value


class ActionBar(Vertical):
    """The step 6 actions as buttons (each runs the same screen action as its key), and why the
    unavailable ones are unavailable. Built from a list, so another action is one more entry."""

    def __init__(self, actions: Sequence[ActionState] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: action -> its button, in bar order (the first set is composed with the bar: one layout pass).
        self.buttons: dict[str, Button] = self._buttons(actions)
        self._why = _why_content(actions)

    @staticmethod
    def _buttons(actions: Sequence[ActionState]) -> dict[str, Button]:
        """Buttons built as `show` would set them: setting the same label, state and tooltip
        again is then no work (a new label re-lays a button out, disabling one restyles it)."""
        return {
            a.action: Button(
                _button_label(a),
                action=f"screen.step6_{a.action}",
                compact=True,
                classes=f"act-{a.action}",
                disabled=not a.enabled,
                tooltip=a.reason or a.advice or None,
            )
            for a in actions
        }

    def compose(self) -> ComposeResult:
        with Horizontal(id="action-buttons"):
            yield from self.buttons.values()
        yield Static(self._why, id="action-why")

    def show(self, actions: Sequence[ActionState]) -> None:
        self._why = _why_content(actions)
        found = self.query("#action-buttons")
        if not found:  # mounted but not composed yet: it composes these
            self.buttons = self._buttons(actions)
            return
        row = found.first(Horizontal)
        if list(self.buttons) != [a.action for a in actions]:  # another set of actions: new buttons
            row.remove_children()
            self.buttons = self._buttons(actions)
            row.mount_all(self.buttons.values())
        for a in actions:
            button = self.buttons[a.action]
            button.label = _button_label(a)
            button.disabled = not a.enabled
            button.tooltip = a.reason or a.advice or None
        self.query_one("#action-why", Static).update(self._why)


def _button_label(action: ActionState) -> Content:
    """The key in bold, the label, and ✗ when the action is unavailable (not said by dimming alone)."""
    return Content.assemble((f"{action.key} ", "bold"), action.label, (" ✗" if action.reason else "", ""))


def _why_content(actions: Sequence[ActionState]) -> Content:
    """Why each unavailable action is unavailable (✗) and what is advised against (!), on one line."""
    why: list[Part] = []
    for a in actions:
        if a.reason or a.advice:
            if why:
                why += [" ", ("·", "$text-muted"), " "]  # the dot its own run: see `_styled`
            mark = "✗ " if a.reason else "! "
            why += [(mark + a.key, "bold"), *_styled(f" {a.label}: {shown(a.reason or a.advice)}", "$text-muted")]
    return Content.assemble(*why)
