"""The confirmation dialog for risky moves (enforce, a longer max_age, an MX change in enforce,
removal, a downgrade below what is live, forgetting a domain).

It lists what the move does, the verdict's blockers and the open findings; the focused (default)
button is Cancel, so Enter or Escape changes nothing. When the move overrides a "blocked"
verdict, the domain name must be typed before Confirm works. Dismisses with True (confirmed) or
False. Every line is shown as plain text (it may quote DNS answers), never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from wizard.lifecycle.gate import Gate
from wizard.text import shown


class ConfirmScreen(ModalScreen[bool]):
    """Ask before a risky move; Cancel is the default."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen #confirm-box { width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $error; background: $surface; padding: 1 2; }
    ConfirmScreen #confirm-lines { height: auto; max-height: 30; }
    ConfirmScreen #confirm-buttons { height: auto; margin-top: 1; }
    ConfirmScreen Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, lines: Sequence[str], *, confirm_label: str = "Confirm", type_to_confirm: str | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.lines = list(lines)
        self.confirm_label = confirm_label
        self.type_to_confirm = type_to_confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(shown(self.title_text), "bold"), id="confirm-title")
            with VerticalScroll(id="confirm-lines"):
                yield Static(Text("\n".join(shown(line) for line in self.lines)), id="confirm-text")
            if self.type_to_confirm is not None:
                yield Static(
                    Text(
                        f"The verdict is Blocked. To do it anyway, type the domain name ({self.type_to_confirm}):",
                        "bold red",
                    ),
                    id="confirm-type-label",
                )
                yield Input(placeholder=self.type_to_confirm, id="confirm-typed")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="confirm-cancel", variant="primary")
                yield Button(
                    self.confirm_label, id="confirm-ok", variant="error", disabled=self.type_to_confirm is not None
                )

    def on_mount(self) -> None:
        self.query_one("#confirm-cancel", Button).focus()

    @on(Input.Changed, "#confirm-typed")
    def _typed(self, event: Input.Changed) -> None:
        want = (self.type_to_confirm or "").lower()
        self.query_one("#confirm-ok", Button).disabled = event.value.strip().lower().rstrip(".") != want

    @on(Button.Pressed, "#confirm-ok")
    def _ok(self) -> None:
        if not self.query_one("#confirm-ok", Button).disabled:
            self.dismiss(True)

    @on(Button.Pressed, "#confirm-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)


def gate_dialog(gate: Gate) -> ConfirmScreen:
    """The dialog for one risky move of step 6."""
    return ConfirmScreen(
        gate.title + "?",
        gate.lines(),
        confirm_label="Override and " + gate.title.lower() if gate.blocked else gate.title,
        type_to_confirm=gate.domain if gate.needs_typing else None,
    )
