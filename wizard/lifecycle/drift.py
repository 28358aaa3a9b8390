"""Drift: what is served is not what the wizard saved, or the policy changed under an old id.

Two different mistakes, two different fixes (CONTRACT codes only):
- `policy-differs-from-saved`: the served file is neither the saved policy nor the one an
  ordered update is rolling out; say what differs, and upload the saved file (or regenerate).
- `sts-id-unchanged`: the served file is not the policy the published id stands for (from
  the saved id history), so senders that cached that id never fetch the new file
  (RFC 8461 §3.1, §8.1); publish the new id, once the file is served everywhere.
"""

from __future__ import annotations

from wizard.findings import Finding, finding
from wizard.lifecycle.switch import STAGE_ID, STAGE_MX_WAIT, STAGE_PLANNED, STAGE_SERVED
from wizard.policy import PolicyFile, parse_policy
from wizard.state import DomainState


def expected_for_check(state: DomainState) -> tuple[PolicyFile | None, str | None]:
    """What `check` should pass to the engine as expected_policy / expected_id.

    During an ordered update the new policy is the one that should be served once phase 2
    started; before its id is given out, the old id is still the one in DNS.
    """
    if state.policy is None:
        return None, state.policy_id
    pending = state.pending_change
    if pending is not None and pending.new_policy is not None:
        if pending.stage == STAGE_SERVED:
            return pending.new_policy.to_policy_file(), pending.previous_id
        if pending.stage in (STAGE_ID, STAGE_MX_WAIT):
            return pending.new_policy.to_policy_file(), pending.new_id
    return state.policy.to_policy_file(), state.policy_id


def _describe(served: PolicyFile, saved: PolicyFile) -> str:
    parts = []
    if served.mode != saved.mode:
        parts.append(f"mode {served.mode} instead of {saved.mode}")
    if served.max_age != saved.max_age:
        parts.append(f"max_age {served.max_age} instead of {saved.max_age}")
    have = {p.lower() for p in served.mx}
    want = {p.lower() for p in saved.mx}
    if have - want:
        parts.append(f"extra mx {', '.join(sorted(have - want))}")
    if want - have:
        parts.append(f"missing mx {', '.join(sorted(want - have))}")
    if served.version != saved.version:
        parts.append(f"version {served.version}")
    return "; ".join(parts) or "different text"


def _policy_for_id(state: DomainState, policy_id: str) -> PolicyFile | None:
    for entry in state.id_history:
        if entry.id == policy_id and entry.policy_text:
            return parse_policy(entry.policy_text).policy
    pending = state.pending_change
    if pending is not None and pending.previous_id == policy_id and state.policy is not None:
        # The id the update started from stands for the policy saved before the update.
        return state.policy.to_policy_file() if pending.stage in (STAGE_PLANNED, STAGE_SERVED) else None
    return None


def drift_findings(
    state: DomainState, served: PolicyFile | None, served_id: str | None, *, url: str = ""
) -> list[Finding]:
    """Drift findings for what a check saw served (policy and TXT id) against the saved state."""
    if state.policy is None or served is None:
        return []
    url = url or f"https://mta-sts.{state.domain}/.well-known/mta-sts.txt"
    txt_name = f"_mta-sts.{state.domain}"
    out: list[Finding] = []
    saved = state.policy.to_policy_file()
    pending = state.pending_change
    rolling = pending.new_policy.to_policy_file() if pending is not None and pending.new_policy else None
    if not served.same_as(saved) and not served.same_as(rolling):
        out.append(
            finding(
                "policy-differs-from-saved",
                f"{url} serves a policy that is not the one saved for this domain: {_describe(served, saved)}",
                "upload the saved policy file again (or regenerate it in step 1 if the served one is what you want)",
                subject=url,
            )
        )
    if served_id:
        stands_for = _policy_for_id(state, served_id)
        if stands_for is not None and not served.same_as(stands_for):
            if rolling is not None and served.same_as(rolling) and pending is not None:
                fix = "the new file is served: take the new id from step 6 (the ordered switch) and publish it"
            else:
                target = state.policy_id if served.same_as(saved) and state.policy_id != served_id else None
                fix = (
                    f"publish 'v=STSv1; id={target}' at {txt_name}"
                    if target
                    else "once the file you want is served everywhere, publish a new id in the TXT record"
                )
            out.append(
                finding(
                    "sts-id-unchanged",
                    f"the TXT id is still {served_id}, which stands for another policy "
                    f"({_describe(served, stands_for)}); senders that cached it will not fetch the served file",
                    fix,
                    subject=txt_name,
                )
            )
    return out


def extra_drift(
    state: DomainState,
    report_findings: list[Finding],
    served: PolicyFile | None,
    served_id: str | None,
    *,
    url: str = "",
) -> list[Finding]:
    """Drift findings the engine did not already report (the engine knows only the expected policy)."""
    have = {f.code for f in report_findings}
    return [f for f in drift_findings(state, served, served_id, url=url) if f.code not in have]
