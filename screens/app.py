"""The wizard App: owns the domain session, the checks and the live polls.

Checks that must survive navigation run as workers on the App (a screen's workers die
with it). Each kind of check has its own worker group, so `exclusive=True` only cancels
an older check of the same kind. Workers post `CheckFinished`; the `@on` handler here is
the one place that changes step statuses and saves. Polling re-arms a one-shot timer
after each check finishes (dolphie's pattern), so a slow check is never overlapped.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from screens.commands import StepCommands
from screens.messages import CheckFinished, MxLookedUp, Placed, Regressions, StepUpdated
from screens.steps import screen_for_step
from wizard.commands.common import NetworkSettings
from wizard.domain import Domain
from wizard.state import (
    DomainSession,
    ReadOnlyError,
    StateError,
    StateStore,
    done_steps,
    first_unverified_step,
    record_check,
    record_served,
    regressions,
    set_step,
    status_from_findings,
    utc_now,
)
from wizard.text import shown

if TYPE_CHECKING:
    from screens.base import StepScreen

    # screens.checks pulls wizard.policy, wizard.findings and friends: imported on first use,
    # after the first paint, not on the way to it.
    from screens.checks import Attempt, CheckContext
    from wizard.policy import PolicyFile

DEFAULT_POLL_SECONDS = 10.0
#: How often a read-only window asks whether the other window has let go of the domain.
DEFAULT_UPGRADE_SECONDS = 5.0
OVERVIEW = "overview"
#: Kept step screens are installed as "step-1" .. "step-6".
STEP_PREFIX = "step-"


@dataclass
class PollState:
    """One step's live verification: whether it runs, and when the next attempt is due."""

    active: bool = False
    running: bool = False
    next_at: float = 0.0
    count: int = 0
    timer: Timer | None = None


