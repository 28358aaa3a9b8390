"""Turning MTA-STS off safely (RFC 8461 §8.3).

Deleting the records leaves every cached enforce policy in force until it expires, and
senders would then refuse mail to any MX that stops matching. So: publish `mode: none`
with a small max_age under a new id (an ordered update, wizard.lifecycle.switch kind
"remove"), then count down to the moment every policy ever served has expired
(last served + the largest max_age ever published, from the saved history), and only
then remove the TXT record and the policy host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from wizard.lifecycle.switch import SwitchError
from wizard.state import DomainState, largest_max_age, removal_safe_at, set_step
from wizard.state.model import as_utc

RemovalStage = Literal["not-started", "publishing-none", "counting-down", "safe"]


@dataclass(frozen=True)
class RemovalStatus:
    """Where a removal stands and what the user may do now."""

    stage: RemovalStage
    safe_at: datetime | None
    remaining: timedelta
    largest_max_age: int
    records: tuple[str, ...]

    def lines(self) -> list[str]:
        if self.stage == "not-started":
            return [
                "to turn MTA-STS off, first publish 'mode: none' with a small max_age and a new id "
                "(never just delete the records: cached enforce policies would stay in force)"
            ]
        if self.stage == "publishing-none":
            return ["publishing 'mode: none': finish the ordered update (file first, then the new id)"]
        when = f"{self.safe_at:%Y-%m-%d %H:%M} UTC" if self.safe_at else "now"
        if self.stage == "counting-down":
            days = self.remaining.days
            hours = int(self.remaining.seconds // 3600)
            return [
                f"mode none is live; every policy ever served expires by {when} "
                f"(last served + largest max_age {self.largest_max_age} s)",
                f"{days} day(s) {hours} hour(s) left; keep the TXT record and the policy host until then",
            ]
        return [f"safe to remove since {when}: delete these, TXT record first:", *(f"  {r}" for r in self.records)]


def removal_status(state: DomainState, now: datetime) -> RemovalStatus:
    """The removal countdown, read from the saved served history."""
    moment = as_utc(now)
    records = (f"_mta-sts.{state.domain} TXT", f"mta-sts.{state.domain} (the policy host and its DNS record)")
    pending = state.pending_change
    biggest = largest_max_age(state)
    current = state.mode_history.current
    if pending is not None and pending.kind == "remove":
        return RemovalStatus("publishing-none", None, timedelta(0), biggest, records)
    if current is None or current.mode != "none" or current.policy_id != state.policy_id:
        return RemovalStatus("not-started", None, timedelta(0), biggest, records)
    safe = removal_safe_at(state)
    if safe is None or safe <= moment:
        return RemovalStatus("safe", safe, timedelta(0), biggest, records)
    return RemovalStatus("counting-down", safe, safe - moment, biggest, records)


def confirm_removed(state: DomainState, now: datetime) -> RemovalStatus:
    """The user removed the records: refused until the countdown is over; notes it in step 6."""
    status = removal_status(state, now)
    if status.stage != "safe":
        when = f" (until {status.safe_at:%Y-%m-%d %H:%M} UTC)" if status.safe_at else ""
        raise SwitchError(f"not yet: old policies may still be cached{when}; keep the records")
    set_step(state, 6, "verified", as_utc(now), detail="MTA-STS removed: records deleted after every policy expired")
    return status
