"""Step 6's engine room: reading the report store in a thread, the bindings and the workers of
the guided switch, the max_age ladder, the MX change and removal, and importing reports.

Every decision comes from wizard.lifecycle (the verdict, the checklist and which action is
available, in wizard.lifecycle.dashboard); this module only starts work and re-renders.
Workers do not touch widgets: they return or post a message, and the handler saves the state
and re-renders.

The report store (SQLite) is never read on the UI loop: a thread worker reads it and posts
`ReportsRead`; renders use the last reading (kept on the App per domain, so a revisit shows it
at once while it is re-read) and show "loading reports…" until there is one. Imports and a
failure row's details are read in thread workers too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.worker import Worker, WorkerState

from screens.base import StepScreen
from screens.confirm import gate_dialog
from screens.step6_dialogs import FailureDetails, FailureDetailsDialog, ImportDialog, ImportRequest
from wizard.engine import CheckOptions
from wizard.lifecycle import switch
from wizard.lifecycle.dashboard import ActionState, absent_reason, actions, covering_patterns
from wizard.lifecycle.evidence import ReportEvidence
from wizard.lifecycle.failure_details import load_failure_details
from wizard.lifecycle.gate import gate_for
from wizard.lifecycle.hooks import Saved, evidence_for, verdict_for
from wizard.lifecycle.importing import ImportResult, import_from_imap, import_from_paths, remember_source
from wizard.lifecycle.mx_change import confirm_mx_changed, mx_guide, plan_mx_change
from wizard.lifecycle.readiness import Verdict
from wizard.lifecycle.removal import confirm_removed
from wizard.lifecycle.step_state import StepState, step_state
from wizard.lifecycle.switch import SwitchError
from wizard.reports import ImportOutcome
from wizard.reports.store import ReportStore, StoreError, store_path
from wizard.state import DomainState

LOADING = "loading reports…"


@dataclass(frozen=True)
class ReportsReading:
    """One reading of the report store for a domain: the step 6 evidence and the report count."""

    evidence: ReportEvidence | None
    problem: str | None
    """Why the evidence could not be read (shown with the verdict), or None."""
    count: int | None
    """Reports imported for the domain; None when no store exists or it could not be read."""
    count_problem: str | None = None


#: What a state dir without a report store reads as (known from one stat, no worker needed).
NO_STORE = ReportsReading(None, None, None)


def read_reports(state: DomainState, root: Path) -> ReportsReading:
    """Read the evidence and the count from the store (blocking SQLite: call it in a thread)."""
    if not store_path(root).exists():
        return NO_STORE
    evidence, problem = evidence_for(state, root)
    try:
        with ReportStore(store_path(root)) as store:
            count: int | None = store.report_count(state.domain)
        count_problem = None
    except StoreError as exc:
        count, count_problem = None, str(exc)
    return ReportsReading(evidence, problem, count, count_problem)


class ReportsRead(Message):
    """A thread worker finished reading the report store for step 6."""

    def __init__(self, domain: str, generation: int, reading: ReportsReading) -> None:
        super().__init__()
        self.domain = domain
        self.generation = generation
        self.reading = reading


class ImportProgress(Message):
    """An import running in a thread committed another batch (only the latest one matters)."""

    def __init__(self, imported: int, duplicates: int, skipped: int) -> None:
        super().__init__()
        self.imported = imported
        self.duplicates = duplicates
        self.skipped = skipped

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ImportProgress)


class ImportDone(Message):
    def __init__(self, domain: str, result: ImportResult, request: ImportRequest) -> None:
        super().__init__()
        self.domain = domain
        self.result = result
        self.request = request


class DetailsRead(Message):
    def __init__(self, details: FailureDetails) -> None:
        super().__init__()
        self.details = details


class LifecycleStepScreen(StepScreen):
    """The step 6 screen's bindings and workers (screens/step6_monitor.py lays the dashboard out)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "step6_check", "Fresh check"),
        Binding("r", "step6_import", "Import reports"),
        Binding("e", "step6_enforce", "Enforce"),
        Binding("a", "step6_ladder", "Raise max_age"),
        Binding("g", "step6_mx", "MX change"),
        Binding("d", "step6_remove", "Turn off"),
        Binding("p", "step6_served", "Published: verify", show=False),
        Binding("i", "step6_id_live", "Id published", show=False),
        Binding("t", "step6_rollback", "Roll back", show=False),
        Binding("k", "step6_confirm", "Done", show=False),
        Binding("z", "step6_cancel", "Cancel change", show=False),
        Binding("u", "step6_publish", "Publish it for me", show=False),
        Binding("m", "step6_monitor_setup", "Notifications"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step6_result: list[str] = []
        self._reports_generation = 0
        self._importing = False
        self._check_note: str | None = None
        self.verdict: Verdict | None = None

    # ------------------------------------------------------------------ the report store

    @property
    def reports(self) -> ReportsReading | None:
        """The last reading of the report store for this domain (None: the first is still running)."""
        return self.wizard.reports_cache.get(self.wizard.state.domain)

    def reload_reports(self, *, after_refresh: bool = False) -> None:
        """Re-read the report store in a thread; renders keep showing the last reading meanwhile.

        With `after_refresh` the thread starts once the next frame is on screen: a screen being
        built shows its first frame sooner without a thread competing for the interpreter, and
        the reading then comes as its own frame instead of adding the chart and tables to it."""
        self._reports_generation += 1
        app = self.wizard
        root = Path(app.store.root)
        if not store_path(root).exists():  # one stat: nothing to read, no loading state to show
            app.reports_cache[app.state.domain] = NO_STORE
            return
        if after_refresh:
            self.call_after_refresh(self._read_reports, app.state, root, self._reports_generation)
        else:
            self._read_reports(app.state, root, self._reports_generation)

    @work(thread=True, exclusive=True, group="step6-evidence", exit_on_error=False)
    def _read_reports(self, state: DomainState, root: Path, generation: int) -> None:
        try:
            reading = read_reports(state, root)
        except Exception as exc:  # shown next to the verdict, never a traceback
            reading = ReportsReading(None, f"could not read the report store: {exc}", None, str(exc))
        self.post_message(ReportsRead(state.domain, generation, reading))

    @on(ReportsRead)
    def _reports_read(self, message: ReportsRead) -> None:
        if message.generation != self._reports_generation or self.wizard.session is None:
            return  # an older reading, or the domain was closed
        if message.domain != self.wizard.state.domain:
            return
        self.wizard.reports_cache[message.domain] = message.reading
        self.show_reports()

    def show_reports(self) -> None:
        """Re-render what depends on the report store (step6_monitor.py shows more)."""
        self.step6_render()

    # ------------------------------------------------------------------ the verdict and actions

    def current_verdict(self) -> tuple[Saved, Verdict] | None:
        """The verdict from the last reading of the reports and the latest full check (None while loading)."""
        reading = self.reports
        if reading is None:
            return None
        app = self.wizard
        saved = Saved(app.state, reading.evidence, reading.problem)
        return saved, verdict_for(saved, self.last_findings(), app.clock(), mx_hosts=app.mx_hosts)

    def step_state(self) -> StepState:
        return step_state(self.wizard.state, 6, self.verdict.status if self.verdict else None)

    def step6_actions(self) -> list[ActionState]:
        """The action bar, in order; each action's key runs `action_step6_<action>`."""
        app = self.wizard
        return actions(
            app.state,
            self.verdict,
            app.clock(),
            app.mx_hosts,
            read_only=app.read_only_reason,
            check_running=app.full_check_running(),
            importing=self._importing,
        )

    def _unavailable(self, action: str) -> bool:
        """Say why `action` cannot run now (on screen and as a notification); False when it can."""
        for item in self.step6_actions():
            if item.action == action:
                if item.enabled:
                    return False
                label, reason = item.label, item.reason
                break
        else:  # not in the bar now: the key still says why
            bindings = (b for keyed in self._bindings.key_to_bindings.values() for b in keyed)
            label = next((b.description for b in bindings if b.action == f"step6_{action}"), action)
            reason = absent_reason(action)
        line = f"{label}: not available now: {reason}"
        self._say([line], save=False)
        self.app.notify(line, markup=False, title="Not now", severity="warning")
        return True

    # ------------------------------------------------------------------ rendering

    def last_findings(self) -> Any:
        """The findings of the last full check (this session's, else the saved one's)."""
        state = self.wizard.state
        full = self.wizard.attempts.get(5, [])
        return full[-1].findings if full else (state.last_check.findings if state.last_check else None)

    def step6_render(self) -> None:
        """Subclasses lay the dashboard out."""

    def _gated(self, kind: str, proceed: Callable[[], None], detail: tuple[str, ...] = ()) -> None:
        """Run `proceed` after the confirmation dialog of a risky move (wizard.lifecycle.gate);
        Cancel (the default) changes nothing."""
        if self.wizard.read_only_reason:
            self._say([f"read-only: {self.wizard.read_only_reason}"])
            return
        judged = self.current_verdict()
        verdict = judged[1] if judged is not None else None
        gate = gate_for(kind, self.wizard.state.domain, verdict, self.last_findings(), detail)
        if gate is None:
            proceed()
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                proceed()
            else:
                self._say([f"{gate.title}: cancelled; nothing changed"])

        self.app.push_screen(gate_dialog(gate), answered)

    def _say(self, lines: list[str], *, save: bool = True) -> None:
        self.step6_result = lines
        if save:
            self.wizard.save()
        self.refresh_header()  # the live mode may have changed (a change finished)
        self.step6_render()
        if save:
            self.reload_reports()  # the state changed: the evidence's window or MX patterns may have too

    def _plan(self, kind: str, make: Callable[[], Any]) -> None:
        if self.wizard.read_only_reason:
            self._say([f"read-only: {self.wizard.read_only_reason}"])
            return
        try:
            policy = make()
            switch.start_change(self.wizard.state, kind, policy, self.wizard.clock())
        except SwitchError as exc:
            self._say([str(exc)])
            return
        self._say(
            [
                f"{switch.KIND_TITLES[kind]}: the new policy file: publish it (below) at "
                f"https://mta-sts.{self.wizard.state.domain}/.well-known/mta-sts.txt on every address, "
                "then press p. The new TXT id is shown only after that check passes.",
            ]
        )

    def _network(self, name: str, job: Callable[[CheckOptions], Awaitable[list[str]]]) -> None:
        options = CheckOptions.from_settings(self.wizard.settings, probe_smtp=False)
        self.step6_result = [f"{name}: checking..."]
        self.step6_render()

        async def run() -> list[str]:
            return await job(options)

        self.run_worker(run(), group="step6", exclusive=True, exit_on_error=False, name=name)

    @on(Worker.StateChanged)
    def _step6_worker(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "step6":
            return
        if event.state == WorkerState.SUCCESS:
            self._say(list(event.worker.result or []))
        elif event.state == WorkerState.ERROR:
            self._say([f"{event.worker.name} failed: {event.worker.error}"])

    def check_finished(self) -> None:
        """A full check ended: the "running" line becomes what it found."""
        if self._check_note is None or self.wizard.full_check_running():
            return
        full = self.wizard.attempts.get(5, [])
        if full:
            last = full[-1]
            self.step6_result = [f"fresh full check at {last.at:%H:%M:%S}: {last.headline}"]
        else:
            self.step6_result = ["fresh full check ended without a result (see the notification)"]
        self._check_note = None

    # ------------------------------------------------------------------ actions

    def action_step6_check(self) -> None:
        if self._unavailable("check"):
            return
        self.wizard.run_check(5)
        self._check_note = "running"
        self.step6_result = ["fresh full check running (every MX, the policy host, both TXT records)..."]
        self.step6_render()

    def action_step6_enforce(self) -> None:
        if not self._unavailable("enforce"):
            self._gated("enforce", lambda: self._plan("enforce", lambda: switch.enforce_policy(self.wizard.state)))

    def action_step6_rollback(self) -> None:
        """A lower mode than what is live: asked first, saying what it does to senders that cached it."""
        from screens.confirm import ConfirmScreen
        from wizard.lifecycle.adopt import downgrade_effects

        if self._unavailable("rollback"):
            return
        state = self.wizard.state
        try:
            lower = switch.rollback_policy(state)
        except SwitchError as exc:
            self._say([str(exc)])
            return
        assert state.policy is not None
        effects = downgrade_effects(state.policy.to_policy_file(), lower)

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._plan("rollback", lambda: lower)
            else:
                self._say(["Roll back to testing: cancelled; nothing changed"])

        self.app.push_screen(ConfirmScreen("Roll back to testing?", effects, confirm_label="Roll back"), answered)

    def action_step6_remove(self) -> None:
        if not self._unavailable("remove"):
            self._gated("remove", lambda: self._plan("remove", lambda: switch.removal_policy(self.wizard.state)))

    def action_step6_ladder(self) -> None:
        if self._unavailable("ladder"):
            return
        rung = switch.next_rung(self.wizard.state)
        if rung is None:
            self._say(["no max_age step to propose now (enforce must be verified first)"])
            return
        self._gated(
            "max-age",
            lambda: self._plan("max-age", lambda: switch.ladder_policy(self.wizard.state, rung.proposed)),
            (f"max_age: {switch.human_age(rung.current)} -> {switch.human_age(rung.proposed)}",),
        )

    def action_step6_mx(self) -> None:
        if self._unavailable("mx"):
            return
        state = self.wizard.state
        guide = mx_guide(state, self.wizard.mx_hosts or [])
        if guide is None or not guide.uncovered:
            self._say(["every MX in DNS is covered by the policy"])
            return
        if state.mode == "enforce":
            detail = (f"new patterns: {', '.join(guide.uncovered)}",)
            self._gated("mx-change", lambda: self._plan_mx(guide.uncovered), detail)
            return
        self._plan_mx(guide.uncovered)

    def _plan_mx(self, uncovered: Any) -> None:
        state = self.wizard.state
        guide = mx_guide(state, self.wizard.mx_hosts or [])
        if guide is None:
            return
        try:
            plan_mx_change(state, uncovered, self.wizard.clock(), in_dns=True)
        except SwitchError as exc:
            self._say([str(exc)])
            return
        self._say([*guide.lines(), "The new policy file is below: publish it, then press p."])

    def action_step6_served(self) -> None:
        if self._unavailable("served"):
            return
        state = self.wizard.state

        async def job(options: CheckOptions) -> list[str]:
            reveal = await switch.request_id(state, options, self.wizard.clock())
            return reveal.lines()

        self._network("verify the policy file", job)

    def action_step6_id_live(self) -> None:
        if self._unavailable("id_live"):
            return
        state = self.wizard.state

        async def job(options: CheckOptions) -> list[str]:
            try:
                check = await switch.verify_id_live(state, options, self.wizard.clock())
            except SwitchError as exc:
                return [str(exc)]
            done = ["done: the change is live and recorded"] if check.live and state.pending_change is None else []
            return [*check.lines(), *done]

        self._network("verify the new id", job)

    def action_step6_confirm(self) -> None:
        if self._unavailable("confirm"):
            return
        state = self.wizard.state
        try:
            if state.pending_change is not None and state.pending_change.kind == "mx-change":
                confirm_mx_changed(state, self.wizard.clock())
                self._say(["MX change finished"])
            else:
                confirm_removed(state, self.wizard.clock())
                self._say(["MTA-STS removed: every old policy had expired"])
        except SwitchError as exc:
            self._say([str(exc)])

    def action_step6_publish(self) -> None:
        from screens.publish_dialog import publish_new_id

        if not self._unavailable("publish"):
            publish_new_id(self)

    def action_step6_monitor_setup(self) -> None:
        from screens.monitor_setup import MonitorSetup

        if self._unavailable("monitor_setup"):
            return
        state, root = self.wizard.state, Path(self.wizard.store.root)
        self.wizard.push_screen(MonitorSetup(state.domain, state.notify_urls, root, self.wizard.settings.timeout))

    def action_step6_cancel(self) -> None:
        if self._unavailable("cancel"):
            return
        try:
            switch.cancel_change(self.wizard.state)
            self._say(["change cancelled"])
        except SwitchError as exc:
            self._say([str(exc)])

    # ------------------------------------------------------------------ importing reports

    def action_step6_import(self) -> None:
        if self._unavailable("import"):
            return

        def chosen(request: ImportRequest | None) -> None:
            if request is not None:
                self.start_import(request)

        self.app.push_screen(ImportDialog(), chosen)

    def start_import(self, request: ImportRequest) -> None:
        what = ", ".join(request.paths) if request.paths else (request.imap.host if request.imap else "")
        self._importing = True
        self.step6_result = [f"importing reports from {what}: starting…"]
        self.step6_render()
        self._import(request, self.wizard.state.domain)

    @work(thread=True, exclusive=True, group="step6-import", exit_on_error=False)
    def _import(self, request: ImportRequest, domain: str) -> None:
        app = self.wizard
        root = Path(app.store.root)
        settings = app.settings

        def progress(outcome: ImportOutcome) -> None:
            self.post_message(ImportProgress(outcome.imported, outcome.duplicates, len(outcome.rejected)))

        try:
            if request.imap is not None:
                result = import_from_imap(
                    root,
                    request.imap,
                    request.password,
                    settings.nameservers,
                    settings.timeout,
                    settings.ca_bundle,
                    progress,
                )
            else:
                result = import_from_paths(root, request.paths, settings.nameservers, settings.timeout, progress)
        except Exception as exc:  # shown on the screen, never a traceback
            result = ImportResult(None, f"{type(exc).__name__}: {exc}")
        self.post_message(ImportDone(domain, result, request))

    @on(ImportProgress)
    def _import_progress(self, message: ImportProgress) -> None:
        if not self._importing:
            return
        self.step6_result = [
            f"importing reports: {message.imported} new, {message.duplicates} already stored, "
            f"{message.skipped} skipped so far…"
        ]
        self.step6_render()

    @on(ImportDone)
    def _import_done(self, message: ImportDone) -> None:
        self._importing = False
        if self.wizard.session is None or message.domain != self.wizard.state.domain:
            return
        lines = message.result.lines()
        if message.result.outcome is not None and not self.wizard.read_only_reason:
            request = message.request
            remembered = remember_source(self.wizard.state, request.paths, request.imap)
            if remembered:
                self.wizard.save()
                lines += remembered
        self.step6_result = lines
        self.step6_render()
        self.reload_reports()

    # ------------------------------------------------------------------ a failure row's details

    def show_failure_details(self, kind: str, key: str) -> None:
        """Read the row's failure details in a thread, then show them in a dialog."""
        app = self.wizard
        state = app.state
        started = state.mode_history.testing_started_at
        self._read_details(Path(app.store.root), state, kind, key, started.date() if started else None)

    @work(thread=True, exclusive=True, group="step6-details", exit_on_error=False)
    def _read_details(self, root: Path, state: DomainState, kind: str, key: str, since: Any) -> None:
        problem = None
        try:
            rows = load_failure_details(root, state.domain, kind, key, since)
        except (StoreError, OSError) as exc:
            rows, problem = [], f"could not read the report store: {exc}"
        hosts = [key] if kind == "mx" else []
        hosts += [r.receiving_mx for r in rows if r.receiving_mx and r.receiving_mx not in hosts]
        coverage = {h: covering_patterns(state, h) for h in hosts}
        self.post_message(DetailsRead(FailureDetails(kind, key, rows, coverage, problem)))

    @on(DetailsRead)
    def _details_read(self, message: DetailsRead) -> None:
        if self.is_current:
            self.app.push_screen(FailureDetailsDialog(message.details))
