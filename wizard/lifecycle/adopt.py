"""Start from the live world: place a domain from one normal check, and adopt what is live.

A domain may already have MTA-STS (set up by hand, on another machine, or before the state dir
was lost). Proposing a fresh `mode: testing` policy and a new id there would downgrade a working
deployment, so the wizard, `status DOMAIN --live` and `check` first place the domain from the
check's answers:

- "nothing": no policy file, no `_mta-sts` TXT, no TLSRPT record;
- "partial": some of them (e.g. a file but no TXT);
- "testing" / "enforce" / "none": a valid policy served and a valid TXT id: the served mode;
- "unknown": no resolver answered (nothing can be said).

`adopt` then copies what is live into a domain state with no saved policy: step 1 starts from the
served policy (mode, max_age, mx lines in their order), the id is the live TXT's, rua the live
TLSRPT record's, steps already live are verified. It changes the state only: nothing is published.

When saved progress and the live world disagree, `disagreement` says how (both values) so the user
can pick "use what is live" (`use_live`) or keep the saved values and publish them. Anything the
user picks that is lower than what is live (mode, max_age, fewer mx patterns) is described by
`downgrade_effects`, which says what it does to senders that cached the live policy.

Pure: no network, no disk, no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from wizard.policy import PolicyFile
from wizard.state import (
    DomainState,
    PolicyIdEntry,
    SavedPolicy,
    first_unverified_step,
    record_policy,
    record_served,
    set_step,
    status_from_findings,
)
from wizard.state.model import as_utc

Placement = Literal["unknown", "nothing", "partial", "testing", "enforce", "none"]

PLACEMENT_TEXT: dict[str, str] = {
    "unknown": "not known: no DNS resolver answered",
    "nothing": "nothing published yet",
    "partial": "partly published",
    "testing": "live in testing mode",
    "enforce": "live in enforce mode",
    "none": "live in mode none (being removed)",
}
_MODE_RANK = {"none": 0, "testing": 1, "enforce": 2}
ADOPTED = "already live (adopted from what is published)"


@dataclass(frozen=True)
class Live:
    """What the world serves for one domain, read from one `DomainReport`."""

    domain: str
    placement: str
    policy: PolicyFile | None
    """The valid policy senders would read, or None."""
    policy_id: str | None
    """The id of the valid `_mta-sts` TXT record, or None."""
    rua: tuple[str, ...]
    """The rua list of the valid TLSRPT record (empty without one)."""
    steps: dict[int, str]
    """The status each live step earns from the check's findings (only steps that are live)."""
    pieces: tuple[str, ...]
    """What is published, in words (for "partly published: ...")."""

    def headline(self) -> str:
        text = PLACEMENT_TEXT.get(self.placement, self.placement)
        if self.placement == "partial":
            return f"{text}: {', '.join(self.pieces)} (missing: {', '.join(self.missing())})"
        if self.policy is not None and self.placement in ("testing", "enforce", "none"):
            return f"{text}: max_age {self.policy.max_age}, mx {', '.join(self.policy.mx) or '-'}, id {self.policy_id}"
        return text

    def missing(self) -> list[str]:
        out = []
        if self.policy is None:
            out.append("the policy file")
        if self.policy_id is None:
            out.append("the _mta-sts TXT record")
        if not self.rua:
            out.append("the TLSRPT record")
        return out

    @property
    def in_force(self) -> bool:
        """A policy senders use today (file and id both valid)."""
        return self.placement in ("testing", "enforce", "none")


def read_live(report: Any) -> Live:
    """Place the domain from a `wizard.engine.DomainReport` (the normal check's result)."""
    policy: PolicyFile | None = report.policy
    policy_id: str | None = report.sts_id
    tlsrpt = report.tlsrpt.record if report.tlsrpt is not None else None
    rua = tuple(tlsrpt.rua) if tlsrpt is not None else ()
    findings = list(report.findings)
    pieces = []
    steps: dict[int, str] = {}
    if policy is not None:
        pieces.append(f"a {policy.mode} policy file")
        steps[1] = status_from_findings(findings, 1)
        steps[2] = status_from_findings(findings, 2)
    if policy_id is not None:
        pieces.append(f"the _mta-sts TXT (id {policy_id})")
        steps[3] = status_from_findings(findings, 3)
    if tlsrpt is not None:
        pieces.append("a TLSRPT record")
        steps[4] = status_from_findings(findings, 4)
    if report.resolver_unreachable:
        placement = "unknown"
    elif policy is not None and policy_id is not None:
        placement = policy.mode
        if report.smtp:
            steps[5] = status_from_findings(findings, 5)
    elif pieces:
        placement = "partial"
    else:
        placement = "nothing"
    return Live(report.domain, placement, policy, policy_id, rua, steps, tuple(pieces))


# ---------------------------------------------------------------- adoption


def open_step(state: DomainState, live: Live | None) -> int:
    """Where the wizard opens: step 6 for a domain live in enforce, else the first unverified step."""
    if live is not None and live.placement == "enforce" and state.policy is not None:
        return 6
    return first_unverified_step(state)


