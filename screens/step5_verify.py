"""Step 5: every check at once, findings grouped by step, each with its fix; `r` re-runs."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from screens.base import StepScreen
from screens.widgets import format_clock, render_findings
from wizard.state import STEP_NAMES


class VerifyStep(StepScreen):
    """The full check (the same one `mta-sts-wizard check` runs)."""

    STEP = 5
    TITLE_TEXT = "Verify everything"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "rerun", "Re-run check")]

    def compose_body(self) -> ComposeResult:
        yield Static(id="check-status")
        yield Static(id="check-results")

    def on_mount(self) -> None:
        self.show_latest()
        self._check_if_never_checked()

    def resumed(self) -> None:
        """Shown again: the latest result, and the first check if none ran yet (as on the first visit)."""
        self.show_latest()
        self._check_if_never_checked()

    def _check_if_never_checked(self) -> None:
        if not self.wizard.attempts.get(5) and not self.wizard.offline and not self.wizard.full_check_running():
            self.action_rerun()

    def action_rerun(self) -> None:
        self.wizard.run_check(5)
        self.show_latest()

    def step_updated(self) -> None:
        self.show_latest()

    def show_latest(self) -> None:
        attempts = self.wizard.attempts.get(5, [])
        status = Text()
        results = Text()
        running = self.wizard.full_check_running()
        if not attempts:
            status.append("Checking every step now…" if running else "Not checked yet: press r to run every check.")
        else:
            latest = attempts[-1]
            status.append(f"Checked at {format_clock(latest.at)}: ", "dim")
            style = {"verified": "bold green", "warning": "bold yellow"}.get(latest.status, "bold red")
            status.append(latest.headline, style)
            if running:
                status.append("  (checking again…)", "dim")
            for step in range(1, 6):
                findings = [f for f in latest.findings if f.step == step]
                if results:
                    results.append("\n\n")
                results.append(f"Step {step}: {STEP_NAMES[step]}\n", "bold underline")
                results.append_text(render_findings(findings, empty="✓ all good"))
            for line in latest.lines:
                results.append(f"\n{line}", "dim")
        self.query_one("#check-status", Static).update(status)
        self.query_one("#check-results", Static).update(results)
