""" "Publish it for me": a dialog that writes the step's TXT record through the user's DNS (wizard.publish).

It asks for the method (RFC 2136 with a TSIG key, or a lexicon provider) with the secret in a
masked field, reads the current records and shows the change record by record before anything
is changed; "Publish" sends it and then runs the live check, all in a worker with a progress
line. The secret lives only in the field and in memory; the method (never the secret) is saved
so step 6 and `monitor` can offer it again.

Steps 3 and 4 open it for their record (`open_publish_dialog`); step 6 opens it for the new id
only after every address serves the new policy file (`publish_new_id`, the switch's order).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from wizard.publish import PublishRefused, PublishUsageError, Wanted
from wizard.publish.method import Method, Target, open_target, parse_via
from wizard.publish.plan import Plan, plan_changes
from wizard.publish.tsig import ENV_TSIG, parse_tsig
from wizard.text import shown

if TYPE_CHECKING:
    from screens.app import WizardApp
    from screens.base import StepScreen
    from wizard.engine import CheckOptions


@dataclass(frozen=True)
class PublishOutcome:
    """What the dialog did: the method used, and whether the change is published and seen."""

    method: Method
    published: bool
    seen: bool
    lines: tuple[str, ...]


class PublishDialog(ModalScreen[PublishOutcome | None]):
    """Method, credentials, the change, then publish and verify."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, domain: str, wanted: Sequence[Wanted], saved: Method | None, settings: Any) -> None:
        super().__init__()
        self.domain = domain
        self.wanted = list(wanted)
        self.saved = saved
        self.settings = settings
        self.target: Target | None = None
        self.method: Method | None = None
        self.plan: Plan | None = None
        self.outcome: PublishOutcome | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="publish-dialog", classes="dialog"):
            yield Label(Text(f"Publish it for me · {self.domain}", "bold"))
            yield Static(Text("\n".join(f"{w.name} TXT {w.value}" for w in self.wanted)), id="publish-records")
            yield Label("Method: rfc2136 (a TSIG-signed dynamic update) or lexicon:PROVIDER (e.g. lexicon:cloudflare)")
            yield Input(self.saved.via if self.saved else "rfc2136", id="publish-via")
            yield Label("RFC 2136 server ADDR[:PORT] (empty: the zone's primary from its SOA)")
            yield Input((self.saved.server or "") if self.saved else "", id="publish-server")
            yield Label(f"Secret: TSIG key NAME:ALG:SECRET (or {ENV_TSIG}) / the provider's API token (not shown)")
            yield Input("", password=True, id="publish-secret")
            yield Static("", id="publish-change")
            yield Static("", id="publish-status")
            with Horizontal(id="publish-buttons"):
                yield Button("Show the change", id="publish-plan", variant="primary")
                yield Button("Publish", id="publish-go", variant="success", disabled=True)
                yield Button("Close", id="publish-close")

    # ------------------------------------------------------------------ reading what to do

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#publish-status", Static).update(Text(text, style))

    def _method(self) -> Method:
        via = self.query_one("#publish-via", Input).value
        server = self.query_one("#publish-server", Input).value.strip() or None
        return parse_via(via, server if via.strip().lower() == "rfc2136" else None)

    def _credentials(self, method: Method) -> tuple[Any, dict[str, str]]:
        secret = self.query_one("#publish-secret", Input).value.strip()
        if method.provider:
            return None, ({"auth_token": secret} if secret else {})
        text = secret or os.environ.get(ENV_TSIG, "")
        if not text:
            raise PublishUsageError(f"type the TSIG key as NAME:ALG:SECRET, or set {ENV_TSIG} before starting")
        return parse_tsig(text, "the key"), {}

    @on(Input.Submitted)
    @on(Button.Pressed, "#publish-plan")
    def show_change(self) -> None:
        """Read the current records and show what would change (nothing is changed)."""
        self.plan = None
        self.query_one("#publish-go", Button).disabled = True
        try:
            method = self._method()
            tsig, given = self._credentials(method)
        except PublishUsageError as exc:
            self._status(str(exc), "bold red")
            return
        self.method = method
        self._status(f"reading the current records ({method.describe()})…", "cyan")
        settings = self.settings

        async def read() -> tuple[Target, Plan]:
            target = await open_target(
                self.domain,
                method,
                tsig=tsig,
                lexicon_options=given,
                nameservers=settings.nameservers,
                timeout=settings.timeout,
            )
            current = await target.read([w.name for w in self.wanted])
            return target, plan_changes(self.wanted, current)

        self.run_worker(read(), group="publish-plan", exclusive=True, exit_on_error=False)

    @on(Button.Pressed, "#publish-go")
    def publish(self) -> None:
        if self.target is None or self.plan is None or self.method is None:
            return
        self.query_one("#publish-go", Button).disabled = True
        self.query_one("#publish-plan", Button).disabled = True
        self._status("publishing, then checking the authoritative servers and the resolver…", "cyan")
        from wizard.engine import CheckOptions  # the engine's imports are paid when a publish starts

        target, plan, wanted = self.target, self.plan, self.wanted
        options = CheckOptions.from_settings(self.settings, probe_smtp=False)

        async def send() -> tuple[list[str], Any]:
            from wizard.publish.verify import verify_published

            changed = await target.apply(plan)
            return changed, await verify_published(self.domain, wanted, options)

        self.run_worker(send(), group="publish-send", exclusive=True, exit_on_error=False)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        group = event.worker.group
        if group not in ("publish-plan", "publish-send") or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            known = isinstance(error, PublishRefused | PublishUsageError)
            self._status(str(error) if known else f"publishing failed: {shown(error)}", "bold red")
            self.query_one("#publish-plan", Button).disabled = False
            return
        if group == "publish-plan":
            found: Any = event.worker.result
            self.target, self.plan = found
            assert self.plan is not None and self.target is not None
            self.query_one("#publish-change", Static).update(
                Text(shown(self.target.describe()) + "\n" + "\n".join(self.plan.lines()))
            )
            pending = bool(self.plan.pending)
            self.query_one("#publish-go", Button).disabled = not pending
            self._status(
                "press Publish to make this change" if pending else "nothing to change: already published",
                "bold" if pending else "green",
            )
            return
        sent: Any = event.worker.result
        changed, verification = sent
        assert self.method is not None
        self.outcome = PublishOutcome(self.method, True, verification.seen, tuple(verification.lines))
        lines = [("published: " + "; ".join(changed)) if changed else "nothing was changed", *verification.lines]
        self._status("\n".join(lines), "bold green" if verification.seen else "bold yellow")
        self.query_one("#publish-close", Button).focus()

    @on(Button.Pressed, "#publish-close")
    def action_close(self) -> None:
        self.dismiss(self.outcome)


