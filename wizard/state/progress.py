"""Changing a DomainState the way the wizard means it: steps, policy and id, history, checks.

Pure functions on the dataclasses (no disk): the App calls them, then `session.save()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from wizard.findings import Finding
from wizard.state.model import (
    DONE_STATUSES,
    MODES,
    STEP_NAMES,
    STEP_STATUSES,
    STEPS,
    CheckResults,
    DomainState,
    PolicyIdEntry,
    PolicyLike,
    SavedFinding,
    SavedPolicy,
    ServedPolicy,
    StepStatus,
    as_utc,
    utc_now,
)


def _now(now: datetime | None) -> datetime:
    return as_utc(now) if now else utc_now()


# ---------------------------------------------------------------- steps


def set_step(state: DomainState, step: int, status: StepStatus, now: datetime | None = None, detail: str = "") -> None:
    """Record a step's status. `changed_at` moves only when the status changes; `checked_at` always."""
    if step not in STEP_NAMES:
        raise ValueError(f"step {step} does not exist; steps are 1..6")
    if status not in STEP_STATUSES:
        raise ValueError(f"{status!r} is not a step status ({', '.join(STEP_STATUSES)})")
    moment = _now(now)
    record = state.steps[step]
    if record.status != status:
        record.status = status
        record.changed_at = moment
    record.checked_at = moment
    record.detail = detail


def step_done(state: DomainState, step: int) -> bool:
    """True when the step is verified (with or without warnings)."""
    return state.steps[step].status in DONE_STATUSES


def done_steps(state: DomainState) -> list[int]:
    """The steps marked done: the ones to re-verify in the background on resume."""
    return [n for n in STEPS if step_done(state, n)]


def first_unverified_step(state: DomainState) -> int:
    """Where resuming opens: the first step not yet verified (warnings count as verified).

    A finished setup lives in step 6 (monitoring), so this is 6 when all steps are done.
    """
    for n in STEPS:
        if not step_done(state, n):
            return n
    return STEPS[-1]


def status_from_findings(findings: Iterable[Finding], step: int) -> StepStatus:
    """The status a check's findings give one step: failed on an error, warning on a
    warning, else verified (info findings do not count)."""
    severities = {f.severity for f in findings if f.step == step}
    if "error" in severities:
        return "failed"
    if "warning" in severities:
        return "warning"
    return "verified"


# ---------------------------------------------------------------- policy and id


def policy_id_for(state: DomainState, policy: PolicyLike, now: datetime | None = None) -> str:
    """The id the policy should be published under: the current id when the text is
    unchanged, else a fresh one strictly greater than the current (wizard.ids).

    Pure: nothing is recorded. Step 6 uses it to plan an ordered update.
    """
    if state.policy is not None and state.policy_id and state.policy.text == policy.to_text():
        return state.policy_id
    from wizard.ids import new_policy_id

    return new_policy_id(now=_now(now), previous=state.policy_id)


def record_policy(
    state: DomainState, policy: PolicyLike, now: datetime | None = None, *, policy_id: str | None = None
) -> bool:
    """Save a generated policy; regenerate the id only when the policy text changed.

    Returns True when a new id was made (the TXT record must then be republished,
    after the new body is served: RFC 8461 §8.1). The previous id is kept in
    `id_history` with the time it was retired. Step 6 passes `policy_id` (the id it
    planned with `policy_id_for` and saved in `pending_change.new_id`) so the id the
    user published is the one recorded; it is used only when the text changed.
    """
    moment = _now(now)
    unchanged = state.policy is not None and state.policy_id and state.policy.text == policy.to_text()
    if unchanged:
        return False
    if policy_id is not None:
        from wizard.ids import is_valid_id

        if not is_valid_id(policy_id) or policy_id == state.policy_id:
            raise ValueError(f"{policy_id!r} cannot be the new id: it must be 1-32 letters/digits and differ")
        new_id = policy_id
    else:
        new_id = policy_id_for(state, policy, moment)
    saved = SavedPolicy.from_policy(policy, moment)
    for entry in state.id_history:
        if entry.retired_at is None:
            entry.retired_at = moment
    state.id_history.append(
        PolicyIdEntry(id=new_id, created_at=moment, mode=saved.mode, max_age=saved.max_age, policy_text=saved.text)
    )
    state.policy = saved
    state.policy_id = new_id
    return True


# ---------------------------------------------------------------- served history


def record_served(
    state: DomainState, mode: str, max_age: int, policy_id: str | None, now: datetime | None = None
) -> ServedPolicy:
    """Note that a policy was seen served (by a check, or confirmed by the user).

    `policy_id` is the TXT id it was served under ("" or None when unknown).

    The same policy seen again extends its entry; a different one closes the previous
    entry at `now` and opens a new one. Switching mode stamps the mode's start time.
    """
    if mode not in MODES:
        raise ValueError(f"{mode!r} is not a policy mode ({', '.join(MODES)})")
    moment = _now(now)
    history = state.mode_history
    current = history.current
    policy_id = policy_id or ""
    if current and (current.mode, current.max_age, current.policy_id) == (mode, max_age, policy_id):
        current.last_served_at = max(current.last_served_at, moment)
        return current
    previous_mode = current.mode if current else None
    if current:
        current.current = False
        current.last_served_at = max(current.last_served_at, moment)
    entry = ServedPolicy(
        mode=mode,  # type: ignore[arg-type]
        max_age=int(max_age),
        policy_id=policy_id,
        first_served_at=moment,
        last_served_at=moment,
    )
    history.served.append(entry)
    if mode != previous_mode:
        if mode == "testing":
            history.testing_started_at = moment
        elif mode == "enforce":
            history.enforce_started_at = moment
        elif mode == "none":
            history.none_started_at = moment
    return entry


def largest_max_age(state: DomainState) -> int:
    """The largest max_age ever served (0 when nothing was)."""
    return max((s.max_age for s in state.mode_history.served), default=0)


def removal_safe_at(state: DomainState) -> datetime | None:
    """When removing the TXT record and policy host becomes safe (RFC 8461 §8.3).

    Senders may keep a policy for its max_age after they last fetched it, so the
    answer is: the last time a policy other than `none` was served, plus the largest
    max_age ever published. None when no such policy was ever served (nothing can be
    cached: removal is safe now). While a non-`none` policy is still the current one,
    its last sighting counts, so the time moves on at each sighting; step 6 should
    switch to `mode: none` first (see `ModeHistory.current`).
    """
    active = [s.last_served_at for s in state.mode_history.served if s.mode != "none"]
    if not active:
        return None
    return max(active) + timedelta(seconds=largest_max_age(state))


def removal_remaining(state: DomainState, now: datetime | None = None) -> timedelta:
    """How long until removal is safe (zero when it already is)."""
    safe = removal_safe_at(state)
    if safe is None:
        return timedelta(0)
    return max(timedelta(0), safe - _now(now))


# ---------------------------------------------------------------- checks


def record_check(
    state: DomainState, findings: Iterable[Finding], now: datetime | None = None, steps: Iterable[int] = STEPS
) -> CheckResults:
    """Keep a check's findings (codes, severities, subjects) and time, for the next resume.

    `steps` names the steps the check covered; regressions are only looked for there.
    """
    results = CheckResults(
        checked_at=_now(now),
        findings=[SavedFinding.from_finding(f) for f in findings],
        steps=sorted(set(steps)),
    )
    state.last_check = results
    return results
