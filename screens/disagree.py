"""Saved progress and the live world disagree: show both, let the user pick one.

"Use what is live" makes the saved policy, id and rua the live ones (wizard.lifecycle.adopt.use_live);
"Keep mine, I will publish it" keeps the saved values and sets the differing steps waiting. Neither
publishes anything. When keeping the saved values would lower what is live (mode, max_age, mx
patterns), the screen says what that does to senders that cached the live policy. Dismisses with
"live", "mine", or None (Escape: decide later, nothing changes).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from wizard.lifecycle.adopt import PLACEMENT_TEXT, Disagreement
from wizard.text import shown


def _column(title: str, lines: list[str]) -> Text:
    out = Text(title + "\n", "bold")
    out.append("\n".join(shown(line) for line in lines))
    return out


class DisagreeScreen(ModalScreen[str | None]):
    """Saved vs live, side by side, and the two ways out."""

    DEFAULT_CSS = """
    DisagreeScreen { align: center middle; }
    DisagreeScreen #disagree-box { width: 90%; max-width: 120; height: auto; border: thick $warning;
        background: $surface; padding: 1 2; }
    DisagreeScreen #disagree-sides { height: auto; margin: 1 0; }
    DisagreeScreen #disagree-sides Static { width: 1fr; height: auto; }
    DisagreeScreen #disagree-buttons { height: auto; }
    DisagreeScreen Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "later", "Decide later")]

    def __init__(self, found: Disagreement, live: Any) -> None:
        super().__init__()
        self.found = found
        self.live = live

    def compose(self) -> ComposeResult:
        with Vertical(id="disagree-box"):
            yield Static(
                Text(
                    f"Your saved progress and what is live differ ({', '.join(self.found.differs)}). "
                    f"The domain is {PLACEMENT_TEXT.get(self.live.placement, self.live.placement)}.",
                    "bold",
                ),
                id="disagree-title",
            )
            with Horizontal(id="disagree-sides"):
                yield Static(_column("Saved (yours)", self.found.saved_lines()), id="disagree-saved")
                yield Static(_column("Live (published now)", self.found.live_lines()), id="disagree-live")
            lower = self.found.lower_than_live()
            if lower:
                warning = Text("Keeping yours lowers what is live:\n", "bold red")
                warning.append("\n".join(shown(line) for line in lower))
                yield Static(warning, id="disagree-lower")
            yield Static(Text("Nothing is published either way.", "dim"))
            with Horizontal(id="disagree-buttons"):
                yield Button("Use what is live", id="disagree-live-button", variant="primary")
                yield Button("Keep mine, I will publish it", id="disagree-mine-button")

    def on_mount(self) -> None:
        self.query_one("#disagree-live-button", Button).focus()

    @on(Button.Pressed, "#disagree-live-button")
    def _live(self) -> None:
        self.dismiss("live")

    @on(Button.Pressed, "#disagree-mine-button")
    def _mine(self) -> None:
        self.dismiss("mine")

    def action_later(self) -> None:
        self.dismiss(None)
