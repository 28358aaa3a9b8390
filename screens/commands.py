"""Command-palette entries: jump to any step, the overview, help, the theme.

Built from the same step registry the key bindings use, so the palette and the keys
never disagree about what exists.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from wizard.state import STEP_NAMES

if TYPE_CHECKING:
    from screens.app import WizardApp


class StepCommands(Provider):
    """ "Step 3: _mta-sts TXT" and friends."""

    def _entries(self) -> list[tuple[str, Callable[[], None], str]]:
        app = cast("WizardApp", self.app)
        out: list[tuple[str, Callable[[], None], str]] = []
        if app.domain is not None:
            for step, name in STEP_NAMES.items():
                out.append((f"Step {step}: {name}", partial(app.goto_step, step), f"open step {step}"))
            out.append(("Overview of the steps", app.show_overview, "all six steps with their status"))
        out.append(("Choose another domain", app.show_start, "the start screen"))
        out.append(("Help", app.action_help, "keys and what each step does"))
        return out

    async def discover(self) -> Hits:
        for title, callback, help_text in self._entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
