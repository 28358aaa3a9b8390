"""Messages the wizard's workers and widgets post.

Workers never touch widgets (harlequin's rule): they post one of these, and an `@on`
handler on the App or a screen changes state. Each message is a small, plain record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from screens.checks import Attempt


class CheckFinished(Message):
    """A verification of one step finished (successfully or not); posted to the App."""

    def __init__(self, step: int, attempt: Attempt) -> None:
        super().__init__()
        self.step = step
        self.attempt = attempt


class StepUpdated(Message):
    """The App changed what it knows about a step (a new attempt, a poll state); screens re-render."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step


class MxLookedUp(Message):
    """The domain's MX hosts as DNS answered them (or the findings saying why not)."""

    def __init__(self, domain: str, hosts: list[str], findings: list, error: str = "") -> None:
        super().__init__()
        self.domain = domain
        self.hosts = hosts
        self.findings = findings
        self.error = error


class Regressions(Message):
    """Background re-verification on resume found steps that were done and no longer are."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines


class Placed(Message):
    """The check run on opening a domain finished: wizard.lifecycle.adopt places the domain from it."""

    def __init__(self, domain: str, attempt: Attempt) -> None:
        super().__init__()
        self.domain = domain
        self.attempt = attempt
