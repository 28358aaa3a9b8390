"""When a published step counts as "seen" by live verification (steps 2, 3 and 4).

The wizard polls after the user says "published"; polling stops once what it generated is
what the world serves. Deciding that is protocol work (RFC 8461 §3.2: senders compare the
policy they fetch; §3.1: the id announces a new policy; RFC 8460 §3: the rua list), so it
lives here, pure and testable, and screens only show the verdict and its lines.

Each function takes an engine probe (wizard.engine: PolicyProbe, StsTxtProbe, TlsRptProbe)
and what step 1 / 3 / 4 generated, and returns a `Seen`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wizard.findings import Finding
from wizard.policy import PolicyFile

if TYPE_CHECKING:
    from wizard.engine import PolicyProbe, StsTxtProbe, TlsRptProbe


@dataclass(frozen=True)
class Seen:
    """Whether the published thing is the generated one, what was found (one line each), and the
    findings that apply to this attempt."""

    seen: bool
    lines: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def policy_seen(probe: PolicyProbe, expected: PolicyFile | None) -> Seen:
    """Seen once a valid policy is served and it is the one step 1 generated (same for senders:
    mode, max_age and the set of MX patterns). Any served policy counts when nothing was generated."""
    findings = list(probe.findings) + list(probe.content_findings)
    lines = [f.summary() for f in probe.fetches] or [probe.summary]
    served = probe.policy
    seen = served is not None
    if served is None and any(f.served for f in probe.fetches):
        lines.append("the file served is not a valid policy yet (see below)")
    if served is not None and expected is not None and not served.same_as(expected):
        seen = False
        lines.append(
            f"it serves mode {served.mode}, max_age {served.max_age}, mx {', '.join(served.mx) or '-'}; "
            f"waiting for the file from step 1 (mode {expected.mode}, max_age {expected.max_age}, "
            f"mx {', '.join(expected.mx) or '-'})"
        )
    return Seen(seen, lines, findings)


def sts_seen(probe: StsTxtProbe, expected_id: str | None) -> Seen:
    """Seen once resolvers serve a valid _mta-sts record carrying the generated id (an older id
    means senders would keep their cached policy)."""
    lines = [probe.summary]
    record = probe.record
    seen = record is not None
    if record is not None and expected_id and record.id != expected_id:
        lines.append(f"resolvers still serve id {record.id}; waiting for id {expected_id}")
        seen = False
    return Seen(seen, lines, list(probe.findings))


def tlsrpt_seen(probe: TlsRptProbe, expected_rua: Sequence[str]) -> Seen:
    """Seen once resolvers serve a TLSRPT record whose rua set is the one step 4 generated (order
    does not matter to senders). While waiting, "tlsrpt-missing" is the expected state, not a finding."""
    lines = [probe.summary]
    record = probe.record
    seen = record is not None
    if record is not None and expected_rua and set(record.rua) != set(expected_rua):
        lines.append(f"resolvers serve rua={','.join(record.rua)}; waiting for rua={','.join(expected_rua)}")
        seen = False
    findings = [f for f in probe.findings if seen or f.code != "tlsrpt-missing"]
    return Seen(seen, lines, findings)
