"""The whole set of things a domain owner publishes, in the forms they paste them.

One `RecordSet` (policy file, `_mta-sts` TXT, `_smtp._tls` TXT, and the host
record `mta-sts.<domain>` needs) rendered three ways: a BIND zone fragment, a
name/type/value/TTL table for web DNS panels, and JSON for scripts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wizard.domain import Domain
from wizard.ids import new_policy_id
from wizard.policy import PolicyFile
from wizard.records import StsRecord, TlsRptRecord

DEFAULT_TTL = 3600
TXT_CHUNK = 255


@dataclass(frozen=True)
class RecordSet:
    """Everything to publish for one domain."""

    domain: Domain
    policy: PolicyFile
    sts: StsRecord
    tlsrpt: TlsRptRecord | None
    ttl: int = DEFAULT_TTL

    @property
    def policy_text(self) -> str:
        return self.policy.to_text()


@dataclass(frozen=True)
class DnsRecord:
    """One row for a DNS panel. `relative` is the name as most panels want it (without the domain)."""

    name: str
    relative: str
    type: str
    value: str
    ttl: int
    note: str = ""


def build_record_set(
    domain: Domain,
    mx: Sequence[str],
    mode: str = "testing",
    max_age: int = 86400,
    rua: Sequence[str] = (),
    policy_id: str | None = None,
    ttl: int = DEFAULT_TTL,
) -> RecordSet:
    """Assemble the records; a new time-based id is made unless the caller keeps an existing one."""
    policy = PolicyFile(mode=mode, max_age=max_age, mx=tuple(mx))
    sts = StsRecord(policy_id or new_policy_id())
    tlsrpt = TlsRptRecord(tuple(rua)) if rua else None
    return RecordSet(domain, policy, sts, tlsrpt, ttl)


def split_txt(value: str) -> list[str]:
    """Split a TXT value into character-strings of at most 255 bytes (RFC 1035 §3.3.14)."""
    data = value.encode("ascii")
    return [data[i : i + TXT_CHUNK].decode("ascii") for i in range(0, len(data), TXT_CHUNK)] or [""]


def quote_txt(value: str) -> str:
    """Zone-file form: each 255-byte chunk quoted, with `"` and `\\` escaped; joined by senders with nothing."""
    chunks = [c.replace("\\", "\\\\").replace('"', '\\"') for c in split_txt(value)]
    return " ".join(f'"{c}"' for c in chunks)


def dns_records(rs: RecordSet) -> list[DnsRecord]:
    name = rs.domain.ascii
    rows = [
        DnsRecord(f"_mta-sts.{name}.", "_mta-sts", "TXT", rs.sts.to_text(), rs.ttl),
    ]
    if rs.tlsrpt is not None:
        rows.append(DnsRecord(f"_smtp._tls.{name}.", "_smtp._tls", "TXT", rs.tlsrpt.to_text(), rs.ttl))
    rows.append(
        DnsRecord(
            f"mta-sts.{name}.",
            "mta-sts",
            "A/AAAA or CNAME",
            "<your web host>",
            rs.ttl,
            note="point mta-sts at the web host that serves the policy file over HTTPS (step 2)",
        )
    )
    return rows


def render_zone(rs: RecordSet) -> str:
    """A BIND zone-file fragment with absolute names."""
    lines = [f"; MTA-STS and TLSRPT for {rs.domain.display()}"]
    for row in dns_records(rs):
        if row.type == "TXT":
            lines.append(f"{row.name:<28} {row.ttl:>6} IN TXT {quote_txt(row.value)}")
        else:
            lines.append(f"; {row.name} needs an A/AAAA record or a CNAME to the host that serves the policy file")
    return "\n".join(lines) + "\n"


def render_table(rs: RecordSet) -> str:
    """A name/type/value/TTL table for web DNS panels, with relative and absolute names."""
    rows = dns_records(rs)
    header = ("Name (relative)", "Name (absolute)", "Type", "TTL", "Value")
    body = [(r.relative, r.name, r.type, str(r.ttl), r.value) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*row) for row in body]
    notes = [f"* {r.relative}: {r.note}" for r in rows if r.note]
    return "\n".join([*out, "", *notes]) + "\n"


def record_set_json(rs: RecordSet) -> dict[str, Any]:
    return {
        "domain": rs.domain.ascii,
        "domain_unicode": rs.domain.unicode,
        "policy_url": rs.domain.policy_url,
        "policy": {
            "text": rs.policy_text,
            "version": rs.policy.version,
            "mode": rs.policy.mode,
            "max_age": rs.policy.max_age,
            "mx": list(rs.policy.mx),
        },
        "id": rs.sts.id,
        "records": [
            {
                "name": r.name,
                "relative_name": r.relative,
                "type": r.type,
                "ttl": r.ttl,
                "value": r.value,
                **({"strings": split_txt(r.value)} if r.type == "TXT" else {}),
                **({"note": r.note} if r.note else {}),
            }
            for r in dns_records(rs)
        ],
    }


def render_json(rs: RecordSet) -> str:
    return json.dumps(record_set_json(rs), indent=2) + "\n"
