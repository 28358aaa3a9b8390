"""Which way the records are published (`--via`), what is saved of it, and opening that way.

A method is "rfc2136" (with an optional server) or "lexicon:<provider>". The saved form
(`DomainState.publish_method`) holds only these names and the server address, never a
secret, so step 6 and `monitor` can offer the same way again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from wizard.publish.errors import PublishUsageError
from wizard.publish.plan import Existing, Plan
from wizard.publish.tsig import TsigKey

RFC2136 = "rfc2136"
LEXICON = "lexicon"


class Target(Protocol):
    """A zone that can be read and changed (RFC 2136 or a provider API)."""

    def describe(self) -> str: ...
    async def read(self, names: Sequence[str]) -> dict[str, list[Existing]]: ...
    async def apply(self, plan: Plan) -> list[str]: ...


@dataclass(frozen=True)
class Method:
    via: str
    """"rfc2136" or "lexicon:<provider>"."""
    server: str | None = None
    """RFC 2136: the primary as ADDR[:PORT]; None finds it from the SOA MNAME."""

    @property
    def provider(self) -> str | None:
        return self.via.split(":", 1)[1] if self.via.startswith(LEXICON + ":") else None

    def to_saved(self) -> dict[str, str]:
        return {"via": self.via, **({"server": self.server} if self.server else {})}

    @classmethod
    def from_saved(cls, saved: Mapping[str, str]) -> Method | None:
        via = saved.get("via")
        if not via:
            return None
        try:
            return parse_via(via, saved.get("server"))
        except PublishUsageError:
            return None

    def describe(self) -> str:
        if self.provider:
            return f"lexicon ({self.provider})"
        return f"RFC 2136 to {self.server}" if self.server else "RFC 2136 to the zone's primary (SOA MNAME)"


def parse_via(text: str, server: str | None = None) -> Method:
    """`rfc2136` or `lexicon:PROVIDER` -> Method; PublishUsageError says what to type."""
    via = text.strip().lower()
    if via == RFC2136:
        return Method(RFC2136, server or None)
    if via.startswith(LEXICON + ":") and via.split(":", 1)[1]:
        if server:
            raise PublishUsageError("--server is for --via rfc2136; lexicon's provider options name the API")
        from wizard.publish.lexicon_dns import provider_module

        provider = via.split(":", 1)[1]
        provider_module(provider)
        return Method(via)
    raise PublishUsageError(f"--via {text!r}: give rfc2136 or lexicon:PROVIDER (e.g. lexicon:cloudflare)")


async def open_target(
    domain: str,
    method: Method,
    *,
    tsig: TsigKey | None,
    lexicon_options: Mapping[str, str],
    nameservers: Sequence[str],
    timeout: float,
) -> Target:
    """Find the zone (and for RFC 2136 its primary) and return something that reads and changes it."""
    if method.provider:
        from wizard.publish.lexicon_dns import LexiconTarget, find_zone

        zone = await find_zone(domain, nameservers, timeout)
        return LexiconTarget(method.provider, zone, dict(lexicon_options))
    if tsig is None:
        raise PublishUsageError("RFC 2136 needs a TSIG key: set MTA_STS_WIZARD_TSIG=NAME:ALG:SECRET")
    from wizard.publish.rfc2136 import find_primary

    return await find_primary(domain, method.server, nameservers, timeout, tsig)