# ---------------------------------------------------------------- opening it from the steps


def open_publish_dialog(
    screen: StepScreen, wanted: Sequence[Wanted], then: Callable[[PublishOutcome], None] | None = None
) -> None:
    """Open the dialog for `wanted`; after a publish, save the method and run `then` (default: the
    step's live check, so the step is verified the usual way)."""
    app: WizardApp = screen.wizard
    if app.read_only_reason:
        app.notify(f"read-only: {app.read_only_reason}", severity="error", markup=False)
        return
    if not wanted:
        app.notify("nothing to publish yet", severity="error")
        return
    saved = Method.from_saved(app.state.publish_method)

    def done(outcome: PublishOutcome | None) -> None:
        if outcome is None or not outcome.published:
            return
        if app.state.publish_method != outcome.method.to_saved():
            app.state.publish_method = outcome.method.to_saved()
            app.save()
        if then is not None:
            then(outcome)
        else:
            app.start_poll(screen.STEP)
            screen.refresh_bindings()

    assert app.domain is not None
    app.push_screen(PublishDialog(app.domain.ascii, wanted, saved, app.settings), done)


def publish_new_id(screen: Any) -> None:
    """Step 6's switch, published for the user in its order (wizard/lifecycle/switch.py): every address
    of the policy host is checked first and the new id exists only once all serve the new file; only
    then does the dialog open, for that id; after a publish, phase 4 checks the id is live.

    `screen` is step 6's LifecycleStepScreen (its `_network` worker runner and `action_step6_id_live`)."""
    from wizard.lifecycle import switch
    from wizard.publish import wanted_records

    app: WizardApp = screen.wizard
    state = app.state

    async def job(options: CheckOptions) -> list[str]:
        reveal = await switch.request_id(state, options, app.clock())
        if not reveal.refused and reveal.new_id:
            wanted = wanted_records(state.domain, reveal.new_id, ())
            app.call_later(open_publish_dialog, screen, wanted, lambda _outcome: screen.action_step6_id_live())
            return [*reveal.lines(), "publishing it for you: see the dialog"]
        return reveal.lines()

    if app.read_only_reason:
        screen._say([f"read-only: {app.read_only_reason}"])
        return
    screen._network("verify the policy file", job)
