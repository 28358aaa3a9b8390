"""StepScreen: what every step of the wizard shares.

A header naming the step and domain (and why the window is read-only, if it is), a
scrollable body the subclass fills, and Back / Next / Overview bindings in the Footer.
Next enables itself through `check_action` and a `can_advance` reactive with
`bindings=True`, so the Footer always shows what the user can do now.

Step screens are built once per domain and kept (the App installs them), so `n`/`b`/`o`
costs a repaint, not a new screen of widgets. When a kept screen comes back it re-renders
from the App's state (`resumed`): statuses, attempts, the MX lookup. What the user typed or
chose on it and has not accepted yet is kept, as most programs do; but when a saved value it
was built from has changed since (`basis()`: e.g. step 1 accepted a new policy while step 2
was kept), the App builds the screen anew from the saved state instead of showing stale text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Static

from screens.footer import KeyBar
from screens.messages import StepUpdated
from wizard.lifecycle.step_state import StepState, live_mode, step_state
from wizard.state import STEP_NAMES, DomainState

if TYPE_CHECKING:
    from screens.app import WizardApp


class StepScreen(Screen):
    """Base of the six step screens."""

    STEP: ClassVar[int] = 0
    TITLE_TEXT: ClassVar[str] = ""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "Next"),
        Binding("b", "back", "Back"),
        Binding("o", "overview", "Overview"),
        # Shown (and working) only while a text field has focus: the one-letter keys go to the
        # field then, and this is the key that gives them back.
        Binding("escape", "leave_input", "Leave field"),
    ]

    can_advance: reactive[bool] = reactive(True, bindings=True)

    def __init__(self) -> None:
        super().__init__()
        self._basis = self.basis()
        self._resumed_once = False

    def basis(self) -> tuple[object, ...]:
        """The saved values this screen's widgets were built from (subclasses add theirs).

        A kept screen whose basis no longer matches the saved state is built anew (the App
        asks `matches_saved_state` before showing it again)."""
        return (self.wizard.domain, self.wizard.read_only_reason)

    def matches_saved_state(self) -> bool:
        return self._basis == self.basis()

    def rebase(self) -> None:
        """This screen saved its own change: what it shows is the saved state, keep it."""
        self._basis = self.basis()

    def on_screen_resume(self) -> None:
        """Shown again after another screen: re-render from the App's state (the first showing
        follows the mount, which already rendered it)."""
        if not self._resumed_once:
            self._resumed_once = True
            return
        self.refresh_header()
        self.refresh_bindings()
        self.resumed()

    def resumed(self) -> None:
        """A kept screen is shown again; by default as if the App had news about this step."""
        self.step_updated()

    @property
    def wizard(self) -> WizardApp:
        return cast("WizardApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(self.header_text(), id="step-header")
        if self.wizard.read_only_reason:
            yield Static(
                Text(f"Read-only: {self.wizard.read_only_reason}. Editing and live checks are off in this window."),
                id="read-only-banner",
            )
        with VerticalScroll(id="step-body"):
            yield from self.compose_body()
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        """Subclasses yield their widgets here."""
        yield from ()

    def header_text(self) -> Content:
        """Step, domain, the mode senders are served now, and this step's real state (a mark and a word)."""
        domain = self.wizard.domain.display() if self.wizard.domain else ""
        parts: list[Content | str | tuple[str, str]] = [
            (f"Step {self.STEP} of 6 · {self.TITLE_TEXT or STEP_NAMES[self.STEP]}", "bold"),
            f" · {domain}",
        ]
        if self.wizard.session is not None:
            word = self.step_state()
            parts += [
                " · ",
                (f"{STATE_MARKS[word]} {word}", STATE_STYLES[word]),
                " · ",
                live_content(self.wizard.state),
            ]
        if self.wizard.placing:
            parts.append((" · checking what is live…", "$text-muted"))
        return Content.assemble(*parts)

    def step_state(self) -> StepState:
        """This step's real state (step 6 adds its verdict)."""
        return step_state(self.wizard.state, self.STEP)

    def refresh_header(self) -> None:
        self.query_one("#step-header", Static).update(self.header_text())

    @on(StepUpdated)
    def _step_updated(self, message: StepUpdated) -> None:
        self.refresh_header()
        if message.step == self.STEP:
            self.step_updated()

    def step_updated(self) -> None:
        """The App has news about this step (a check finished); subclasses re-render."""

    @on(events.Mount)
    def _read_only_fields(self) -> None:
        """A read-only window (another holds the domain) cannot save: its fields are disabled."""
        if self.wizard.read_only_reason:
            for widget in self.query("#step-body Input, #step-body RadioSet, #step-body OptionList"):
                widget.disabled = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in READ_ONLY_OFF and self.wizard.read_only_reason:
            return None  # the banner says why; pressing the key says it again (on_key)
        if action == "next" and not self.can_advance:
            return None  # shown dimmed in the key bar
        if action == "leave_input":
            return isinstance(self.focused, Input)  # False: not shown, nothing to leave
        return True

    def on_key(self, event: events.Key) -> None:
        """`n` while Next is disabled says what is missing; an editing key in a read-only window
        says why it does nothing."""
        if isinstance(self.focused, Input):
            return
        if event.key == "n" and not self.can_advance:
            event.stop()
            self.notify(self.missing_text(), title="Not yet", severity="warning", markup=False)
            return
        reason = self.wizard.read_only_reason
        if reason and any(b.action in READ_ONLY_OFF for b in self._bindings.key_to_bindings.get(event.key, [])):
            event.stop()
            self.notify(f"read-only: {reason}", title="Editing is off in this window", severity="warning", markup=False)

    def missing_text(self) -> str:
        """Why this step cannot move on yet (subclasses that disable Next say it precisely)."""
        return "this step is not finished yet; see the problems listed on it"

    def action_next(self) -> None:
        if self.accept():
            self.wizard.goto_step(self.STEP + 1) if self.STEP < 6 else self.wizard.show_overview()

    def accept(self) -> bool:
        """Save this step's choices before moving on; False keeps the user here."""
        return True

    def action_back(self) -> None:
        if self.STEP > 1:
            self.wizard.goto_step(self.STEP - 1)
        else:
            self.wizard.show_overview()

    def action_overview(self) -> None:
        self.wizard.show_overview()

    def action_leave_input(self) -> None:
        """Escape leaves a text field so the one-letter keys work again."""
        self.set_focus(None)


