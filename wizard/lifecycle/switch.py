"""The ordered policy update (RFC 8461 §8.1) as a small state machine saved in the domain state.

Senders only fetch a policy when the TXT id changes. If the id changes first, a sender
fetches the *old* body under the *new* id and keeps it for max_age. So every change
(testing -> enforce, a longer max_age, rollback to testing, mode none for removal, a new
MX pattern) goes through four phases, and the machine refuses to skip one:

1. the new policy text (stage "planned");
2. the user publishes it; every address of mta-sts.<domain> must serve it
   (stage "policy-published" once verified);
3. only then is the new TXT id produced and shown (stage "id-published");
4. the new id must be live in both the authoritative and the resolver view; then the
   change is done, the served history updated and the pending change cleared
   (an MX change continues with its wait, see wizard.lifecycle.mx_change).

The progress lives in `DomainState.pending_change`, so quitting in the middle resumes there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from wizard.engine import CheckOptions, PolicyProbe, StsTxtProbe, probe_policy, probe_sts_txt
from wizard.policy import PolicyFile, parse_policy
from wizard.records import parse_sts_record
from wizard.state import DomainState, PendingChange, SavedPolicy, record_policy, record_served
from wizard.state.model import as_utc

ChangeKind = Literal["enforce", "max-age", "rollback", "remove", "mx-change"]
KINDS: tuple[str, ...] = ("enforce", "max-age", "rollback", "remove", "mx-change")

STAGE_PLANNED = "planned"
STAGE_SERVED = "policy-published"
STAGE_ID = "id-published"
STAGE_MX_WAIT = "mx-wait"
STAGE_DONE = "done"

#: The four phases as the user sees them.
PHASES: tuple[str, ...] = (
    "new policy file",
    "publish it: every address must serve it",
    "publish the new TXT id",
    "the new id is live (authoritative and resolvers)",
)

#: The max_age ladder once enforce is verified (RFC 8461 §3.2, §10.2: weeks or longer).
LADDER: tuple[int, ...] = (604_800, 1_209_600, 2_592_000, 7_776_000, 15_552_000)
#: A served-everywhere verification older than this no longer unlocks the id.
SERVE_CHECK_VALID = timedelta(minutes=15)
#: The small max_age of the `mode: none` policy used for removal (SPEC §5).
REMOVAL_MAX_AGE = 86_400

KIND_TITLES = {
    "enforce": "Switch to enforce",
    "max-age": "Raise max_age",
    "rollback": "Roll back to testing",
    "remove": "Turn MTA-STS off (mode none)",
    "mx-change": "Add MX patterns to the policy",
}


class SwitchError(ValueError):
    """The change cannot start or move on; the message says why and what to do (one line)."""


def _now(now: datetime) -> datetime:
    return as_utc(now).replace(microsecond=0)


def human_age(seconds: int) -> str:
    """max_age in words: '604800 s (7 days)'."""
    days = seconds / 86400
    return f"{seconds} s ({days:g} day{'s' if days != 1 else ''})"


# ---------------------------------------------------------------- proposals (phase 1)


def _saved(state: DomainState) -> PolicyFile:
    if state.policy is None:
        raise SwitchError("no policy is saved for this domain yet; finish steps 1 to 5 first")
    return state.policy.to_policy_file()


def enforce_policy(state: DomainState) -> PolicyFile:
    """The saved policy with mode enforce. max_age stays as it is: a short max_age early in
    enforce keeps a rollback quick; the ladder raises it once enforce is verified."""
    current = _saved(state)
    if current.mode == "enforce":
        raise SwitchError("the saved policy is already in enforce mode")
    return PolicyFile("enforce", current.max_age, current.mx, current.version, current.extensions)


def rollback_policy(state: DomainState) -> PolicyFile:
    """The saved policy with mode testing (same patterns and max_age)."""
    current = _saved(state)
    if current.mode == "testing":
        raise SwitchError("the saved policy is already in testing mode")
    return PolicyFile("testing", current.max_age, current.mx, current.version, current.extensions)


def removal_policy(state: DomainState, max_age: int = REMOVAL_MAX_AGE) -> PolicyFile:
    """`mode: none` with a small max_age (RFC 8461 §8.3), patterns kept (senders ignore them)."""
    current = _saved(state)
    if current.mode == "none" and current.max_age <= max_age:
        raise SwitchError("the saved policy is already mode none; wait for the removal countdown")
    return PolicyFile("none", max_age, current.mx, current.version, current.extensions)


@dataclass(frozen=True)
class LadderProposal:
    """The next max_age rung and when it is advised."""

    current: int
    proposed: int
    advised_after: datetime | None
    rungs: tuple[int, ...]

    def line(self) -> str:
        when = f" once the reports stay clean until {self.advised_after:%Y-%m-%d}" if self.advised_after else ""
        return f"raise max_age from {human_age(self.current)} to {human_age(self.proposed)}{when}"


def next_rung(state: DomainState) -> LadderProposal | None:
    """The next max_age to propose: only once enforce is verified served and nothing is pending."""
    if state.policy is None or state.policy.mode != "enforce" or state.pending_change is not None:
        return None
    current = state.mode_history.current
    if current is None or current.mode != "enforce" or current.policy_id != state.policy_id:
        return None
    bigger = [r for r in LADDER if r > state.policy.max_age]
    if not bigger:
        return None
    # Give each rung at least its own length (capped at two weeks) of clean reports first.
    wait = timedelta(seconds=min(state.policy.max_age, 14 * 86400))
    return LadderProposal(state.policy.max_age, bigger[0], current.first_served_at + wait, LADDER)


def ladder_policy(state: DomainState, max_age: int) -> PolicyFile:
    current = _saved(state)
    if max_age <= current.max_age:
        raise SwitchError(f"max_age {max_age} is not larger than the current {current.max_age}")
    return PolicyFile(current.mode, max_age, current.mx, current.version, current.extensions)


# ---------------------------------------------------------------- the machine


def start_change(
    state: DomainState, kind: str, policy: PolicyFile, now: datetime, data: dict[str, Any] | None = None
) -> PendingChange:
    """Phase 1: remember the new policy text. Replaces a change that has not reached its id yet."""
    if kind not in KINDS:
        raise SwitchError(f"unknown change {kind!r}; one of {', '.join(KINDS)}")
    _saved(state)
    pending = state.pending_change
    if pending is not None and pending.stage in (STAGE_ID, STAGE_MX_WAIT):
        raise SwitchError(
            f"a change ({KIND_TITLES.get(pending.kind, pending.kind)}) already has its new id; finish it first"
        )
    assert state.policy is not None
    if policy.to_text() == state.policy.text:
        raise SwitchError("the new policy is the same as the saved one; nothing to change")
    moment = _now(now)
    state.pending_change = PendingChange(
        kind=kind,
        stage=STAGE_PLANNED,
        started_at=moment,
        updated_at=moment,
        new_policy=SavedPolicy.from_policy(policy, moment),
        previous_id=state.policy_id,
        data=dict(data or {}),
    )
    return state.pending_change


def cancel_change(state: DomainState) -> None:
    """Drop a change whose id was not given out yet (after that, undoing is a new change)."""
    pending = state.pending_change
    if pending is None:
        return
    if pending.stage not in (STAGE_PLANNED, STAGE_SERVED):
        raise SwitchError("the new id was already given out; roll forward, or start a new change to undo it")
    state.pending_change = None


def phase(pending: PendingChange | None) -> int:
    """The phase the user is in (1..4), or 0 with nothing pending / 5 when only an MX wait remains."""
    if pending is None:
        return 0
    return {STAGE_PLANNED: 2, STAGE_SERVED: 3, STAGE_ID: 4, STAGE_MX_WAIT: 5, STAGE_DONE: 5}.get(pending.stage, 1)


# ---------------------------------------------------------------- phase 2: served everywhere


@dataclass(frozen=True)
class AddressServe:
    """What one address of the policy host serves, compared with the new and the old policy."""

    address: str
    state: Literal["new", "old", "other", "error"]
    detail: str

    def line(self) -> str:
        mark = {"new": "ok", "old": "OLD", "other": "DIFFERENT", "error": "FAIL"}[self.state]
        return f"{self.address}: [{mark}] {self.detail}"


@dataclass(frozen=True)
class ServeCheck:
    """Phase 2's verdict: does every address serve the new policy?"""

    ok: bool
    addresses: tuple[AddressServe, ...]
    policy_text: str
    checked_at: datetime
    problems: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        head = (
            "every address serves the new policy"
            if self.ok
            else "the new policy is not served everywhere yet: " + "; ".join(self.problems)
        )
        return [head, *(a.line() for a in self.addresses)]


