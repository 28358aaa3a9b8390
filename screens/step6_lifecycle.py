"""Step 6 widgets: the readiness verdict with its evidence, the daily failure-rate chart, the guided
switch (with its refusal), the max_age ladder, the MX change guide, removal countdown and rollback.

Every decision comes from wizard.lifecycle; this module only shows results and starts the
network steps in workers. Workers do not touch widgets: they return, and the handler saves
the state and re-renders.

The report store (SQLite) is never read on the UI loop: a thread worker reads it and posts
`ReportsRead`; renders use the last reading (kept on the App per domain, so a revisit shows it
at once while it is re-read) and show "loading reports…" until there is one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Sparkline, Static
from textual.worker import Worker, WorkerState

from screens.base import StepScreen
from screens.confirm import gate_dialog
from wizard.engine import CheckOptions
from wizard.lifecycle import switch
from wizard.lifecycle.evidence import ReportEvidence
from wizard.lifecycle.gate import gate_for
from wizard.lifecycle.hooks import Saved, evidence_for, step6_lines, verdict_for
from wizard.lifecycle.mx_change import confirm_mx_changed, mx_guide, plan_mx_change
from wizard.lifecycle.readiness import Verdict
from wizard.lifecycle.removal import confirm_removed, removal_status
from wizard.lifecycle.switch import SwitchError
from wizard.reports.store import ReportStore, StoreError, store_path
from wizard.state import DomainState
from wizard.text import shown

_STATUS_STYLE = {"ready": "bold green", "not-yet": "bold yellow", "blocked": "bold red"}
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


class LifecyclePanel(Vertical):
    """The step 6 evidence and actions, rendered from the saved state and the report store."""

    DEFAULT_CSS = """
    LifecyclePanel { height: auto; }
    LifecyclePanel Sparkline { height: 3; margin: 0 0 1 0; }
    LifecyclePanel Static { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="step6-verdict")
        yield Static(id="step6-chart-title")
        yield Sparkline([], id="step6-chart")
        yield Static(id="step6-change")
        yield Static(id="step6-actions")

    def show_loading(self, state: DomainState, now: datetime, last_result: list[str]) -> None:
        """Before the first reading of the report store: say so where the verdict and the chart go."""
        self.query_one("#step6-verdict", Static).update(Text("Readiness for enforce: " + LOADING, "bold dim"))
        title = Text("Daily failure rate (%), from the TLS reports: ", "bold")
        title.append(LOADING, "dim")
        self.query_one("#step6-chart-title", Static).update(title)
        self.query_one("#step6-chart", Sparkline).display = False
        self.query_one("#step6-change", Static).update(Text("\n".join(shown(line) for line in last_result)))
        self.query_one("#step6-actions", Static).update(_actions_text(state, None, now))

    def show(self, saved: Saved, verdict: Verdict, now: datetime, mx_hosts: Any, last_result: list[str]) -> None:
        lines = [shown(line) for line in step6_lines(saved, verdict, now, mx_hosts=mx_hosts)]  # quotes reports
        head = Text(lines[0] + "\n", _STATUS_STYLE.get(verdict.status, "bold"))
        head.append("\n".join(lines[1:]))
        self.query_one("#step6-verdict", Static).update(head)
        daily = saved.evidence.summary.daily if saved.evidence else []
        rates = [(d.rate or 0.0) * 100 for d in daily]
        title = Text("Daily failure rate (%), from the TLS reports: ", "bold")
        if rates:
            title.append(f"{len(rates)} day(s), {daily[0].date} to {daily[-1].date}, peak {max(rates):.2f}%")
        else:
            title.append("no reports yet", "yellow")
        self.query_one("#step6-chart-title", Static).update(title)
        chart = self.query_one("#step6-chart", Sparkline)
        chart.data = rates or [0.0]
        chart.display = bool(rates)  # a chart of no data would draw one full-height bar
        self.query_one("#step6-change", Static).update(Text("\n".join(shown(line) for line in last_result)))
        self.query_one("#step6-actions", Static).update(_actions_text(saved.state, verdict.status, now))


def _actions_text(state: DomainState, status: str | None, now: datetime) -> Text:
    """The keys that apply now; `status` is the verdict's (None while the reports are read)."""
    out = Text("Keys: ", "bold")
    pending = state.pending_change
    keys: list[str] = ["c fresh check"]
    if pending is not None:
        current = switch.phase(pending)
        if current in (2, 3):
            keys.append("p published: verify every address, then show the id")
        elif current == 4:
            keys.append("i id published: verify it is live")
        elif current == 5:
            keys.append("k MX records changed")
        if current in (2, 3, 4):
            keys.append("u publish it for me (the new id only once every address serves the new file)")
        if current in (2, 3):
            keys.append("z cancel the change")
    elif state.mode == "testing":
        advice = "" if status == "ready" else f" ({LOADING})" if status is None else " (not advised yet)"
        keys.append("e switch to enforce" + advice)
    if pending is None and state.mode == "enforce":
        keys.append("t roll back to testing")
        if switch.next_rung(state) is not None:
            keys.append("a raise max_age")
    if pending is None and state.mode != "none":
        keys.append("d turn MTA-STS off")
    if pending is None and removal_status(state, now).stage == "safe":
        keys.append("k records removed")
    out.append(" · ".join(keys))
    return out


