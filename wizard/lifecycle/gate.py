"""Gate every risky move: what the user must see (and type) before enforce, a longer max_age,
an MX change in enforce or removal.

The step 6 screen shows a `Gate` in a confirmation dialog (default: cancel); a "blocked"
verdict takes the domain name typed to override. The CLI refuses the same moves without
`--yes` and prints `Gate.lines()`. Pure: no network, no disk, no Textual.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wizard.lifecycle.readiness import Verdict

#: The moves that can stop mail or lock senders into a policy for a long time.
RISKY: dict[str, str] = {
    "enforce": "Switch to enforce",
    "max-age": "Raise max_age",
    "mx-change": "Change the MX patterns in enforce mode",
    "remove": "Turn MTA-STS off (mode none, then removal)",
}

_WHAT: dict[str, str] = {
    "enforce": (
        "Senders that support MTA-STS will refuse to deliver mail to an MX host whose certificate "
        "fails or that the policy does not list, instead of delivering it without TLS."
    ),
    "max-age": (
        "Senders keep the policy longer: a mistake then stays cached for the new max_age, and "
        "removing MTA-STS takes that long too."
    ),
    "mx-change": (
        "In enforce mode, senders refuse MX hosts the policy does not list: the new patterns must be "
        "served before the MX records change."
    ),
    "remove": (
        "MTA-STS stops protecting mail against downgrade; senders holding the old policy keep it "
        "until its max_age runs out, so the records may be deleted only after that."
    ),
}


@dataclass(frozen=True)
class Gate:
    """One risky move as the confirmation shows it."""

    kind: str
    title: str
    what: str
    verdict_headline: str
    blockers: tuple[str, ...]
    open_findings: tuple[str, ...]
    blocked: bool
    domain: str
    detail: tuple[str, ...] = ()
    """Move-specific lines (e.g. max_age from -> to)."""

    @property
    def needs_typing(self) -> bool:
        """Overriding a blocked verdict takes the domain name typed."""
        return self.blocked

    def accepts(self, typed: str) -> bool:
        """Whether what was typed confirms the move (only asked when blocked)."""
        if not self.needs_typing:
            return True
        return typed.strip().lower().rstrip(".") == self.domain.lower()

    def lines(self) -> list[str]:
        out = [f"{self.title} for {self.domain}:", f"  {self.what}", *(f"  {d}" for d in self.detail)]
        out.append(f"  readiness: {self.verdict_headline}")
        if self.blockers:
            out.append("  blockers:")
            out += [f"    ! {b}" for b in self.blockers]
        if self.open_findings:
            out.append("  open findings of the last check:")
            out += [f"    - {f}" for f in self.open_findings]
        if not self.blockers and not self.open_findings:
            out.append("  no blocker and no open finding")
        return out


def gate_for(
    kind: str, domain: str, verdict: Verdict | None, findings: Iterable[Any] | None, detail: Iterable[str] = ()
) -> Gate | None:
    """The gate of `kind` (None for a move that is not risky, e.g. a rollback to testing).

    `findings` are the last check's (engine `Finding`s or saved ones): errors and warnings are listed.
    """
    if kind not in RISKY:
        return None
    blockers = tuple(g.render() for g in verdict.failures) if verdict is not None else ()
    if verdict is not None and verdict.status == "not-yet":
        blockers += tuple(f"missing: {m}" for m in verdict.missing)
    open_findings = tuple(
        f"[{f.severity}] {f.code}: {f.message}" for f in (findings or ()) if f.severity in ("error", "warning")
    )
    blocked = verdict is not None and verdict.status == "blocked" and kind != "remove"
    headline = verdict.headline if verdict is not None else "unknown (the reports are still being read)"
    return Gate(kind, RISKY[kind], _WHAT[kind], headline, blockers, open_findings, blocked, domain, tuple(detail))


def moves(saved: Any, new: Any) -> list[str]:
    """The risky moves (RISKY kinds) that replacing policy `saved` with `new` makes (PolicyFile-like)."""
    out = []
    if new.mode == "enforce" and saved.mode != "enforce":
        out.append("enforce")
    if new.mode == "none" and saved.mode != "none":
        out.append("remove")
    if new.mode != "none" and new.max_age > saved.max_age:
        out.append("max-age")
    if (
        saved.mode == "enforce"
        and new.mode == "enforce"
        and {p.lower() for p in new.mx} != {p.lower() for p in saved.mx}
    ):
        out.append("mx-change")
    return out