def can_adopt(state: DomainState, live: Live) -> bool:
    """Something is live and nothing is saved yet to compare it with."""
    if state.policy is not None:
        return False
    return (
        live.policy is not None
        or (live.policy_id is not None and not state.policy_id)
        or bool(live.rua and not state.rua)
    )


def adopt(state: DomainState, live: Live, now: datetime) -> list[str]:
    """Copy what is live into a state with no saved policy; returns what was adopted, in words.

    Nothing is published: the served file, the TXT id and the TLSRPT rua become the saved values,
    so every later step compares against them instead of proposing new ones.
    """
    if not can_adopt(state, live):
        return []
    moment = as_utc(now).replace(microsecond=0)
    out: list[str] = []
    if live.policy is not None:
        record_policy(state, live.policy, moment, policy_id=live.policy_id)
        out.append(
            f"policy: mode {live.policy.mode}, max_age {live.policy.max_age}, mx {', '.join(live.policy.mx) or '-'}"
        )
        if live.policy_id is not None:
            out.append(f"id: {live.policy_id} (from the live _mta-sts TXT)")
    elif live.policy_id is not None:
        state.policy_id = live.policy_id
        out.append(f"id: {live.policy_id} (from the live _mta-sts TXT; no valid policy file is served)")
    if live.rua and not state.rua:
        state.rua = list(live.rua)
        out.append(f"rua: {', '.join(live.rua)} (from the live TLSRPT record)")
    _mark_live_steps(state, live, moment)
    if live.in_force and live.policy is not None:
        record_served(state, live.policy.mode, live.policy.max_age, live.policy_id, moment)
        _mark_step6(state, live, moment)
    return out


def _mark_live_steps(state: DomainState, live: Live, moment: datetime) -> None:
    for step, status in live.steps.items():
        if step == 5 and live.placement != "enforce" and status == "failed":
            continue  # testing: step 5 is where the user fixes it, as for a new domain
        set_step(state, step, status, moment, detail=ADOPTED)  # type: ignore[arg-type]


def _mark_step6(state: DomainState, live: Live, moment: datetime) -> None:
    if live.placement == "enforce":
        set_step(state, 6, "verified", moment, detail="live in enforce mode")
    elif live.placement == "testing":
        set_step(state, 6, "waiting", moment, detail="testing mode is live: read the reports before enforce")


def note_live(state: DomainState, live: Live, now: datetime) -> None:
    """Saved progress that agrees with the world: record the live policy as served (so `status`
    and the header show the live mode) and verify the steps the check saw live."""
    if not live.in_force or live.policy is None or state.policy is None:
        return
    moment = as_utc(now).replace(microsecond=0)
    if state.pending_change is None:
        record_served(state, live.policy.mode, live.policy.max_age, live.policy_id, moment)
    for step, status in live.steps.items():
        if state.steps[step].status in ("not-started", "waiting") and status != "failed":
            set_step(state, step, status, moment, detail=ADOPTED)  # type: ignore[arg-type]
    if live.placement == "enforce" and state.steps[6].status == "not-started":
        _mark_step6(state, live, moment)


# ---------------------------------------------------------------- saved vs live


@dataclass(frozen=True)
class Disagreement:
    """Saved progress and the live world differ: both sides, for the user to pick one."""

    saved_policy: PolicyFile | None
    saved_id: str | None
    live_policy: PolicyFile | None
    live_id: str | None
    saved_rua: tuple[str, ...]
    live_rua: tuple[str, ...]
    differs: tuple[str, ...]
    """What differs, in words (policy, id, rua)."""

    def saved_lines(self) -> list[str]:
        return _side(self.saved_policy, self.saved_id, self.saved_rua)

    def live_lines(self) -> list[str]:
        return _side(self.live_policy, self.live_id, self.live_rua)

    def lower_than_live(self) -> list[str]:
        """What keeping the saved values would do to senders that cached the live policy."""
        if self.live_policy is None or self.saved_policy is None:
            return []
        return downgrade_effects(self.live_policy, self.saved_policy)


def _side(policy: PolicyFile | None, policy_id: str | None, rua: tuple[str, ...]) -> list[str]:
    lines = []
    if policy is not None:
        lines.append(f"mode {policy.mode}, max_age {policy.max_age}")
        lines.append(f"mx {', '.join(policy.mx) or '-'}")
    else:
        lines.append("no valid policy file")
    lines.append(f"id {policy_id or '-'}")
    lines.append(f"rua {', '.join(rua) or '-'}")
    return lines


def _expected(state: DomainState) -> tuple[list[PolicyFile], set[str]]:
    """The policies and ids the saved progress accepts as live (an ordered update allows old and new)."""
    policies: list[PolicyFile] = []
    ids: set[str] = set()
    if state.policy is not None:
        policies.append(state.policy.to_policy_file())
    if state.policy_id:
        ids.add(state.policy_id)
    pending = state.pending_change
    if pending is not None:
        if pending.new_policy is not None:
            policies.append(pending.new_policy.to_policy_file())
        ids.update(i for i in (pending.new_id, pending.previous_id) if i)
    return policies, ids


