"""Widgets the step screens share: a copyable value, a findings list, a poll panel, a save dialog.

They render what the App and wizard/ computed; none of them decides anything about MTA-STS.
Generated text is always shown through `rich.text.Text` (never markup), so a record value
containing `[` cannot be mistaken for styling.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from screens.clipboard import SaveError, copy_text, save_text
from wizard.findings import Finding
from wizard.text import shown

if TYPE_CHECKING:
    from screens.app import PollState, WizardApp

SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "cyan"}
SEVERITY_MARK = {"error": "✗", "warning": "!", "info": "i"}


class SaveDialog(ModalScreen[Path | None]):
    """Ask for a file name and write the value there (the fallback when no clipboard works)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, text: str, suggested: str) -> None:
        super().__init__()
        self.text = text
        self.suggested = suggested

    def compose(self) -> ComposeResult:
        with Vertical(id="save-dialog", classes="dialog"):
            yield Label("Save to file (Enter to write, Escape to cancel):")
            yield Input(self.suggested, id="save-path")
            yield Static("", id="save-error", classes="error-line")

    @on(Input.Submitted, "#save-path")
    def _write(self, event: Input.Submitted) -> None:
        try:
            path = save_text(Path(event.value.strip() or self.suggested), self.text)
        except SaveError as exc:
            self.query_one("#save-error", Static).update(Text(str(exc)))
            return
        self.dismiss(path)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class CopyableValue(Static, can_focus=True):
    """One generated value shown in full, titled in its border, with Copy and Save links under it
    (keys c and s when focused; the links are clickable).

    One widget, not a box of a label, the value and two Buttons: every step shows one to four of
    these, and six widgets each (with the Button stylesheet to parse on the first one) were a good
    part of the cost of painting step 1 for the first time."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("c", "copy", "Copy"), Binding("s", "save", "Save to file")]

    def __init__(self, title: str, value: str, filename: str, *, id: str | None = None) -> None:
        super().__init__(_copyable_content(value), id=id, classes="copyable")
        self.title = title
        self.value = value
        self.filename = filename
        self.border_title = Content(title)

    def set_value(self, value: str) -> None:
        """Show a new value (e.g. the policy preview after an edit)."""
        if value != self.value:
            self.value = value
            self.update(_copyable_content(value))

    def action_copy(self) -> None:
        how = copy_text(self.app, self.value)
        self.app.notify(f"{self.title}: {how}", markup=False, title="Copy")

    def action_save(self) -> None:
        def done(path: Path | None) -> None:
            if path is not None:
                self.app.notify(f"{self.title} saved to {shown(str(path.resolve()))}", markup=False, title="Saved")

        self.app.push_screen(SaveDialog(self.value, self.filename), done)


#: The action line under every copyable value: links that run the widget's own actions.
_COPY_ACTIONS = Content.from_markup("[@click=copy] Copy (c) [/]  [@click=save] Save… (s) [/]")


def _copyable_content(value: str) -> Content:
    """The value as plain text (never markup: a record may contain `[`), then the action line."""
    return Content.assemble(Content(value), "\n", _COPY_ACTIONS)


def render_findings(findings: Sequence[Finding], *, empty: str = "No problems found.") -> Text:
    """Findings as coloured lines: mark, code, message, then the fix indented."""
    if not findings:
        return Text(empty, style="green")
    out = Text()
    for i, item in enumerate(findings):
        if i:
            out.append("\n")
        out.append(f"{SEVERITY_MARK.get(item.severity, '?')} {item.severity} ", SEVERITY_STYLE.get(item.severity, ""))
        out.append(shown(item.code), "bold")
        where = f" [{shown(item.address)}]" if item.address else ""
        out.append(f"{where}: {shown(item.message)}")  # messages quote what peers sent
        if item.fix:
            out.append("\n    fix: ", "dim")
            out.append(shown(item.fix))
    return out


def mx_text(app: WizardApp) -> Text:
    """The domain's MX hosts as DNS gave them, or why they are not known (step 1 and the overview;
    kept here so step 1's first paint does not import the overview and its DataTable)."""
    out = Text()
    out.append("MX hosts in DNS: ", "dim")
    if app.mx_hosts is None:
        out.append("not looked up yet" if app.offline else "looking up…")
    elif app.mx_hosts:
        out.append(shown(", ".join(app.mx_hosts)), "bold")
    elif any(f.code == "dns-lookup-failed" for f in app.mx_findings):
        # SERVFAIL or a timeout says nothing about the MX records: not "none".
        out.append("lookup failed (the MX records are unknown; see below)", "red")
    else:
        out.append("none found", "yellow")
    if app.mx_findings:
        out.append("\n")
        out.append_text(render_findings(app.mx_findings))
    return out


class FindingsList(Static):
    """A list of findings with their fixes."""

    def __init__(self, findings: Sequence[Finding] = (), *, empty: str = "No problems found.", id: str | None = None):
        super().__init__(render_findings(findings, empty=empty), id=id, classes="findings")
        self.empty = empty

    def show(self, findings: Sequence[Finding]) -> None:
        self.update(render_findings(findings, empty=self.empty))


def format_clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


class PollPanel(Static):
    """The live-verification state of one step: countdown, and what each attempt found.

    The App owns the poll (it must survive navigation); this widget only reads it once a
    second, so a slow check never blocks the countdown and keys keep working.
    """

    def __init__(self, step: int, *, id: str | None = None) -> None:
        super().__init__("", id=id, classes="poll")
        self.step = step

    def on_mount(self) -> None:
        self.refresh_poll()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """The countdown, while this panel's screen is shown (a kept, hidden step screen is
        re-rendered when it comes back, so it need not repaint every second meanwhile)."""
        if self.screen.is_current:
            self.refresh_poll()

    def refresh_poll(self) -> None:
        poll: PollState | None = getattr(self.app, "polls", {}).get(self.step)
        attempts = getattr(self.app, "attempts", {}).get(self.step, [])
        clock = getattr(self.app, "clock_monotonic", time.monotonic)
        self.update(render_poll(poll, attempts, clock()))


def render_poll(poll: PollState | None, attempts: Iterable, now_monotonic: float) -> Text:
    """Countdown line plus the last attempts, newest first."""
    out = Text()
    if poll is None or not poll.active:
        out.append("Live check: off. Press p once you have published, to check every few seconds.", "dim")
    elif poll.running:
        out.append(f"Checking now (attempt {poll.count})…", "bold")
    else:
        left = max(0, round(poll.next_at - now_monotonic))
        out.append(f"Not seen yet. Next check in {left} s ", "bold yellow")
        out.append("(x to stop).", "dim")
    recent = list(attempts)[-4:]
    for attempt in reversed(recent):
        out.append("\n")
        out.append(f"{format_clock(attempt.at)} ", "dim")
        style = "green" if attempt.status == "verified" else SEVERITY_STYLE.get(attempt.worst, "")
        out.append(shown(attempt.headline), style)
        for line in attempt.lines:
            out.append(f"\n    {shown(line)}")
    return out
