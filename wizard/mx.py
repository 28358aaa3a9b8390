"""MX patterns (RFC 8461 §3.2 `mx`, §4.1 matching) and coverage of the domain's MX hosts.

A sender holding an `enforce` policy refuses to deliver to an MX whose name matches
no pattern, so coverage is checked both ways: MX hosts no pattern covers (mail fails)
and patterns that cover no MX host (probably a typo or a leftover).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wizard.findings import Finding, finding

# RFC 5321 §4.1.2 Domain: sub-domains of letters, digits and inner hyphens (A-labels only).
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")  # not "$": it allows a final \n


def validate_mx_pattern(text: str) -> str | None:
    """None when `text` is a valid `mx` value, else a message saying what to write instead."""
    value = text
    if value == "":
        return "the mx value is empty; write a host name such as mail.example.com"
    if not value.isprintable():
        return f"{value!r} contains control characters; write only the host name, e.g. mail.example.com"
    if value != value.strip():
        return f"{value!r} has surrounding spaces; write the host name alone"
    if "," in value or " " in value or "\t" in value:
        return f"{value!r} lists several hosts; write each on its own 'mx:' line"
    if "://" in value or "/" in value:
        return f"{value!r} is a URL; write only the mail host name, e.g. mail.example.com"
    if value.endswith("."):
        return f"{value!r} ends with a dot; write it without the trailing dot ({value.rstrip('.')})"
    if ":" in value or value.startswith("["):
        return f"{value!r} has a port or is an address; write only the host name"
    if _is_ip(value):
        return f"{value!r} is an IP address; mx patterns must be host names"
    host = value
    if host.startswith("*."):
        host = host[2:]
        if "*" in host:
            return f"{value!r} has more than one wildcard; only one leading '*.' is allowed"
    elif "*" in host:
        return f"{value!r} has a wildcard that is not a whole leading '*.' label; write e.g. *.example.com"
    if not host.isascii():
        return f"{value!r} is not ASCII; write internationalised names as A-labels (xn--...)"
    labels = host.split(".")
    if len(host) > 253 or any(not _LABEL.match(label) for label in labels):
        return f"{value!r} is not a valid host name (letters, digits, inner hyphens, dot-separated labels)"
    if len(labels) < 2 and not value.startswith("*."):
        return f"{value!r} is a single label; write the full MX host name as in DNS"
    return None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def normalise_mx_host(name: str) -> str:
    """Lowercase and strip one trailing dot of a DNS MX target before comparing (SPEC §4)."""
    name = name.strip()
    if name.endswith("."):
        name = name[:-1]
    return name.lower()


def pattern_matches(pattern: str, host: str) -> bool:
    """RFC 8461 §4.1: `*.` stands for exactly one whole left-most label; ASCII case-insensitive."""
    pat = pattern.lower()
    name = normalise_mx_host(host)
    if pat.startswith("*."):
        first, dot, rest = name.partition(".")
        return bool(dot) and bool(first) and rest == pat[2:]
    return name == pat


@dataclass
class Coverage:
    """How a set of patterns covers a set of MX hosts, in both directions."""

    covered: dict[str, list[str]] = field(default_factory=dict)
    """MX host -> the patterns that match it."""
    uncovered: list[str] = field(default_factory=list)
    """MX hosts that no pattern matches (mail to them fails in enforce mode)."""
    unused: list[str] = field(default_factory=list)
    """Patterns that match no MX host."""

    @property
    def complete(self) -> bool:
        return not self.uncovered


def coverage(patterns: Sequence[str], hosts: Iterable[str]) -> Coverage:
    result = Coverage()
    used: set[str] = set()
    for raw in hosts:
        host = normalise_mx_host(raw)
        if not host or host in result.covered or host in result.uncovered:
            continue
        matching = [p for p in patterns if pattern_matches(p, host)]
        if matching:
            result.covered[host] = matching
            used.update(matching)
        else:
            result.uncovered.append(host)
    result.unused = [p for p in dict.fromkeys(patterns) if p not in used]
    return result


def coverage_findings(cov: Coverage, mode: str, *, subject: str = "") -> list[Finding]:
    """mx-not-covered for every uncovered MX (urgent in enforce), mx-pattern-unused for every unused pattern."""
    out: list[Finding] = []
    for host in cov.uncovered:
        consequence = (
            "senders refuse to deliver to it now the policy is enforced"
            if mode == "enforce"
            else "mail to it will fail once the policy is in enforce mode"
        )
        out.append(
            finding(
                "mx-not-covered",
                f"the MX host {host} matches no mx pattern in the policy; {consequence}",
                f"add the line 'mx: {host}' to the policy, publish it, then change the TXT id",
                subject=host,
            )
        )
    for pattern in cov.unused:
        out.append(
            finding(
                "mx-pattern-unused",
                f"the pattern {pattern} matches none of the domain's MX hosts",
                "remove the line if that host no longer receives mail, or check it for a typo",
                subject=pattern,
            )
        )
    return out
