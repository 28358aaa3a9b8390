"""The start screen: saved domains to resume, and a prompt for a new one.

The prompt is validated as the user types by wizard.domain.normalise_domain, whose
one-line error says what to type instead. The saved domains are read in a thread worker
right after the first paint, and their list is mounted above the prompt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from screens.footer import KeyBar
from wizard.domain import Domain, DomainError, normalise_domain
from wizard.text import shown

if TYPE_CHECKING:
    from textual.widgets import OptionList

    from screens.app import WizardApp


class SavedDomainsRead(Message):
    """The thread worker read the saved domains' summaries (an empty list when there are none)."""

    def __init__(self, summaries: list[Any]) -> None:
        super().__init__()
        self.summaries = summaries


class StartScreen(Screen):
    """Pick a saved domain or type a new one."""

    #: Nothing focused at first: ? and q are keys until the user starts typing (on_key).
    AUTO_FOCUS = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "focus_prompt", "Type a domain", show=False),
        Binding("x", "forget", "Forget domain"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "forget":
            return True if self._highlighted_saved() is not None else None
        return True

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
            yield Vertical(id="saved-box")  # height auto (app.tcss); filled after the first paint (see _read_saved)
            yield Label("Domain to set up:")
            # No select-on-focus: the first letter typed (on_key) focuses it and must stay.
            yield Input(placeholder="example.com", id="domain-input", select_on_focus=False)
            yield Static("", id="domain-feedback")
        yield KeyBar()

    @work(thread=True, exclusive=True, group="start-saved", exit_on_error=False)
    def _read_saved(self) -> None:
        """Read the saved domains (one small file each) off the UI loop."""
        try:
            summaries = self.wizard.store.list_domains()
        except OSError:
            summaries = []
        self.post_message(SavedDomainsRead(summaries))

    @on(SavedDomainsRead)
    async def _saved_read(self, message: SavedDomainsRead) -> None:
        from textual.widgets import OptionList

        box = self.query_one("#saved-box", Vertical)
        await box.remove_children()
        options = _options(message.summaries)
        if options:
            await box.mount(Label("Resume a saved domain (Enter):"), OptionList(*options, id="saved-domains"))

    def on_mount(self) -> None:
        # The field is not focused at first, so ? (help) and q (quit) work as keys; typing a
        # letter starts the domain in the field (on_key).
        self.call_after_refresh(self._after_first_paint)

    def on_key(self, event: events.Key) -> None:
        """A printable key while no field has focus starts typing the domain (q and ? stay keys)."""
        if self.focused is not None or event.character is None or not event.is_printable:
            return
        if event.key in ("q", "question_mark", "x"):
            return
        field = self.query_one("#domain-input", Input)
        field.focus()
        field.insert_text_at_cursor(event.character)
        event.stop()

    def _after_first_paint(self) -> None:
        self._read_saved()

    def on_screen_resume(self) -> None:
        self.set_focus(None)
        self.refresh_bindings()

    @on(Input.Changed, "#domain-input")
    def _typed(self, event: Input.Changed) -> None:
        feedback = self.query_one("#domain-feedback", Static)
        if not event.value.strip():
            feedback.update("")
            return
        try:
            domain = normalise_domain(event.value)
        except DomainError as exc:
            feedback.update(Text(shown(f"✗ {exc}"), style="red"))
            return
        parent = policy_host_parent(domain)
        if parent is not None:
            feedback.update(
                Text(
                    f"{domain.display()} is the policy web host, not the mail domain: "
                    f"press Enter to set up {parent.display()}",
                    style="yellow",
                )
            )
            return
        feedback.update(Text(f"✓ {domain.display()}: press Enter to start", style="green"))

    @on(Input.Submitted, "#domain-input")
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            domain = normalise_domain(event.value)
        except DomainError as exc:
            self.query_one("#domain-feedback", Static).update(Text(f"✗ {exc}", style="red"))
            return
        self.wizard.open_domain(policy_host_parent(domain) or domain)

    def _highlighted_saved(self) -> str | None:
        from textual.widgets import OptionList

        for saved in self.query("#saved-domains").results(OptionList):
            index = saved.highlighted
            if index is not None:
                return saved.get_option_at_index(index).id
        return None

    def action_forget(self) -> None:
        """Forget the highlighted saved domain, after asking (nothing published changes)."""
        from screens.confirm import ConfirmScreen

        name = self._highlighted_saved()
        if name is None:
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._forget(name)

        lines = [
            f"This deletes the saved progress of {name}: its ids, its history and the steps done.",
            "Nothing published changes (DNS records and the policy file stay), and imported reports are kept.",
            "Opening the domain again starts from what is live.",
        ]
        self.app.push_screen(ConfirmScreen(f"Forget {name}?", lines, confirm_label="Forget it"), answered)

    def _forget(self, name: str) -> None:
        from wizard.state import StateError
        from wizard.state.forget import forget_domain

        try:
            forget_domain(self.wizard.store, name)
        except StateError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify(f"forgot {name}", markup=False)
        self._read_saved()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id != "saved-domains":
            return
        try:
            domain = normalise_domain(event.option.id or "")
        except DomainError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.wizard.open_domain(domain)

    def action_focus_prompt(self) -> None:
        self.query_one("#domain-input", Input).focus()


def policy_host_parent(domain: Domain) -> Domain | None:
    """`mta-sts.example.com` typed as the domain: the mail domain is the parent (None otherwise)."""
    if not domain.ascii.startswith("mta-sts.") or domain.ascii.count(".") < 2:
        return None
    try:
        return normalise_domain(domain.ascii.removeprefix("mta-sts."))
    except DomainError:
        return None


def _options(summaries: list[Any]) -> list[Any]:
    """One OptionList line per saved domain: its name, the step reached and the mode."""
    from textual.widgets.option_list import Option

    options = []
    for s in summaries:
        name = s.unicode_name if s.unicode_name == s.domain else f"{s.unicode_name} ({s.domain})"
        line = f"{name}  ·  step {s.step_reached}: {s.step_name}  ·  mode {s.mode or '-'}"
        if s.newer:
            line += "  ·  saved by a newer version (read-only)"
        options.append(Option(Text(shown(line)), id=s.domain))  # names read from files: escaped
    return options