#: Actions that change saved progress or start a live check: off in a read-only window.
READ_ONLY_OFF = frozenset(
    {"published", "write_files", "add_pattern", "remove_pattern", "wildcard", "use_dns", "step6_enforce"}
    | {"step6_served", "step6_id_live", "step6_ladder", "step6_rollback", "step6_remove", "step6_mx"}
    | {"step6_confirm", "step6_cancel"}
)
_STATUS_STYLE = {
    "verified": "bold green",
    "warning": "bold yellow",
    "failed": "bold red",
    "waiting": "bold cyan",
    "not-started": "dim",
}


#: Each state has a mark as well as a colour, so it reads without colour too.
STATE_MARKS = {"verified": "✓", "waiting": "…", "failing": "✗", "not started": "○"}
STATE_STYLES = {
    "verified": "bold $success",
    "waiting": "bold $accent",
    "failing": "bold $error",
    "not started": "$text-muted",
}


def live_content(state: DomainState) -> Content:
    """ "live: enforce" (the mode last seen served), or "nothing live"."""
    mode = live_mode(state)
    if mode is None:
        return Content.styled("nothing live", "$text-muted")
    return Content.assemble(("live: ", "$text-muted"), (mode, "bold"))


def status_style(status: str) -> str:
    return _STATUS_STYLE.get(status, "")


class LiveStepScreen(StepScreen):
    """A step whose result is published by the user and then verified live (steps 2, 3, 4)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "published", "Published: check"),
        Binding("x", "cancel_poll", "Stop checking"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in READ_ONLY_OFF and self.wizard.read_only_reason:
            return None
        poll = self.wizard.polls.get(self.STEP)
        active = bool(poll and poll.active)
        if action == "cancel_poll":
            return True if active else None
        if action == "published":
            return None if active else True
        return super().check_action(action, parameters)

    def ready_to_check(self) -> bool:
        """Whether there is something to verify yet (defaults to the step's own accept)."""
        return self.accept()

    def action_published(self) -> None:
        if self.ready_to_check():
            self.wizard.start_poll(self.STEP)
            self.refresh_bindings()

    def action_cancel_poll(self) -> None:
        self.wizard.stop_poll(self.STEP)
        self.refresh_bindings()

    def step_updated(self) -> None:
        self.refresh_bindings()
        self.show_latest()

    def resumed(self) -> None:
        """Shown again: the poll panel's countdown (not ticked while hidden) and the latest attempt."""
        self.step_updated()
        for panel in self.query("#poll"):
            refresh = getattr(panel, "refresh_poll", None)
            if refresh is not None:
                refresh()

    def show_latest(self) -> None:
        """Subclasses show the findings of the latest attempt."""