def judge_served(state: DomainState, probe: PolicyProbe, now: datetime) -> ServeCheck:
    """Compare what each address served with the pending new policy (pure)."""
    pending = state.pending_change
    if pending is None or pending.new_policy is None:
        raise SwitchError("no change is in progress; start one first")
    old = state.policy.to_policy_file() if state.policy else None
    return served_check(probe, pending.new_policy.to_policy_file(), old, now)


def served_check(probe: PolicyProbe, new: PolicyFile, old: PolicyFile | None, now: datetime) -> ServeCheck:
    """Does every address of the policy host serve `new` (RFC 8461 §8.1: before its id is published)?"""
    rows: list[AddressServe] = []
    for fetch in probe.fetches:
        if not fetch.served:
            why = fetch.findings[0].message if fetch.findings else fetch.summary()
            rows.append(AddressServe(fetch.address, "error", why))
            continue
        served = parse_policy(fetch.body or b"").policy
        if served is not None and served.same_as(new):
            rows.append(AddressServe(fetch.address, "new", f"mode {served.mode}, max_age {served.max_age}"))
        elif served is not None and served.same_as(old):
            rows.append(AddressServe(fetch.address, "old", f"still the old policy (mode {served.mode})"))
        elif served is not None:
            rows.append(
                AddressServe(
                    fetch.address,
                    "other",
                    f"mode {served.mode}, max_age {served.max_age}, mx {', '.join(served.mx) or '-'}",
                )
            )
        else:
            rows.append(AddressServe(fetch.address, "other", "a file that is not a valid policy"))
    problems: list[str] = []
    if not probe.addresses:
        problems.append(f"{probe.host} has no address")
    bad = [r for r in rows if r.state != "new"]
    if bad:
        problems.append(f"{len(bad)} of {len(rows)} address(es) do not serve it ({', '.join(r.address for r in bad)})")
    return ServeCheck(not problems and bool(rows), tuple(rows), new.to_text(), _now(now), tuple(problems))


