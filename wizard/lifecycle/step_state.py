"""A step's real state and the domain's live mode, for the header and the overview.

Kept apart from the dashboard (which pulls the switch and the engine) so that every screen's
header can say it without importing step 6's machinery.
"""

from __future__ import annotations

from typing import Literal

from wizard.state import DomainState

StepState = Literal["verified", "waiting", "failing", "not started"]

_SAVED = {"verified": "verified", "warning": "verified", "failed": "failing", "waiting": "waiting"}


def step_state(state: DomainState, step: int, verdict_status: str | None = None) -> StepState:
    """A step's real state for the header and overview: verified / waiting / failing / not started.

    Steps 1-5 read their saved status. Step 6 has no status of its own until removal ends, so it
    is read from the mode that was last seen served and the verdict: enforce live and healthy is
    verified, a change or testing in progress is waiting, failures the verdict found are failing."""
    record = state.steps[step]
    if step != 6 or record.status in ("verified", "warning", "failed"):
        return _SAVED.get(record.status, "not started")  # type: ignore[return-value]
    current = state.mode_history.current
    if verdict_status == "blocked":
        return "failing"
    if state.pending_change is not None:
        return "waiting"
    if current is not None and current.current and current.mode == "enforce" and state.mode == "enforce":
        return "verified"
    if current is not None and current.current:
        return "waiting"
    return "not started"


def live_mode(state: DomainState) -> str | None:
    """The mode in force (the header, step 6 and `status` show it), or None when none was seen served.

    During an ordered update the old mode stays in force until the new id is live everywhere
    (wizard.lifecycle.switch): senders that cached the old policy fetch the new one only then.
    """
    current = state.mode_history.current
    if current is None:
        return None
    pending = state.pending_change
    if pending is not None and pending.previous_id:
        for entry in reversed(state.id_history):
            if entry.id == pending.previous_id and entry.mode:
                return entry.mode
    return current.mode