class WizardApp(App[int]):
    """The interactive wizard (`mta-sts-wizard [DOMAIN]`)."""

    CSS_PATH = "app.tcss"
    TITLE = "MTA-STS wizard"
    COMMANDS = App.COMMANDS | {StepCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+t", "toggle_dark", "Theme", show=False),
    ]

    def __init__(
        self,
        store: StateStore,
        settings: NetworkSettings,
        domain: Domain | None = None,
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        clock: Callable[[], datetime] = utc_now,
        offline: bool = False,
    ) -> None:
        super().__init__()
        self.store = store
        self.settings = settings
        self.initial_domain = domain
        self.poll_seconds = poll_seconds
        self.clock = clock
        #: Tests and snapshots set this to keep the network out of a screen's first paint.
        self.offline = offline
        self.domain: Domain | None = None
        self.session: DomainSession | None = None
        self.mx_hosts: list[str] | None = None
        self.mx_findings: list = []
        self.attempts: dict[int, list[Attempt]] = {}
        self.polls: dict[int, PollState] = {}
        self.regression_lines: list[str] = []
        #: Step 6's last reading of the report store per domain (screens/step6_lifecycle.py), so a
        #: revisit shows it at once while a thread re-reads the store.
        self.reports_cache: dict[str, Any] = {}
        #: What the check run on opening found live (wizard.lifecycle.adopt.Live), and whether it runs.
        self.live: Any = None
        self.placing = False
        #: The step screen a domain opened on: adoption moves to the right step only while it still shows.
        self._opened_screen: Any = None
        self._resume_check = False
        self.upgrade_seconds = DEFAULT_UPGRADE_SECONDS
        self._upgrade_timer: Timer | None = None
        self._painted = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        # The first screen is pushed once the App has mounted, not while it mounts: Textual mounts
        # the App inside a batch that holds back the display, and a screen pushed within it was
        # laid out and rendered once for nothing (the frame is dropped) before being rendered again
        # after the batch: ~8 ms of step 1's first paint.
        self.call_later(self._show_first_screen)

    def _show_first_screen(self) -> None:
        from screens.start import StartScreen

        if self.initial_domain is not None:
            # Straight to the step: the start screen and the overview are composed when first
            # visited, so the first frame costs one screen, not three.
            self.open_domain(self.initial_domain)
        else:
            self.push_screen(StartScreen())
        self.call_after_refresh(self._first_paint_done)

    def _first_paint_done(self) -> None:
        self._painted.set()
        if not self.offline:
            _warm_up()

    async def after_first_paint(self) -> None:
        """Wait (briefly) until the first screen is painted: the engine's imports and the first
        lookups then run while the user reads it, instead of competing with it for the GIL."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._painted.wait(), 1.0)

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.close()

    def clock_monotonic(self) -> float:
        return time.monotonic()

    # ------------------------------------------------------------------ the domain

    @property
    def state(self):  # type: ignore[no-untyped-def]
        assert self.session is not None, "no domain is open"
        return self.session.state

    @property
    def read_only_reason(self) -> str | None:
        return self.session.read_only_reason if self.session else None

    def open_domain(self, domain: Domain) -> None:
        """Open (or resume) a domain at its first unverified step, re-verifying done steps."""
        self._stop_all_polls()
        self._stop_upgrade_timer()
        if self.session is not None:
            self.session.close()
        try:
            self.session = self.store.open(domain.ascii, domain.unicode)
        except StateError as exc:
            self.notify(shown(str(exc)), severity="error", markup=False, title="Saved progress")
            return
        self.domain = domain
        self.mx_hosts = None
        self.mx_findings = []
        self.attempts = {}
        self.regression_lines = []
        self.live = None
        if self.session.source == "none":
            self.save()  # a domain typed once is listed on the start screen from now on
        for line in self.session.messages:
            self.notify(shown(line), severity="warning", markup=False, title="Saved progress", timeout=10)
        self.sub_title = domain.display()
        step = first_unverified_step(self.session.state)
        self._pop_to_start()
        self._forget_screens()  # they show the previous domain
        self._opened_screen = self._step_screen(step)
        self.push_screen(self._opened_screen)
        if self.session.read_only:
            self._arm_upgrade()
        #: Whether the opening check also re-verifies done steps (only those done before it started).
        self._resume_check = (
            bool(done_steps(self.session.state)) and self.session.state.steps[1].status != "not-started"
        )
        if not self.offline:
            self.lookup_mx()
            self.placing = True
            self.place_domain()

    # ------------------------------------------------------------------ read-only -> writable

    def _arm_upgrade(self) -> None:
        """One-shot timer, re-armed after each try, so a slow lock/read never overlaps the next."""
        self._upgrade_timer = self.set_timer(self.upgrade_seconds, self._try_upgrade)

    def _stop_upgrade_timer(self) -> None:
        if self._upgrade_timer is not None:
            self._upgrade_timer.stop()
            self._upgrade_timer = None

    def _try_upgrade(self) -> None:
        """Take the domain over once the other window has closed, and say so."""
        self._upgrade_timer = None
        session = self.session
        if session is None or not session.read_only:
            return
        try:
            upgraded = session.try_upgrade()
        except (OSError, StateError) as exc:
            self.notify(shown(f"could not take over the domain: {exc}"), severity="warning", markup=False)
            upgraded = False
        if not upgraded:
            if session.newer:
                return  # saved by a newer version: this one stays read-only for good
            self._arm_upgrade()
            return
        self._reopen_current_step()
        self.notify(
            "The other window closed: this window now saves your progress (re-read from disk).",
            title="Saved progress",
            markup=False,
            timeout=10,
        )

    def _reopen_current_step(self) -> None:
        """Screens built read-only show the banner and the old in-memory state: build them again."""
        from screens.base import StepScreen

        current = self.screen
        step = current.STEP if isinstance(current, StepScreen) else None
        self._pop_to_start()
        self._forget_screens()
        if step is None:
            self.show_overview()
        else:
            self.push_screen(self._step_screen(step))

    def save(self) -> None:
        """Save after an accepted change; a read-only window keeps its changes in memory only."""
        if self.session is None or self.session.read_only:
            return
        try:
            self.session.save(self.clock())
        except (OSError, ReadOnlyError, StateError) as exc:
            self.notify(shown(f"could not save progress: {exc}"), severity="error", markup=False)

    def full_check_running(self) -> bool:
        return any(w.group == "check-5" and w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in self.workers)

    def step_status(self, step: int) -> str:
        if self.session is None:
            return "not-started"
        return self.session.state.steps[step].status

    def set_status(self, step: int, status: str, detail: str = "") -> None:
        set_step(self.state, step, status, self.clock(), detail=detail)  # type: ignore[arg-type]
        self.save()
        self.broadcast(step)

    def current_policy(self) -> PolicyFile | None:
        saved = self.state.policy
        return saved.to_policy_file() if saved else None

    def check_context(self) -> CheckContext:
        from screens.checks import CheckContext

        return CheckContext(
            domain=self.domain,  # type: ignore[arg-type]
            settings=self.settings,
            policy=self.current_policy(),
            policy_id=self.state.policy_id,
            rua=tuple(self.state.rua),
        )

    # ------------------------------------------------------------------ navigation

    def show_overview(self) -> None:
        from screens.base import StepScreen
        from screens.overview import OverviewScreen

        while isinstance(self.screen, StepScreen):
            self.pop_screen()
        if not isinstance(self.screen, OverviewScreen):
            if not self.is_screen_installed(OVERVIEW):
                # Built once per domain and kept (installed) when popped: it re-renders from the
                # state when it comes back, so `o` costs a repaint, not a new DataTable.
                self.install_screen(OverviewScreen(), OVERVIEW)
            self.push_screen(OVERVIEW)

    def goto_step(self, step: int) -> None:
        from screens.base import StepScreen

        screen = self._step_screen(step)
        if screen in self.screen_stack:
            while self.screen is not screen:  # e.g. the palette opened over it: back to it
                self.pop_screen()
        elif isinstance(self.screen, StepScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def _step_screen(self, step: int) -> StepScreen:
        """The step's screen, built on its first visit in this domain and kept (installed).

        Building one costs tens of widgets to compose, style and lay out (step 2 over 50), which
        is what made `n`/`b` slow; a kept screen comes back with a repaint and re-renders from
        the App's state (StepScreen.resumed), keeping what the user typed on it. One whose
        saved basis changed meanwhile (StepScreen.basis) is dropped and built anew.
        """
        from screens.base import StepScreen

        name = f"{STEP_PREFIX}{step}"
        if self.is_screen_installed(name):
            kept = self.get_screen(name)
            if isinstance(kept, StepScreen):
                if kept in self.screen_stack:
                    return kept  # it is showing (under a dialog or the palette): nothing to rebuild
                if kept.matches_saved_state():
                    return kept
            self._drop_screen(name)
        screen = screen_for_step(step)
        self.install_screen(screen, name)
        return screen

    def _forget_screens(self) -> None:
        """Drop the kept overview and step screens (a domain change, or re-read from disk).

        Called with the stack popped down to the start screen, so none of them is showing."""
        for name in [OVERVIEW, *(f"{STEP_PREFIX}{step}" for step in range(1, 7))]:
            self._drop_screen(name)

    def _drop_screen(self, name: str) -> None:
        if not self.is_screen_installed(name):
            return
        screen = self.get_screen(name)
        if screen in self.screen_stack:
            return  # Textual cannot uninstall a screen on the stack; the callers pop first
        self.uninstall_screen(name)
        if screen.is_attached:
            screen.remove()  # an uninstalled screen off the stack is not removed by Textual itself

    def show_start(self) -> None:
        from screens.start import StartScreen

        self._pop_to_start()
        if not isinstance(self.screen, StartScreen):
            self.push_screen(StartScreen())

    def _pop_to_start(self) -> None:
        """Pop every screen above the start screen (or above the App's own screen if it was never shown)."""
        from screens.start import StartScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, StartScreen):
            self.pop_screen()

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def broadcast(self, step: int) -> None:
        """Tell every open screen that a step changed (they re-render from the App's state)."""
        for screen in self.screen_stack:
            screen.post_message(StepUpdated(step))

    # ------------------------------------------------------------------ checks

    def run_check(self, step: int) -> None:
        """Start one verification of `step` in the background (replacing an older one of the same step)."""
        if self.session is None:
            return
        self._check_worker(step, self.check_context())

    def _check_worker(self, step: int, ctx: CheckContext) -> Worker:
        from screens.checks import full_check, step_check

        async def job() -> None:
            attempt = await (full_check(ctx, self.clock) if step == 5 else step_check(step, ctx, self.clock))
            self.post_message(CheckFinished(step, attempt))

        return self.run_worker(job, group=f"check-{step}", exclusive=True, exit_on_error=False, name=f"check {step}")

    @on(CheckFinished)
    def _check_finished(self, message: CheckFinished) -> None:
        step, attempt = message.step, message.attempt
        if self.session is None or attempt.domain != self.session.domain:
            return  # a check of a domain the user has since left
        self.attempts.setdefault(step, []).append(attempt)
        poll = self.polls.get(step)
        if poll is not None:
            poll.running = False
        if step == 5:
            self._full_check_done(attempt)
        else:
            self._step_check_done(step, attempt, poll)
        self.broadcast(step)

    def _step_check_done(self, step: int, attempt: Attempt, poll: PollState | None) -> None:
        if self.session is not None and not self.session.read_only:
            set_step(self.state, step, attempt.status, self.clock(), detail=attempt.headline)  # type: ignore[arg-type]
            self.save()
        if poll is None or not poll.active:
            return
        earlier = self.attempts.get(step, [])[:-1]
        if attempt.mismatch and (not earlier or earlier[-1].mismatch != attempt.mismatch):
            # Waiting would never end: say so at once (once per different value), and keep checking.
            self.notify(
                attempt.mismatch,
                title=f"Step {step}: not what the wizard expects",
                severity="error",
                markup=False,
                timeout=20,
            )
        if attempt.seen:
            poll.active = False
            severity: SeverityLevel = "information" if attempt.status == "verified" else "warning"
            self.notify(attempt.headline, title=f"Step {step}", severity=severity, markup=False)
        else:
            self._arm(step, poll)

    def _full_check_done(self, attempt: Attempt) -> None:
        if self.session is None or self.session.read_only:
            return
        state = self.state
        now = self.clock()
        for step in (1, 2, 3, 4):
            status = status_from_findings(attempt.findings, step)
            if state.steps[step].status != "not-started" or status == "verified":
                set_step(state, step, status, now)
        set_step(state, 5, attempt.status, now, detail=attempt.headline)  # type: ignore[arg-type]
        record_check(state, attempt.findings, now)
        served = attempt.served_policy
        if served is not None and state.policy_id and attempt.status != "failed":
            record_served(state, served.mode, served.max_age, state.policy_id, now)
        self.save()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """A check that crashed is a finding-less failure on screen, never a traceback."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        name = event.worker.name or "check"
        self.notify(shown(f"{name} failed: {error}"), severity="error", markup=False, title="Check failed")
        group = event.worker.group
        if group == "place":
            self.placing = False
            for step in range(1, 7):
                self.broadcast(step)
        if group.startswith("check-"):
            step = int(group.split("-", 1)[1])
            poll = self.polls.get(step)
            if poll is not None:
                poll.running = False
                if poll.active:
                    self._arm(step, poll)
            self.broadcast(step)

    # ------------------------------------------------------------------ live polls

    def start_poll(self, step: int) -> None:
        """Check now, then every `poll_seconds` until the record or file is seen."""
        poll = self.polls.setdefault(step, PollState())
        if poll.timer is not None:
            poll.timer.stop()
        poll.active = True
        self._poll_now(step)

    def _poll_now(self, step: int) -> None:
        poll = self.polls.get(step)
        if poll is None or not poll.active:
            return
        poll.timer = None
        poll.running = True
        poll.count += 1
        self.broadcast(step)
        self.run_check(step)

    def _arm(self, step: int, poll: PollState) -> None:
        poll.next_at = self.clock_monotonic() + self.poll_seconds
        poll.timer = self.set_timer(self.poll_seconds, lambda: self._poll_now(step))

    def stop_poll(self, step: int) -> None:
        poll = self.polls.get(step)
        if poll is None:
            return
        poll.active = False
        poll.running = False
        if poll.timer is not None:
            poll.timer.stop()
            poll.timer = None
        self.workers.cancel_group(self, f"check-{step}")
        self.broadcast(step)

    def _stop_all_polls(self) -> None:
        for step in list(self.polls):
            self.stop_poll(step)
        self.polls = {}

    # ------------------------------------------------------------------ MX lookup and resume

    @work(exclusive=True, group="mx", exit_on_error=False)
    async def lookup_mx(self) -> None:
        """Look up the domain's MX hosts at once (the start screen and step 1 show them)."""
        await self.after_first_paint()
        domain = self.domain
        if domain is None:
            return
        from screens.checks import lookup_mx

        hosts, findings, error = await lookup_mx(domain, self.settings)
        self.post_message(MxLookedUp(domain.ascii, hosts, findings, error))

    @on(MxLookedUp)
    def _mx_looked_up(self, message: MxLookedUp) -> None:
        if self.domain is None or message.domain != self.domain.ascii:
            return
        self.mx_hosts = message.hosts
        self.mx_findings = message.findings
        self.broadcast(1)

    @work(exclusive=True, group="place", exit_on_error=False, name="checking what is live")
    async def place_domain(self) -> None:
        """On opening a domain, run the normal check once: wizard.lifecycle.adopt places the domain
        (and adopts what is live), and done steps are re-verified from the same check."""
        # After the first paint: screens.checks and the engine it loads are not on the way to it.
        await self.after_first_paint()
        from screens.checks import full_check

        ctx = self.check_context()
        attempt = await full_check(ctx, self.clock)
        self.post_message(Placed(ctx.domain.ascii, attempt))

    @on(Placed)
    def _placed(self, message: Placed) -> None:
        from wizard.lifecycle import adopt

        if self.session is None or message.domain != self.session.domain:
            return
        self.placing = False
        attempt = message.attempt
        live = adopt.read_live(attempt.report)
        self.live = live
        state = self.state
        now = self.clock()
        if adopt.can_adopt(state, live):
            lines = adopt.adopt(state, live, now)
            record_check(state, attempt.findings, now)
            self.save()
            self.attempts.setdefault(5, []).append(attempt)
            self.notify(
                f"{self.domain.display() if self.domain else state.domain} is {adopt.PLACEMENT_TEXT[live.placement]}; "
                "adopted what is published (nothing was changed):\n" + "\n".join(f"- {line}" for line in lines),
                title="Started from the live world",
                markup=False,
                timeout=15,
            )
            self._reopen_at(adopt.open_step(state, live))
            return
        found = adopt.disagreement(state, live)
        if found is not None:
            from screens.disagree import DisagreeScreen

            self.push_screen(DisagreeScreen(found, live), lambda choice: self._disagreement_chosen(choice, live, found))
        else:
            if not self.read_only_reason:
                adopt.note_live(state, live, now)
            self._reverified(attempt)
        for step in range(1, 7):
            self.broadcast(step)

    def _disagreement_chosen(self, choice: str | None, live: Any, found: Any) -> None:
        from wizard.lifecycle import adopt

        if self.session is None or choice is None:
            return  # decided later: nothing changes
        state = self.state
        now = self.clock()
        if choice == "live":
            lines = adopt.use_live(state, live, now)
            self.save()
            self.notify("Saved progress now follows what is live:\n" + "\n".join(lines), markup=False)
            # After the dialog has gone (its result arrives while it is still on the stack).
            self.call_later(self._reopen_at, adopt.open_step(state, live))
            return
        lines = adopt.keep_mine(state, found, now)
        self.save()
        self.notify("Kept your saved values; publish them:\n" + "\n".join(lines), markup=False, timeout=10)
        self.call_later(self._reopen_at, first_unverified_step(state))

    def _reopen_at(self, step: int) -> None:
        """Show `step` built anew from the (changed) saved state, unless the user has moved on
        from the screen the domain opened on (kept screens rebuild from the new basis anyway)."""
        if self._opened_screen is not None and self.screen is not self._opened_screen:
            self.notify(f"The live world puts this domain at step {step} (press o for the overview).", markup=False)
            return
        self._pop_to_start()
        self._forget_screens()
        self._opened_screen = self._step_screen(step)
        self.push_screen(self._opened_screen)

    def _reverified(self, attempt: Attempt) -> None:
        """Resume: report the done steps that regressed since the last visit (from the opening check)."""
        state = self.state
        if not self._resume_check:
            return  # nothing was done when the check started: steps done since are not regressions
        lines = regressions(state, attempt.findings)
        if self.session is not None and not self.session.read_only:
            now = self.clock()
            for step in done_steps(state):
                if step <= 5 and status_from_findings(attempt.findings, step) == "failed":
                    set_step(state, step, "failed", now, detail="regressed since the last check")
            record_check(state, attempt.findings, now)
            self.save()
        self.post_message(Regressions(lines))

    @on(Regressions)
    def _regressions(self, message: Regressions) -> None:
        self.regression_lines = message.lines
        if message.lines:
            text = "Since your last visit:\n" + "\n".join(f"- {shown(line)}" for line in message.lines)
            self.notify(text, severity="warning", markup=False, title="Something regressed", timeout=20)
        for step in range(1, 7):
            self.broadcast(step)


#: Imported in a background thread once the first screen is painted, so a first check or a
#: first visit to a step finds them loaded instead of importing on the event loop.
WARM_UP_MODULES = (
    "wizard.engine",
    "screens.step1_policy",
    "screens.step2_hosting",
    "screens.step3_sts",
    "screens.step4_tlsrpt",
    "screens.step5_verify",
    "screens.step6_monitor",
    "wizard.reports",
)


def _warm_up() -> None:
    threading.Thread(target=_import_modules, args=(WARM_UP_MODULES,), name="warm-up", daemon=True).start()


def _import_modules(names: tuple[str, ...]) -> None:
    """Import `names`; one that fails is imported (and reported) again where it is used."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the real use imports it again and shows the error there
            continue