def apply_served(state: DomainState, check: ServeCheck, now: datetime) -> None:
    """Move the machine after a phase 2 check: forward when served everywhere, back when no longer."""
    pending = state.pending_change
    if pending is None or pending.new_policy is None or check.policy_text != pending.new_policy.text:
        return
    moment = _now(now)
    if check.ok and pending.stage == STAGE_PLANNED:
        pending.stage = STAGE_SERVED
        pending.updated_at = moment
        pending.data["served_verified_at"] = check.checked_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        # New senders now fetch the new body (under the old id): it is being served, and its
        # max_age counts for removal. The new mode is not "on" yet: senders that cached the old
        # policy keep it until they see the new id, so the mode's start date waits for phase 4.
        new = pending.new_policy
        with _mode_dates_kept(state):
            record_served(state, new.mode, new.max_age, pending.previous_id or "", moment)
    elif not check.ok and pending.stage == STAGE_SERVED:
        pending.stage = STAGE_PLANNED
        pending.updated_at = moment


async def verify_served(state: DomainState, options: CheckOptions, now: datetime) -> ServeCheck:
    """Phase 2: fetch from every address of the policy host and move the machine."""
    probe = await probe_policy(state.domain, options)
    check = judge_served(state, probe, now)
    apply_served(state, check, now)
    return check


# ---------------------------------------------------------------- phase 3: the id


@dataclass(frozen=True)
class IdReveal:
    """Phase 3's answer: the new id and the TXT record, or a refusal with the reasons."""

    refused: bool
    new_id: str | None = None
    record_name: str = ""
    record_text: str | None = None
    reasons: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        if self.refused:
            return [
                "the new id is not shown yet: publish the new policy file everywhere first "
                "(RFC 8461 §8.1: body first, then id)",
                *(f"  {r}" for r in self.reasons),
            ]
        return [f"publish this TXT record at {self.record_name} (replacing the old one):", f"  {self.record_text}"]


