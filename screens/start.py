"""The start screen: saved domains to resume, and a prompt for a new one.

The prompt is validated as the user types by wizard.domain.normalise_domain, whose
one-line error says what to type instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from wizard.domain import DomainError, normalise_domain

if TYPE_CHECKING:
    from screens.app import WizardApp


class StartScreen(Screen):
    """Pick a saved domain or type a new one."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "focus_prompt", "Type a domain", show=False)]

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="start-box"):
            yield Static(Text("MTA-STS wizard", style="bold"), id="start-title")
            yield Static(
                Text(
                    "Protect mail sent to your domain from TLS downgrade: set up MTA-STS (RFC 8461) and "
                    "TLS reporting (RFC 8460), step by step, checking each step live."
                ),
                id="start-intro",
            )
            summaries = self._saved()
            if summaries:
                yield Label("Resume a saved domain (Enter):")
                yield OptionList(*summaries, id="saved-domains")
            yield Label("Domain to set up:")
            yield Input(placeholder="example.com", id="domain-input")
            yield Static("", id="domain-feedback")
        yield Footer()

    def _saved(self) -> list[Option]:
        try:
            summaries = self.wizard.store.list_domains()
        except OSError:
            return []
        options = []
        for s in summaries:
            name = s.unicode_name if s.unicode_name == s.domain else f"{s.unicode_name} ({s.domain})"
            line = f"{name}  ·  step {s.step_reached}: {s.step_name}  ·  mode {s.mode or '-'}"
            if s.newer:
                line += "  ·  saved by a newer version (read-only)"
            options.append(Option(Text(line), id=s.domain))
        return options

    def on_mount(self) -> None:
        self.query_one("#domain-input", Input).focus()

    def on_screen_resume(self) -> None:
        self.query_one("#domain-input", Input).focus()

    @on(Input.Changed, "#domain-input")
    def _typed(self, event: Input.Changed) -> None:
        feedback = self.query_one("#domain-feedback", Static)
        if not event.value.strip():
            feedback.update("")
            return
        try:
            domain = normalise_domain(event.value)
        except DomainError as exc:
            feedback.update(Text(f"✗ {exc}", style="red"))
            return
        feedback.update(Text(f"✓ {domain.display()}: press Enter to start", style="green"))

    @on(Input.Submitted, "#domain-input")
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            domain = normalise_domain(event.value)
        except DomainError as exc:
            self.query_one("#domain-feedback", Static).update(Text(f"✗ {exc}", style="red"))
            return
        self.wizard.open_domain(domain)

    @on(OptionList.OptionSelected, "#saved-domains")
    def _resume(self, event: OptionList.OptionSelected) -> None:
        try:
            domain = normalise_domain(event.option.id or "")
        except DomainError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.wizard.open_domain(domain)

    def action_focus_prompt(self) -> None:
        self.query_one("#domain-input", Input).focus()