class LifecycleStepScreen(StepScreen):
    """The step 6 screen's bindings and workers (screens/step6_monitor.py builds on it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "step6_check", "Fresh check"),
        Binding("e", "step6_enforce", "Enforce", show=False),
        Binding("p", "step6_served", "Published: verify", show=False),
        Binding("i", "step6_id_live", "Id published", show=False),
        Binding("a", "step6_ladder", "Raise max_age", show=False),
        Binding("t", "step6_rollback", "Roll back", show=False),
        Binding("d", "step6_remove", "Turn off", show=False),
        Binding("g", "step6_mx", "Add MX patterns", show=False),
        Binding("k", "step6_confirm", "Done", show=False),
        Binding("z", "step6_cancel", "Cancel change", show=False),
        Binding("u", "step6_publish", "Publish it for me", show=False),
        Binding("m", "step6_monitor_setup", "Notifications"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step6_result: list[str] = []
        self._reports_generation = 0

    # ------------------------------------------------------------------ the report store

    @property
    def reports(self) -> ReportsReading | None:
        """The last reading of the report store for this domain (None: the first is still running)."""
        return self.wizard.reports_cache.get(self.wizard.state.domain)

    def reload_reports(self) -> None:
        """Re-read the report store in a thread; renders keep showing the last reading meanwhile."""
        self._reports_generation += 1
        app = self.wizard
        root = Path(app.store.root)
        if not store_path(root).exists():  # one stat: nothing to read, no loading state to show
            app.reports_cache[app.state.domain] = NO_STORE
            return
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

    # ------------------------------------------------------------------ rendering

    def last_findings(self) -> Any:
        """The findings of the last full check (this session's, else the saved one's)."""
        state = self.wizard.state
        full = self.wizard.attempts.get(5, [])
        return full[-1].findings if full else (state.last_check.findings if state.last_check else None)

    def current_verdict(self) -> Verdict | None:
        """The readiness verdict now (None until the report store has been read once)."""
        reading = self.reports
        if reading is None:
            return None
        saved = Saved(self.wizard.state, reading.evidence, reading.problem)
        return verdict_for(saved, self.last_findings(), self.wizard.clock(), mx_hosts=self.wizard.mx_hosts)

    def step6_render(self) -> None:
        app = self.wizard
        state = app.state
        now = app.clock()
        reading = self.reports
        verdict = self.current_verdict()
        if reading is None or verdict is None:
            self.query_one(LifecyclePanel).show_loading(state, now, self.step6_result)
            return
        saved = Saved(state, reading.evidence, reading.problem)
        self.query_one(LifecyclePanel).show(saved, verdict, now, app.mx_hosts, self.step6_result)

    def _gated(self, kind: str, proceed: Callable[[], None], detail: tuple[str, ...] = ()) -> None:
        """Run `proceed` after the confirmation dialog of a risky move (wizard.lifecycle.gate);
        Cancel (the default) changes nothing."""
        if self.wizard.read_only_reason:
            self._say([f"read-only: {self.wizard.read_only_reason}"])
            return
        gate = gate_for(kind, self.wizard.state.domain, self.current_verdict(), self.last_findings(), detail)
        if gate is None:
            proceed()
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                proceed()
            else:
                self._say([f"{gate.title}: cancelled; nothing changed"])

        self.app.push_screen(gate_dialog(gate), answered)

    def _say(self, lines: list[str]) -> None:
        self.step6_result = lines
        self.wizard.save()
        self.refresh_header()  # the live mode may have changed (a change finished)
        self.step6_render()
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
        text = self.wizard.state.pending_change.new_policy.text  # type: ignore[union-attr]
        self._say(
            [
                f"{switch.KIND_TITLES[kind]}: the new policy file:",
                *(f"    {line}" for line in text.splitlines()),
                "Publish it at https://mta-sts." + self.wizard.state.domain + "/.well-known/mta-sts.txt on every "
                "address, then press p. The new TXT id is shown only after that check passes.",
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

    # ------------------------------------------------------------------ actions

    def action_step6_check(self) -> None:
        self.wizard.run_check(5)
        self.step6_result = ["fresh full check running (every MX, the policy host, both TXT records)..."]
        self.step6_render()

    def action_step6_enforce(self) -> None:
        self._gated("enforce", lambda: self._plan("enforce", lambda: switch.enforce_policy(self.wizard.state)))

    def action_step6_rollback(self) -> None:
        """A lower mode than what is live: asked first, saying what it does to senders that cached it."""
        from screens.confirm import ConfirmScreen
        from wizard.lifecycle.adopt import downgrade_effects

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

        if self.wizard.read_only_reason:
            self._say([f"read-only: {self.wizard.read_only_reason}"])
            return
        self.app.push_screen(ConfirmScreen("Roll back to testing?", effects, confirm_label="Roll back"), answered)

    def action_step6_remove(self) -> None:
        self._gated("remove", lambda: self._plan("remove", lambda: switch.removal_policy(self.wizard.state)))

    def action_step6_ladder(self) -> None:
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
        text = state.pending_change.new_policy.text  # type: ignore[union-attr]
        self._say([*guide.lines(), "The new policy file:", *(f"    {x}" for x in text.splitlines())])

    def action_step6_served(self) -> None:
        state = self.wizard.state

        async def job(options: CheckOptions) -> list[str]:
            reveal = await switch.request_id(state, options, self.wizard.clock())
            return reveal.lines()

        self._network("verify the policy file", job)

    def action_step6_id_live(self) -> None:
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

        publish_new_id(self)

    def action_step6_monitor_setup(self) -> None:
        from screens.monitor_setup import MonitorSetup

        state, root = self.wizard.state, Path(self.wizard.store.root)
        self.wizard.push_screen(MonitorSetup(state.domain, state.notify_urls, root, self.wizard.settings.timeout))

    def action_step6_cancel(self) -> None:
        try:
            switch.cancel_change(self.wizard.state)
            self._say(["change cancelled"])
        except SwitchError as exc:
            self._say([str(exc)])
