"""The declarative test world: `world.domain("good.test", mx=[...], policy=...)` builds a scenario.

One background thread runs an event loop with every server: the authoritative DNS
server (also used as the resolver via --nameserver), HTTPS policy hosts and SMTP
servers, each on its own random 127.X.Y.Z address (X, Y, Z in 2..250) so parallel test
runs never collide. Certificates come from a test CA whose bundle is `world.ca_bundle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
import secrets
import ssl
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.world.dns_server import DnsServer
from tests.world.https_server import HttpsServer, Site
from tests.world.pki import TestPKI
from tests.world.smtp_server import MxSpec, SmtpServer
from wizard.engine import CheckOptions
from wizard.policy import PolicyFile

T = TypeVar("T")
DEFAULT: Any = object()
DEFAULT_ID = "20260101T000000"
BIND_ATTEMPTS = 60


def quote_txt(value: str) -> str:
    """A TXT value in zone-file form, split into 255-byte strings (joined again by readers)."""
    data = value.encode()
    parts = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
    out = []
    for part in parts:
        text = part.decode("utf-8", errors="replace").replace("\\", "\\\\").replace('"', '\\"')
        out.append(f'"{text}"')
    return " ".join(out)


@dataclass
class Scenario:
    """What `World.domain` built, for assertions and runtime edits."""

    name: str
    mx: tuple[str, ...]
    policy_text: bytes | None
    policy_addresses: list[str] = field(default_factory=list)
    https: list[HttpsServer] = field(default_factory=list)
    mx_addresses: dict[str, str] = field(default_factory=dict)
    smtp: dict[str, SmtpServer] = field(default_factory=dict)

    @property
    def policy_host(self) -> str:
        return f"mta-sts.{self.name}"


class World:
    """Servers on loopback plus the zone data that ties them together."""

    def __init__(self, directory: Path, *, dns_delay: float = 0.0) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.pki = TestPKI(directory)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-world", daemon=True)
        self._thread.start()
        self._servers: list[Any] = []
        self._used: set[str] = set()
        self._smtp_hosts: dict[str, SmtpServer] = {}
        self._counter = 0
        self.dns: DnsServer = self._bind(lambda addr: DnsServer(addr, delay=dns_delay))
        self.dns.add_zone("world.test")
        self.dns.add("ns1.world.test", "A", self.dns.address)

    # ------------------------------------------------------------------ plumbing

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def free_address(self) -> str:
        """A random 127.X.Y.Z nobody in this world uses (binding decides if anybody else does)."""
        for _ in range(1000):
            addr = f"127.{random.randint(2, 250)}.{random.randint(2, 250)}.{random.randint(2, 250)}"
            if addr not in self._used:
                self._used.add(addr)
                return addr
        raise RuntimeError("no free loopback address")

    def _bind(self, make: Callable[[str], Any]) -> Any:
        last: OSError | None = None
        for _ in range(BIND_ATTEMPTS):
            server = make(self.free_address())
            try:
                self.call(server.start())
            except OSError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
                    raise
                last = exc
                continue
            self._servers.append(server)
            return server
        raise RuntimeError(f"could not bind a loopback server: {last}")

    def _bind_at(self, address: str, make: Callable[[str], Any]) -> Any:
        """A server on a fixed address (::1): no retry, the caller holds that address's lock."""
        server = make(address)
        self.call(server.start())
        self._servers.append(server)
        return server

    @property
    def ca_bundle(self) -> str:
        return str(self.pki.bundle_path)

    def options(self, **overrides: Any) -> CheckOptions:
        """CheckOptions that resolve through the world's DNS and trust its CA (timeout 3 s)."""
        overrides.setdefault("timeout", 3.0)
        overrides.setdefault("nameservers", (self.dns.address,))
        overrides.setdefault("ca_bundle", self.ca_bundle)
        return CheckOptions(**overrides)

    def cli_args(self) -> list[str]:
        return ["--nameserver", self.dns.address, "--ca-bundle", self.ca_bundle]

    def fresh(self, prefix: str = "d") -> str:
        """A domain name no other scenario in this world uses."""
        self._counter += 1
        return f"{prefix}-{self._counter}-{secrets.token_hex(2)}.test"

    def ensure_zone(self, name: str) -> None:
        """Make sure some zone covers `name` (the parent domain of a host, e.g. mx.provider.test)."""
        if self.dns._zone_of(name.lower()) is None:
            parent = name.split(".", 1)[1] if name.count(".") > 1 else name
            self.dns.add_zone(parent)

    def txt(self, name: str, values: Sequence[str], ttl: int = 300) -> None:
        """Replace the TXT records at `name` (empty list removes them)."""
        self.ensure_zone(name)
        self.dns.set(name, "TXT", [quote_txt(v) for v in values], ttl)

    def stale_resolver(self) -> DnsServer:
        """A second server holding a snapshot of today's records: a caching resolver that has not
        caught up. Point CheckOptions.nameservers at it; the NS records still lead to `self.dns`."""
        stale = self._bind(lambda addr: DnsServer(addr, negative_ttl=self.dns.negative_ttl))
        with self.dns._lock:
            stale.zones = set(self.dns.zones)
            stale.records = {k: list(v) for k, v in self.dns.records.items()}
        return stale

    def silent_dns(self) -> DnsServer:
        """A DNS server that never answers (for 'no resolver reachable')."""
        return self._bind(lambda addr: DnsServer(addr, silent=True))

    # ------------------------------------------------------------------ scenarios

    def domain(
        self,
        name: str,
        *,
        mx: Sequence[str] | None = DEFAULT,
        policy: PolicyFile | str | bytes | None = DEFAULT,
        sts_id: str | None = DEFAULT_ID,
        sts_txt: Sequence[str] | None = None,
        tlsrpt: str | Sequence[str] | None = DEFAULT,
        https: Site | Sequence[Site] | None = None,
        mx_spec: MxSpec | dict[str, MxSpec] | None = None,
        tlsa: Sequence[str] = (),
        ttl: int = 300,
    ) -> Scenario:
        """Publish a domain: zone, MX hosts with SMTP servers, policy host(s), TXT records.

        Defaults give a correctly configured domain in testing mode with one MX host
        (`mx.<name>`). `https` is one Site per policy-host address (a Site with body None
        serves the policy); `mx_spec` applies to every MX host or maps host -> spec.
        """
        name = name.lower()
        if self.dns._zone_of(name) == name:
            raise ValueError(f"{name} already exists in this world; use world.fresh() for a new name")
        self.dns.add_zone(name)
        hosts = tuple(h.lower() for h in ([f"mx.{name}"] if mx is DEFAULT else (mx or ())))
        if policy is DEFAULT:
            policy = PolicyFile(mode="testing", max_age=604800, mx=hosts)
        if isinstance(policy, PolicyFile):
            text: bytes | None = policy.to_text().encode()
        elif isinstance(policy, str):
            text = policy.encode()
        else:
            text = policy
        scenario = Scenario(name=name, mx=hosts, policy_text=text)
        for i, host in enumerate(hosts):
            self.dns.add(name, "MX", f"{10 * (i + 1)} {host}.", ttl)
            spec = mx_spec.get(host, MxSpec()) if isinstance(mx_spec, dict) else (mx_spec or MxSpec())
            self._mx_host(scenario, host, spec, ttl)
        for host in tlsa:
            self.ensure_zone(host)
            self.dns.add(f"_25._tcp.{host}", "TLSA", "3 1 1 " + "ab" * 32, ttl)
        if text is not None or https is not None:
            sites = [https] if isinstance(https, Site) else list(https or [Site()])
            for site in sites:
                self._policy_address(scenario, site, text or b"", ttl)
        if sts_txt is not None:
            self.txt(f"_mta-sts.{name}", list(sts_txt), ttl)
        elif sts_id is not None:
            self.txt(f"_mta-sts.{name}", [f"v=STSv1; id={sts_id}"], ttl)
        if tlsrpt is DEFAULT:
            tlsrpt = f"v=TLSRPTv1; rua=mailto:tlsrpt@{name}"
        if tlsrpt is not None:
            self.txt(f"_smtp._tls.{name}", [tlsrpt] if isinstance(tlsrpt, str) else list(tlsrpt), ttl)
        return scenario

    def _mx_host(self, scenario: Scenario, host: str, spec: MxSpec, ttl: int) -> None:
        self.ensure_zone(host)
        if spec.behaviour == "no-address":
            return
        existing = self._smtp_hosts.get(host)
        if existing is not None:
            scenario.mx_addresses[host] = existing.address
            scenario.smtp[host] = existing
            return
        if spec.behaviour == "down":
            addr = self.free_address()
        else:

            def context(spec: MxSpec = spec) -> ssl.SSLContext:
                return self.pki.server_context(spec.cert, (host,), max_version=spec.max_tls)

            self.pki.files(spec.cert, (host,))  # issue now, not inside the server's handshake
            server = self._bind(lambda addr: SmtpServer(addr, host, spec, context))
            self._smtp_hosts[host] = server
            scenario.smtp[host] = server
            addr = server.address
        scenario.mx_addresses[host] = addr
        self.dns.add(host, "A", addr, ttl)

    def _policy_address(self, scenario: Scenario, site: Site, text: bytes, ttl: int) -> None:
        host = scenario.policy_host
        if site.body is None:
            site.body = text
        if site.behaviour == "down":
            addr = site.address or self.free_address()
        else:
            self.pki.files(site.cert, (host,))

            def context_for(server_name: str, s: Site) -> ssl.SSLContext:
                return self.pki.server_context(s.cert, (server_name,))

            def make(addr: str) -> HttpsServer:
                return HttpsServer(addr, 443, {host: site}, context_for)

            server = self._bind_at(site.address, make) if site.address else self._bind(make)
            scenario.https.append(server)
            addr = server.address
        scenario.policy_addresses.append(addr)
        self.dns.add(host, "AAAA" if ":" in addr else "A", addr, ttl)

    # ------------------------------------------------------------------ teardown

    def close(self) -> None:
        for server in reversed(self._servers):
            with contextlib.suppress(Exception):  # teardown must go on
                self.call(server.stop(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