def disagreement(state: DomainState, live: Live) -> Disagreement | None:
    """How saved progress and the live world differ, or None when they agree (or nothing is live).

    Only what is live counts: a saved policy not yet published at all is the normal "waiting for
    you to publish it", not a disagreement.
    """
    if state.policy is None or live.placement in ("unknown", "nothing"):
        return None
    policies, ids = _expected(state)
    differs = []
    if live.policy is not None and not any(live.policy.same_as(p) for p in policies):
        differs.append("the policy file")
    if live.policy_id is not None and ids and live.policy_id not in ids:
        differs.append("the _mta-sts id")
    if live.rua and state.rua and set(live.rua) != set(state.rua):
        differs.append("the TLSRPT rua")
    if not differs:
        return None
    return Disagreement(
        state.policy.to_policy_file(),
        state.policy_id,
        live.policy,
        live.policy_id,
        tuple(state.rua),
        live.rua,
        tuple(differs),
    )


def use_live(state: DomainState, live: Live, now: datetime) -> list[str]:
    """ "Use what is live": the saved policy, id and rua become the live ones (nothing published).

    An unfinished ordered update is dropped: the world moved on without it.
    """
    moment = as_utc(now).replace(microsecond=0)
    out: list[str] = []
    state.pending_change = None
    if live.policy is not None:
        saved = SavedPolicy.from_policy(live.policy, moment)
        new_id = live.policy_id or state.policy_id
        if new_id and new_id != state.policy_id:
            for entry in state.id_history:
                if entry.retired_at is None:
                    entry.retired_at = moment
            state.id_history.append(
                PolicyIdEntry(
                    id=new_id, created_at=moment, mode=saved.mode, max_age=saved.max_age, policy_text=saved.text
                )
            )
        elif state.id_history and state.id_history[-1].id == new_id:
            entry = state.id_history[-1]
            entry.mode, entry.max_age, entry.policy_text = saved.mode, saved.max_age, saved.text
        state.policy = saved
        state.policy_id = new_id
        out.append(f"policy: mode {saved.mode}, max_age {saved.max_age}, mx {', '.join(saved.mx) or '-'}; id {new_id}")
    if live.rua:
        state.rua = list(live.rua)
        out.append(f"rua: {', '.join(live.rua)}")
    _mark_live_steps(state, live, moment)
    if live.in_force and live.policy is not None:
        record_served(state, live.policy.mode, live.policy.max_age, live.policy_id, moment)
        _mark_step6(state, live, moment)
    return out


def keep_mine(state: DomainState, disagreement: Disagreement, now: datetime) -> list[str]:
    """ "Keep mine, I will publish it": the steps whose live value differs wait for the user."""
    moment = as_utc(now).replace(microsecond=0)
    waits = {"the policy file": (2, "publish the saved policy file"), "the _mta-sts id": (3, "publish the saved id")}
    waits["the TLSRPT rua"] = (4, "publish the saved TLSRPT record")
    out = []
    for what in disagreement.differs:
        step, detail = waits[what]
        set_step(state, step, "waiting", moment, detail=detail)
        out.append(f"step {step}: {detail}")
    return out


# ---------------------------------------------------------------- never lower by accident


def downgrade_effects(live: PolicyFile, new: PolicyFile) -> list[str]:
    """What replacing the live policy with `new` does to senders that cached the live one.

    Empty when `new` is not lower anywhere (mode, max_age, mx patterns). RFC 8461 §5: a sender keeps
    a cached policy until its max_age runs out unless it sees a new id and fetches the new file.
    """
    out = []
    cached = f"senders that cached the live policy keep it for up to {live.max_age} s after their last fetch"
    if _MODE_RANK.get(new.mode, 0) < _MODE_RANK.get(live.mode, 0):
        out.append(
            f"mode {live.mode} -> {new.mode}: mail is no longer protected against downgrade once senders fetch "
            f"the new file; {cached} unless you publish a new id with it"
        )
    if new.max_age < live.max_age:
        out.append(
            f"max_age {live.max_age} -> {new.max_age}: senders re-fetch more often; {cached}, so removing "
            f"MTA-STS stays unsafe until then"
        )
    dropped = sorted({p.lower() for p in live.mx} - {p.lower() for p in new.mx})
    if dropped:
        out.append(
            f"mx patterns dropped: {', '.join(dropped)}; in enforce, senders holding the new policy refuse to "
            f"deliver to MX hosts those patterns covered; {cached}"
        )
    return out


def live_policy_of(state: DomainState) -> PolicyFile | None:
    """The policy last seen served under the saved id (mode and max_age from the served history,
    the mx patterns from the saved policy), or None when none was seen."""
    current = state.mode_history.current
    if current is None or state.policy is None:
        return None
    return PolicyFile(current.mode, current.max_age, tuple(state.policy.mx))
