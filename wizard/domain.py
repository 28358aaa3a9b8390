"""Turning what people type into a domain name the checks can use.

People paste URLs, e-mail addresses, names with a trailing dot or in Unicode. The
wizard accepts the forms that are clearly a domain (after stripping, lowercasing,
dropping one trailing dot, converting Unicode to A-labels) and answers the rest with
one line that says what to type instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class DomainError(ValueError):
    """A domain the user typed cannot be used; str(error) is the one-line advice."""


@dataclass(frozen=True)
class Domain:
    """A domain in both spellings: `ascii` (A-labels, used everywhere on the wire) and `unicode`."""

    ascii: str
    unicode: str

    @property
    def policy_host(self) -> str:
        """Where the policy file is served (RFC 8461 §3.3)."""
        return f"mta-sts.{self.ascii}"

    @property
    def sts_name(self) -> str:
        """Owner name of the `_mta-sts` TXT record (RFC 8461 §3.1)."""
        return f"_mta-sts.{self.ascii}"

    @property
    def tlsrpt_name(self) -> str:
        """Owner name of the TLSRPT TXT record (RFC 8460 §3)."""
        return f"_smtp._tls.{self.ascii}"

    @property
    def policy_url(self) -> str:
        return f"https://{self.policy_host}/.well-known/mta-sts.txt"

    def display(self) -> str:
        """`example.com`, or `bücher.example (xn--bcher-kva.example)` for IDNs."""
        if self.unicode != self.ascii:
            return f"{self.unicode} ({self.ascii})"
        return self.ascii


def normalise_domain(text: str) -> Domain:
    """Normalise a typed domain, or raise DomainError with what to type instead."""
    raw = text.strip()
    if not raw:
        raise DomainError("type a domain name, e.g. example.com")
    lowered = raw.lower()
    if "://" in lowered or lowered.startswith(("http:", "https:")):
        host = lowered.split("://", 1)[-1].split("/", 1)[0]
        raise DomainError(f"that is a URL; type just the domain, e.g. {_suggest(host)}")
    if "@" in raw:
        host = raw.rsplit("@", 1)[1]
        raise DomainError(f"that is an e-mail address; type just the domain after '@', e.g. {_suggest(host)}")
    if any(ch.isspace() for ch in raw):
        raise DomainError("a domain has no spaces; type one domain, e.g. example.com")
    if not raw.isprintable():
        raise DomainError("the name contains control characters; type it again, e.g. example.com")
    if "/" in raw or ":" in raw:
        raise DomainError(f"type just the domain name without path or port, e.g. {_suggest(raw.split('/')[0])}")
    name = raw[:-1] if raw.endswith(".") else raw
    if not name or name.startswith(".") or ".." in name:
        raise DomainError(f"{raw!r} has an empty label; type a name like example.com")
    if _looks_like_ip(name):
        raise DomainError("that is an IP address; MTA-STS needs the mail domain, e.g. example.com")
    if "." not in name:
        raise DomainError(f"{raw!r} is a single label; type the full mail domain, e.g. {name.lower()}.com")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
        unicode_name = idna.decode(ascii_name)
    except idna.IDNAError as exc:
        raise DomainError(f"{raw!r} is not a valid domain name ({exc}); check the spelling") from None
    except UnicodeError:
        raise DomainError(f"{raw!r} is not a valid domain name; check the spelling") from None
    if len(ascii_name) > 253:
        raise DomainError("that name is longer than 253 characters; check what you pasted")
    for label in ascii_name.split("."):
        if not _LABEL.match(label):
            raise DomainError(
                f"the label {label!r} is not allowed in a host name (letters, digits and inner hyphens only)"
            )
    return Domain(ascii=ascii_name, unicode=unicode_name)


def _suggest(host: str) -> str:
    host = host.strip().rstrip(".").split(":")[0]
    if not host.isprintable() or any(ch.isspace() for ch in host):
        return "example.com"  # quoting it would break the one-line message
    if host.startswith("mta-sts."):
        host = host[len("mta-sts.") :]
    return host or "example.com"


def _looks_like_ip(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)
