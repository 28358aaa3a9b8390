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
    from wizard.engine import PolicyProbe, StsTxtProbe, TlsRptProbe, TxtProbe


@dataclass(frozen=True)
class Seen:
    """Whether the published thing is the generated one, what was found (one line each), and the
    findings that apply to this attempt.

    `mismatch` is set when the source (the web server, or the zone's authoritative DNS servers)
    already serves a different value than the wizard expects: a wait would never end, so the
    screen says so at once with both values and the fix. Only a resolver behind the authoritative
    servers is a wait ("waiting for caches").
    """

    seen: bool
    lines: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    mismatch: str = ""


def _policy_words(policy: PolicyFile) -> str:
    return f"mode {policy.mode}, max_age {policy.max_age}, mx {', '.join(policy.mx) or '-'}"


def policy_seen(probe: PolicyProbe, expected: PolicyFile | None) -> Seen:
    """Seen once a valid policy is served and it is the one step 1 generated (same for senders:
    mode, max_age and the set of MX patterns). Any served policy counts when nothing was generated."""
    findings = list(probe.findings) + list(probe.content_findings)
    lines = [f.summary() for f in probe.fetches] or [probe.summary]
    served = probe.policy
    seen = served is not None
    mismatch = ""
    if served is None and any(f.served for f in probe.fetches):
        lines.append("the file served is not a valid policy yet (see below)")
    if served is not None and expected is not None and not served.same_as(expected):
        seen = False
        # HTTPS has no cache in between: what the server sends now is what senders get.
        mismatch = (
            f"the web server serves a different policy ({_policy_words(served)}) than step 1 made "
            f"({_policy_words(expected)}); fix: upload the file from step 1 to every address of {probe.host}"
        )
        lines.append(mismatch)
    return Seen(seen, lines, findings, mismatch)


def _source_values(probe: TxtProbe, prefix: str) -> tuple[tuple[str, ...] | None, list[str]]:
    """The values of our kind the authoritative servers publish (None: not known), and one line each
    server when they disagree."""
    auth = probe.authoritative
    if auth is None or not auth.available:
        return None, []
    published = auth.records()
    if published is None:
        per_server = []
        for answer in auth.answers:
            if answer.result.failed:
                per_server.append(f"  {answer.host} ({answer.address}): {answer.result.status}")
            else:
                ours = [v for v in answer.result.records if v.startswith(prefix)] or ["no record"]
                per_server.append(f"  {answer.host} ({answer.address}): {'; '.join(ours)}")
        return None, per_server
    return tuple(v for v in published if v.startswith(prefix)), []


def _views(probe: TxtProbe, prefix: str, resolver_value: str | None) -> tuple[list[str], tuple[str, ...] | None]:
    """Two lines: the authoritative answer beside the resolver's."""
    source, per_server = _source_values(probe, prefix)
    res = probe.resolver
    if source is None and per_server:
        auth_line = ["your DNS servers (authoritative) disagree with each other:", *per_server]
    elif source is None:
        auth_line = ["your DNS servers (authoritative): not reachable from here"]
    else:
        auth_line = [f"your DNS servers (authoritative): {' | '.join(source) if source else 'no record'}"]
    if res.failed:
        res_line = f"your resolver: {res.describe()}"
    else:
        res_line = f"your resolver: {resolver_value or 'no record'}" + (
            f" (TTL {res.ttl})" if res.ttl is not None else ""
        )
    return [*auth_line, res_line], source


def _cache_wait(probe: TxtProbe) -> int | None:
    return probe.propagation_seconds if probe.propagation_seconds is not None else probe.resolver.ttl


def sts_seen(probe: StsTxtProbe, expected_id: str | None) -> Seen:
    """Seen once resolvers serve a valid _mta-sts record carrying the generated id (an older id
    means senders would keep their cached policy)."""
    from wizard.records import parse_sts_record

    record = probe.record
    lines, source = _views(probe, "v=STSv1", record.to_text() if record else None)
    lines.insert(0, probe.summary)
    seen = record is not None
    mismatch = ""
    if expected_id:
        want = f"v=STSv1; id={expected_id}"
        source_ids = None
        if source is not None:
            source_ids = [rec.id if rec else "(invalid)" for rec in (parse_sts_record(v)[0] for v in source)]
        if source_ids is not None and expected_id not in source_ids:
            seen = False
            have = ", ".join(f"id={i}" for i in source_ids) if source_ids else "no v=STSv1 record"
            mismatch = (
                f"your DNS servers publish {have}, not the id the wizard expects (id={expected_id}); "
                f'fix: set the TXT record at {probe.name} to "{want}"'
            )
            lines.append(mismatch)
        elif record is not None and record.id != expected_id:
            seen = False
            if source_ids is None:  # the source could not be asked: it may be a cache or the record itself
                lines.append(f"resolvers still serve id {record.id}; waiting for id {expected_id}")
            else:
                lines.append(
                    f"waiting for caches (up to {_cache_wait(probe)} s, the TTL): your DNS servers publish "
                    f"id={expected_id}, your resolver still serves id={record.id}"
                )
        elif record is None and source_ids:
            lines.append(f"waiting for caches (up to {_cache_wait(probe)} s, the TTL): published, not yet resolved")
    return Seen(seen, lines, list(probe.findings), mismatch)


def tlsrpt_seen(probe: TlsRptProbe, expected_rua: Sequence[str]) -> Seen:
    """Seen once resolvers serve a TLSRPT record whose rua set is the one step 4 generated (order
    does not matter to senders). While waiting, "tlsrpt-missing" is the expected state, not a finding."""
    from wizard.records import parse_tlsrpt_record

    record = probe.record
    lines, source = _views(probe, "v=TLSRPTv1", record.to_text() if record else None)
    lines.insert(0, probe.summary)
    seen = record is not None
    mismatch = ""
    if expected_rua:
        want = set(expected_rua)
        source_rua = None
        if source is not None:
            source_rua = [set(rec.rua) if rec else set() for rec in (parse_tlsrpt_record(v)[0] for v in source)]
        if source_rua is not None and want not in source_rua:
            seen = False
            have = " | ".join(source) if source else "no v=TLSRPTv1 record"
            mismatch = (
                f"your DNS servers publish {have}, not the rua the wizard expects (rua={','.join(expected_rua)}); "
                f'fix: set the TXT record at {probe.name} to "v=TLSRPTv1; rua={",".join(expected_rua)}"'
            )
            lines.append(mismatch)
        elif record is not None and set(record.rua) != want:
            seen = False
            if source_rua is None:
                lines.append(f"resolvers serve rua={','.join(record.rua)}; waiting for rua={','.join(expected_rua)}")
            else:
                lines.append(
                    f"waiting for caches (up to {_cache_wait(probe)} s, the TTL): your DNS servers publish "
                    f"rua={','.join(expected_rua)}, your resolver still serves rua={','.join(record.rua)}"
                )
        elif record is None and source_rua:
            lines.append(f"waiting for caches (up to {_cache_wait(probe)} s, the TTL): published, not yet resolved")
    findings = [f for f in probe.findings if seen or f.code != "tlsrpt-missing"]
    return Seen(seen, lines, findings, mismatch)
