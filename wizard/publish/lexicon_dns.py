"""Publishing through a DNS provider's API with dns-lexicon (Cloudflare, Route 53, PowerDNS, ...).

Credentials come from lexicon's own environment variables (`LEXICON_<PROVIDER>_<OPTION>`, e.g.
`LEXICON_CLOUDFLARE_AUTH_TOKEN`, `LEXICON_POWERDNS_AUTH_TOKEN` and `LEXICON_POWERDNS_PDNS_SERVER`)
or, for `auth_token`, from a masked prompt; they are handed to lexicon in memory and never saved.

The provider is built directly for the zone found in DNS, not through `lexicon.client.Client`,
whose zone guess downloads the public suffix list. A provider API has no atomic multi-record
update, so each replace is: create the new record, then delete the old one(s); every finished
call is remembered, so a failure names the records that had already changed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wizard.publish.errors import PublishRefused, PublishUsageError
from wizard.publish.plan import Existing, Plan
from wizard.text import shown

PROVIDERS_PACKAGE = "lexicon._private.providers"


def provider_module(provider: str) -> Any:
    """lexicon's module for the provider, or PublishUsageError naming what to type."""
    name = provider.strip().lower()
    if not name.isidentifier() or importlib.util.find_spec(f"{PROVIDERS_PACKAGE}.{name}") is None:
        raise PublishUsageError(
            f"--via lexicon:{provider}: lexicon has no provider {provider!r}; e.g. lexicon:cloudflare, "
            "lexicon:route53, lexicon:powerdns (see 'lexicon --help')"
        )
    try:
        return importlib.import_module(f"{PROVIDERS_PACKAGE}.{name}")
    except ImportError as exc:
        raise PublishUsageError(
            f"lexicon's {name} provider needs a package that is not installed ({exc.name}); "
            f"pip install 'dns-lexicon[{name}]'"
        ) from None


def provider_options(provider: str) -> list[str]:
    """The option names the provider reads (`auth_token`, `pdns_server`, ...)."""
    parser = argparse.ArgumentParser(add_help=False)
    provider_module(provider).Provider.configure_parser(parser)
    return [a.dest for a in parser._actions if a.dest != "help"]


def env_name(provider: str, option: str) -> str:
    return f"LEXICON_{provider.upper()}_{option.upper()}"


@dataclass
class LexiconTarget:
    """One zone at one provider."""

    provider: str
    zone: str
    given: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Options typed at the prompt (in memory only); lexicon's environment variables fill the rest."""
    _client: Any = field(default=None, repr=False)

    def describe(self) -> str:
        return f"lexicon's {self.provider} provider, zone {self.zone}"

    def _provider(self) -> Any:
        if self._client is None:
            from lexicon.config import ConfigResolver

            config = ConfigResolver().with_dict(
                {"provider_name": self.provider, "domain": self.zone, self.provider: dict(self.given)}
            )
            config.with_env()
            module = provider_module(self.provider)
            try:
                client = module.Provider(config)
                client.authenticate()
            except Exception as exc:
                raise PublishRefused(self._failure("could not sign in", exc)) from None
            self._client = client
        return self._client

    def _failure(self, what: str, exc: BaseException, changed: Sequence[str] = ()) -> str:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        name = type(exc).__name__
        if status in (401, 403) or name == "AuthenticationError":
            why = f"the provider refused the credentials (HTTP {status})" if status else "authentication failed"
            hint = f"check {env_name(self.provider, 'auth_token')} and the provider's other LEXICON_ variables"
            return f"lexicon {self.provider}: {what}: {why}; {hint}"
        if status in (404, 422):
            return (
                f"lexicon {self.provider}: zone not found: {self.zone} is not a zone of this account "
                f"(HTTP {status}); check the domain and the account"
            )
        if name in ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout"):
            return f"lexicon {self.provider}: {what}: the API could not be reached ({shown(exc)}); check its address"
        detail = shown(str(exc).splitlines()[0] if str(exc) else name)
        return f"lexicon {self.provider}: {what}: {detail}"

    def _read(self, names: Sequence[str]) -> dict[str, list[Existing]]:
        client = self._provider()
        out: dict[str, list[Existing]] = {}
        for name in names:
            try:
                rows = client.list_records("TXT", name)
            except Exception as exc:
                raise PublishRefused(self._failure(f"could not read {name}", exc)) from None
            wanted = name.rstrip(".").lower()
            # lexicon strips the outer quotes; a record of several strings still shows `" "` between them.
            out[name] = [
                Existing(str(r.get("content", "")).replace('" "', ""), str(r.get("content", "")))
                for r in rows
                if str(r.get("name", "")).rstrip(".").lower() == wanted
            ]
        return out

    def _apply(self, plan: Plan) -> list[str]:
        client = self._provider()
        changed: list[str] = []
        for change in plan.pending:
            name, value = change.wanted.name, change.wanted.value
            try:
                client.create_record("TXT", name, value)
            except Exception as exc:
                raise PublishRefused(self._failure(f"could not add {name}", exc), changed) from None
            changed.append(f"added {name} TXT {value}")
            for old in change.old:
                if old.value == value:
                    continue
                try:
                    client.delete_record(None, "TXT", name, old.handle)
                except Exception as exc:
                    failure = self._failure(f"could not delete the old {name} TXT {shown(old.value)}", exc)
                    raise PublishRefused(failure + "; delete it by hand", changed) from None
                changed.append(f"deleted {name} TXT {shown(old.value)}")
        return changed

    async def read(self, names: Sequence[str]) -> dict[str, list[Existing]]:
        return await asyncio.to_thread(self._read, names)

    async def apply(self, plan: Plan) -> list[str]:
        return await asyncio.to_thread(self._apply, plan)


async def find_zone(domain: str, nameservers: Sequence[str], timeout: float) -> str:
    """The zone that holds the domain, from DNS (the closest enclosing NS set)."""
    from wizard.dnsclient import DnsClient

    client = DnsClient(tuple(nameservers), timeout=timeout)
    try:
        found = await client.find_zone(domain)
    finally:
        await client.close()
    if found.zone is None:
        raise PublishRefused(f"zone not found for {domain}: {found.error}; check the domain and --nameserver")
    return found.zone