def reveal_id(state: DomainState, check: ServeCheck | None, now: datetime) -> IdReveal:
    """Phase 3: give the new id only after a fresh, passing phase 2 check of this very policy."""
    pending = state.pending_change
    name = f"_mta-sts.{state.domain}"
    if pending is None or pending.new_policy is None:
        return IdReveal(True, reasons=("no change is in progress",), record_name=name)
    if pending.stage in (STAGE_ID, STAGE_MX_WAIT, STAGE_DONE) and pending.new_id:
        return IdReveal(False, pending.new_id, name, f"v=STSv1; id={pending.new_id}")
    reasons: list[str] = []
    moment = _now(now)
    if check is None:
        reasons.append("the policy host was not checked yet")
    elif check.policy_text != pending.new_policy.text:
        reasons.append("the last check was for another policy text")
    elif not check.ok:
        reasons.extend(check.problems)
        reasons.extend(a.line() for a in check.addresses if a.state != "new")
    elif moment - check.checked_at > SERVE_CHECK_VALID:
        reasons.append(f"the last check is older than {int(SERVE_CHECK_VALID.total_seconds() // 60)} minutes")
    if not reasons and pending.stage != STAGE_SERVED:
        reasons.append("the new policy was not verified as served")
    if reasons:
        return IdReveal(True, reasons=tuple(reasons), record_name=name)
    record_policy(state, pending.new_policy.to_policy_file(), moment)
    pending.new_id = state.policy_id
    pending.stage = STAGE_ID
    pending.updated_at = moment
    return IdReveal(False, pending.new_id, name, f"v=STSv1; id={pending.new_id}")


async def request_id(state: DomainState, options: CheckOptions, now: datetime) -> IdReveal:
    """Phase 2 then 3 in one go: re-check every address, and give the id only if all serve the new file."""
    pending = state.pending_change
    if pending is not None and pending.stage in (STAGE_ID, STAGE_MX_WAIT, STAGE_DONE):
        return reveal_id(state, None, now)
    if pending is None:
        return reveal_id(state, None, now)
    check = await verify_served(state, options, now)
    return reveal_id(state, check, now)


# ---------------------------------------------------------------- phase 4: id live


@dataclass(frozen=True)
class IdLiveCheck:
    """Phase 4's verdict: the new id in the authoritative and the resolver view."""

    live: bool
    new_id: str
    resolver_id: str | None
    authoritative_ids: tuple[str, ...] | None
    ttl: int | None
    wait_seconds: int | None
    lines_: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        return list(self.lines_)


def judge_id_live(state: DomainState, probe: StsTxtProbe) -> IdLiveCheck:
    """Is the pending new id what both views serve, as the only v=STSv1 record? (pure)"""
    pending = state.pending_change
    if pending is None or not pending.new_id or pending.stage != STAGE_ID:
        raise SwitchError("no new id was given out yet; verify the policy file first")
    new_id = pending.new_id
    resolver_id = probe.record.id if probe.record else None
    auth_ids: tuple[str, ...] | None = None
    if probe.authoritative is not None:
        published = probe.authoritative.records()
        if published is not None:
            ids = []
            for value in published:
                if value.startswith("v=STSv1"):
                    rec, _ = parse_sts_record(value)
                    ids.append(rec.id if rec else "(invalid)")
            auth_ids = tuple(ids)
    lines: list[str] = []
    auth_ok = auth_ids == (new_id,)
    if auth_ids is None:
        lines.append("authoritative view: not available (the zone's servers did not all answer alike)")
    elif auth_ok:
        lines.append(f"authoritative view: id={new_id} [ok]")
    elif not auth_ids:
        lines.append("authoritative view: no v=STSv1 record published")
    elif len(auth_ids) > 1:
        lines.append(f"authoritative view: {len(auth_ids)} v=STSv1 records ({', '.join(auth_ids)}); delete the old one")
    else:
        lines.append(f"authoritative view: id={auth_ids[0]}, not the new id {new_id}")
    res_ok = resolver_id == new_id and not any(f.code == "sts-txt-multiple" for f in probe.findings)
    ttl = probe.resolver.ttl
    if res_ok:
        lines.append(f"resolver view: id={new_id} [ok]")
    else:
        lines.append(f"resolver view: id={resolver_id or '(none)'}, not yet the new id {new_id}")
    wait = None
    if auth_ok and not res_ok:
        wait = probe.propagation_seconds if probe.propagation_seconds is not None else ttl
        lines.append(f"published; resolvers may serve the old answer for up to {wait} more seconds")
    live = auth_ok and res_ok
    if live:
        lines.insert(0, f"the new id {new_id} is live")
    return IdLiveCheck(live, new_id, resolver_id, auth_ids, ttl, wait, tuple(lines))


