"""Changing MX hosts without losing mail (SPEC §5, from RFC 8461 §4, §5.1, §8.1).

Every MX in DNS must match both the current policy and any policy a sender may still
hold. So a new MX goes: add its pattern to the policy, publish the file, bump the id,
wait until senders have seen the new id (the TXT TTL, and a daily refresh cycle bounded
by the old max_age), and only then add the MX record. An old pattern is dropped only after
the old MX has left DNS. When DNS already has an MX the policy does not cover, the same
order applies at once, and in enforce mode it is urgent: senders refuse to deliver to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from wizard.lifecycle.switch import STAGE_MX_WAIT, SwitchError, start_change
from wizard.mx import coverage, validate_mx_pattern
from wizard.policy import PolicyFile
from wizard.state import DomainState, PendingChange
from wizard.state.model import as_utc, time_from_json, time_to_json

#: Senders are advised to refresh policies daily (RFC 8461 §3.3, §10.2).
REFRESH_CYCLE = 86_400


@dataclass(frozen=True)
class MxChangeGuide:
    """What differs between DNS and the policy, and the ordered steps that fix it."""

    mode: str
    uncovered: tuple[str, ...]
    unused: tuple[str, ...]
    urgent: bool
    steps: tuple[str, ...]
    proposed: PolicyFile | None = None
    notes: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        out = []
        if self.uncovered:
            head = "URGENT: " if self.urgent else ""
            consequence = (
                "senders refuse to deliver to it now (enforce mode)"
                if self.urgent
                else "mail to it would fail in enforce mode"
            )
            out.append(f"{head}MX in DNS but not in the policy: {', '.join(self.uncovered)}; {consequence}")
        if self.unused:
            out.append(f"policy patterns matching no MX in DNS: {', '.join(self.unused)}")
        out += [f"  {i}. {s}" for i, s in enumerate(self.steps, start=1)]
        out += [f"  {n}" for n in self.notes]
        return out


def wait_seconds(txt_ttl: int | None, old_max_age: int) -> int:
    """How long after the new id is live to wait before changing MX records.

    Resolvers may serve the old id for the TXT TTL; senders refresh about daily, and a
    sender must refetch anyway once the old policy's max_age ran out.
    """
    return max(txt_ttl or 0, min(old_max_age, REFRESH_CYCLE))


def mx_guide(state: DomainState, dns_hosts: Sequence[str], txt_ttl: int | None = None) -> MxChangeGuide | None:
    """The guide when the MX records in DNS and the saved policy's patterns disagree; None when they agree."""
    if state.policy is None or state.policy.mode == "none" or not dns_hosts:
        return None
    cov = coverage(state.policy.mx, dns_hosts)
    if not cov.uncovered and not cov.unused:
        return None
    mode = state.policy.mode
    steps: list[str] = []
    proposed = None
    if cov.uncovered:
        proposed = PolicyFile(
            mode,
            state.policy.max_age,
            (*state.policy.mx, *cov.uncovered),
            state.policy.version,
            tuple((k, v) for k, v in state.policy.extensions),
        )
        wait = wait_seconds(txt_ttl, state.policy.max_age)
        steps += [
            f"add {', '.join(f'mx: {h}' for h in cov.uncovered)} to the policy file (the wizard prepares it)",
            "publish the new file on every address of mta-sts." + state.domain + "; the wizard checks each one",
            "publish the new TXT id the wizard then shows, and let it verify the id is live",
            f"wait {wait // 3600} hour(s) after the id is live (TXT TTL {txt_ttl if txt_ttl is not None else '?'} s, "
            f"daily refresh, old max_age {state.policy.max_age} s); the wizard shows until when",
            "only then add or change the MX records (for a new MX that is not in DNS yet)",
        ]
    if cov.unused:
        steps.append(
            f"drop {', '.join(cov.unused)} from the policy only after that MX has left DNS and its TTL has passed, "
            "with the same ordered update"
        )
    notes: tuple[str, ...] = ()
    if cov.uncovered and mode == "enforce":
        notes = ("these MX hosts already receive mail senders refuse to deliver; do steps 1-3 now",)
    return MxChangeGuide(
        mode,
        tuple(cov.uncovered),
        tuple(cov.unused),
        bool(cov.uncovered) and mode == "enforce",
        tuple(steps),
        proposed,
        notes,
    )


