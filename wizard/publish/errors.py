"""The two ways publishing fails: bad input (exit 2) and a DNS that refused or could not be reached (exit 3).

Both carry one line that says what to do. A refusal also says which records had already
changed, so nothing half-applied goes unreported.
"""

from __future__ import annotations

from collections.abc import Sequence


class PublishUsageError(ValueError):
    """Something the user gave (or did not give) is unusable: one line, exit 2."""


class PublishRefused(RuntimeError):
    """The DNS refused the change, the zone was not found, or the server could not be reached: exit 3."""

    def __init__(self, message: str, changed: Sequence[str] = ()) -> None:
        self.changed = tuple(changed)
        if self.changed:
            message += "; already changed before the failure: " + "; ".join(self.changed)
        elif message:
            message += "; nothing was changed"
        super().__init__(message)