def apply_id_live(state: DomainState, check: IdLiveCheck, now: datetime) -> None:
    """Finish the change once the id is live: record it served, clear the pending change
    (an MX change moves on to its wait before the MX records change)."""
    pending = state.pending_change
    if not check.live or pending is None or pending.new_id != check.new_id or pending.new_policy is None:
        return
    moment = _now(now)
    new = pending.new_policy
    before = state.mode_history.served[-2].mode if _served_early(state, pending) else _current_mode(state)
    record_served(state, new.mode, new.max_age, check.new_id, moment)
    if new.mode != before:
        _stamp_mode_start(state, new.mode, moment)
    if pending.kind == "mx-change":
        from wizard.lifecycle.mx_change import start_mx_wait

        start_mx_wait(state, moment, check.ttl)
        return
    pending.stage = STAGE_DONE
    state.pending_change = None


async def verify_id_live(state: DomainState, options: CheckOptions, now: datetime) -> IdLiveCheck:
    """Phase 4: read the TXT record from the resolver and the authoritative servers."""
    probe = await probe_sts_txt(state.domain, options)
    check = judge_id_live(state, probe)
    apply_id_live(state, check, now)
    return check


@contextmanager
def _mode_dates_kept(state: DomainState) -> Iterator[None]:
    history = state.mode_history
    kept = (history.testing_started_at, history.enforce_started_at, history.none_started_at)
    yield
    history.testing_started_at, history.enforce_started_at, history.none_started_at = kept


def _current_mode(state: DomainState) -> str | None:
    current = state.mode_history.current
    return current.mode if current is not None else None


def _served_early(state: DomainState, pending: PendingChange) -> bool:
    """Phase 2 recorded the new body served under the old id (the entry before it is the old policy)."""
    served = state.mode_history.served
    current = state.mode_history.current
    return (
        current is not None
        and len(served) >= 2
        and pending.new_policy is not None
        and (current.mode, current.max_age, current.policy_id)
        == (pending.new_policy.mode, pending.new_policy.max_age, pending.previous_id or "")
    )


def _stamp_mode_start(state: DomainState, mode: str, moment: datetime) -> None:
    """The new mode is on from now: every address serves it and the new id is live everywhere."""
    history = state.mode_history
    if mode == "enforce":
        history.enforce_started_at = moment
    elif mode == "testing":
        history.testing_started_at = moment
    elif mode == "none":
        history.none_started_at = moment


def pending_lines(state: DomainState) -> list[str]:
    """Where an unfinished change stands, as lines for `status` and the screen."""
    pending = state.pending_change
    if pending is None:
        return []
    current = shown_phase(pending)
    title = KIND_TITLES.get(pending.kind, pending.kind)
    if current > len(PHASES):
        return [f"{title}: the new id is live; {MX_WAIT_TEXT}"]
    out = [f"{title}: phase {current} of {len(PHASES)}: {PHASES[current - 1]}"]
    for i, name in enumerate(PHASES, start=1):
        mark = "x" if i < current else (">" if i == current else " ")
        out.append(f"  [{mark}] {i}. {name}")
    if pending.new_id:
        out.append(f"  new id: {pending.new_id} (v=STSv1; id={pending.new_id})")
    return out


MX_WAIT_TEXT = "wait for senders' cached policies to expire before changing the MX records"


def shown_phase(pending: PendingChange) -> int:
    """The one phase the user is in, as shown: the id given out is phase 3 (publish it) until
    phase 4's check sees it live on every authoritative server and through the resolver."""
    current = phase(pending)
    return 3 if pending.stage == STAGE_ID else current