def plan_mx_change(state: DomainState, add: Sequence[str], now: datetime, *, in_dns: bool = False) -> PendingChange:
    """Phase 1 of an MX change: the policy with the new patterns (validated), as an ordered update.

    `in_dns` says the MX records already exist (then there is nothing to wait for at the end).
    """
    if state.policy is None:
        raise SwitchError("no policy is saved for this domain yet; finish steps 1 to 5 first")
    new: list[str] = []
    for raw in add:
        pattern = raw.strip().rstrip(".").lower()
        problem = validate_mx_pattern(pattern)
        if problem:
            raise SwitchError(f"{raw!r}: {problem}")
        if pattern not in (p.lower() for p in state.policy.mx) and pattern not in new:
            new.append(pattern)
    if not new:
        raise SwitchError("every pattern given is already in the policy; nothing to add")
    policy = PolicyFile(
        state.policy.mode,
        state.policy.max_age,
        (*state.policy.mx, *new),
        state.policy.version,
        tuple((k, v) for k, v in state.policy.extensions),
    )
    return start_change(state, "mx-change", policy, now, {"add": new, "in_dns": in_dns})


def start_mx_wait(state: DomainState, now: datetime, txt_ttl: int | None) -> None:
    """Called when the MX change's new id is live: compute until when to wait (saved)."""
    pending = state.pending_change
    if pending is None:
        return
    moment = as_utc(now)
    previous_max_age = _previous_max_age(state, pending)
    wait = wait_seconds(txt_ttl, previous_max_age)
    pending.stage = STAGE_MX_WAIT
    pending.updated_at = moment
    pending.data["id_live_at"] = time_to_json(moment)
    pending.data["txt_ttl"] = txt_ttl
    pending.data["change_mx_after"] = time_to_json(moment + timedelta(seconds=wait))
    pending.data["old_policy_expires_at"] = time_to_json(moment + timedelta(seconds=previous_max_age))


def _previous_max_age(state: DomainState, pending: PendingChange) -> int:
    for entry in state.id_history:
        if entry.id == pending.previous_id and entry.max_age is not None:
            return entry.max_age
    return pending.new_policy.max_age if pending.new_policy else 0


@dataclass(frozen=True)
class MxWait:
    """The last phase of an MX change: until when to wait before touching the MX records."""

    change_after: datetime
    old_policy_expires_at: datetime
    remaining: timedelta
    in_dns: bool

    @property
    def over(self) -> bool:
        return self.remaining <= timedelta(0)

    def lines(self) -> list[str]:
        if self.in_dns:
            return [
                "the new policy covering the MX is live; senders pick it up as they re-check the id "
                f"(all have it by {self.change_after:%Y-%m-%d %H:%M} UTC)"
            ]
        if self.over:
            return [f"you can now add the MX records (safe since {self.change_after:%Y-%m-%d %H:%M} UTC)"]
        hours = int(self.remaining.total_seconds() // 3600)
        minutes = int(self.remaining.total_seconds() % 3600 // 60)
        return [
            f"wait until {self.change_after:%Y-%m-%d %H:%M} UTC ({hours} h {minutes} min) before adding the MX records",
            f"senders that never re-check the id may keep the old policy until "
            f"{self.old_policy_expires_at:%Y-%m-%d %H:%M} UTC; for them a failure is temporary and they retry "
            "after re-checking the id (RFC 8461 §5.1)",
        ]


def mx_wait(state: DomainState, now: datetime) -> MxWait | None:
    pending = state.pending_change
    if pending is None or pending.kind != "mx-change" or pending.stage != STAGE_MX_WAIT:
        return None
    after = time_from_json(pending.data.get("change_mx_after"), "change_mx_after")
    expires = time_from_json(pending.data.get("old_policy_expires_at"), "old_policy_expires_at")
    if after is None or expires is None:
        return None
    return MxWait(after, expires, max(timedelta(0), after - as_utc(now)), bool(pending.data.get("in_dns")))


def confirm_mx_changed(state: DomainState, now: datetime) -> None:
    """The user changed the MX records: refused before the computed time (unless they already were in DNS)."""
    wait = mx_wait(state, now)
    if wait is None:
        raise SwitchError("no MX change is waiting; start one from the MX guide")
    if not wait.over and not wait.in_dns:
        raise SwitchError(
            f"too early: wait until {wait.change_after:%Y-%m-%d %H:%M} UTC before changing the MX records"
        )
    state.pending_change = None
