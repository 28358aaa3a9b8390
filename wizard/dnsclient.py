"""DNS lookups for the checks (dnspython's async resolver)."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass
from typing import Any, Literal

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver


def parse_nameserver(text: str) -> tuple[str, int]:
    """`ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address -> (address, port).

    Raises ValueError with a message that says what to type.
    """
    raw = text.strip()
    host, port = raw, 53
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0:
            raise ValueError(f"nameserver {text!r}: missing ']'; write [::1]:5353 or ::1")
        host, rest = raw[1:close], raw[close + 1 :]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"nameserver {text!r}: write [ADDR]:PORT, e.g. [::1]:5353")
            port = int(rest[1:])
    elif raw.count(":") == 1:
        host, _, p = raw.partition(":")
        if not p.isdigit():
            raise ValueError(f"nameserver {text!r}: the port must be a number, e.g. 127.0.0.1:5353")
        port = int(p)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"nameserver {text!r} is not an IP address; give ADDR or ADDR:PORT, e.g. 9.9.9.9") from None
    if not 0 < port < 65536:
        raise ValueError(f"nameserver {text!r}: port {port} is out of range 1-65535")
    return host, port


# --------------------------------------------------------------------------- lookups

#: How many CNAME hops we follow ourselves (authoritative servers stop at a zone boundary).
MAX_CNAME_HOPS = 8
#: Concurrent queries in flight per client; bulk checks queue behind this instead of flooding.
MAX_IN_FLIGHT = 128

Status = Literal["ok", "nxdomain", "nodata", "servfail", "timeout", "noresolver", "error"]


@dataclass(frozen=True)
class DnsResult:
    """One lookup, with the outcome told apart the way the user needs it.

    `records` are presentation strings (TXT strings joined without separator, as RFC 8461
    §3.1 requires); `rdatas` are dnspython objects for callers that need fields.
    `ttl` is the answer's TTL; `negative_ttl` the SOA-derived time a "does not exist"
    answer may be cached. `cnames` lists the names the query went through.
    """

    name: str
    rdtype: str
    status: Status
    records: tuple[str, ...] = ()
    rdatas: tuple[Any, ...] = ()
    ttl: int | None = None
    negative_ttl: int | None = None
    cnames: tuple[str, ...] = ()
    error: str = ""
    elapsed_ms: int = 0
    glue: tuple[tuple[str, str], ...] = ()
    """(name, address) pairs from the additional section (NS answers): saves a round trip."""

    @property
    def canonical_name(self) -> str:
        return self.cnames[-1] if self.cnames else self.name

    @property
    def exists(self) -> bool:
        return self.status == "ok"

    @property
    def failed(self) -> bool:
        """The lookup gave no verdict (the records may or may not exist)."""
        return self.status in ("servfail", "timeout", "noresolver", "error")

    def describe(self) -> str:
        """What happened, in words (used in finding messages)."""
        via = f" (via CNAME {' -> '.join(self.cnames)})" if self.cnames else ""
        return {
            "ok": f"{self.name} {self.rdtype}: {len(self.records)} record(s){via}",
            "nxdomain": f"{self.canonical_name} does not exist (NXDOMAIN){via}",
            "nodata": f"{self.canonical_name} exists but has no {self.rdtype} record{via}",
            "servfail": f"looking up {self.rdtype} for {self.canonical_name} failed: {self.error}",
            "timeout": f"looking up {self.rdtype} for {self.canonical_name} timed out: {self.error}",
            "noresolver": f"no DNS resolver is configured: {self.error}",
            "error": f"looking up {self.rdtype} for {self.canonical_name} failed: {self.error}",
        }[self.status]


def rdata_text(rdata: Any) -> str:
    """TXT: the character-strings joined with nothing in between; other types: presentation form."""
    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    if rdata.rdtype in (dns.rdatatype.MX,):
        return f"{rdata.preference} {normalise_name(rdata.exchange.to_text())}"
    return str(rdata.to_text())


def normalise_name(name: str) -> str:
    """Lowercase, no trailing dot: the form MX hosts are compared in (RFC 8461 §4.1)."""
    text = name.strip()
    if text.endswith("."):
        text = text[:-1]
    return text.lower()


def _negative_ttl(response: dns.message.Message | None) -> int | None:
    """min(SOA TTL, SOA MINIMUM) from the authority section (RFC 2308)."""
    if response is None:
        return None
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            return int(min(rrset.ttl, rrset[0].minimum))
    return None


class DnsClient:
    """Resolver queries (what senders see) and direct authoritative queries (what is published).

    Only the servers given are used when `nameservers` is non-empty; otherwise the system's
    resolver configuration. Nothing here raises: every outcome is a DnsResult.
    """

    def __init__(self, nameservers: tuple[str, ...] | list[str] = (), timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.configured: list[tuple[str, int]] = [parse_nameserver(ns) for ns in nameservers]
        self.setup_error = ""
        self._sem = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._cache: dict[tuple[str, str], asyncio.Task[DnsResult]] = {}
        self.queries = 0
        """Resolver queries sent, and how many of them got any DNS answer at all (even SERVFAIL)."""
        self.answered = 0
        self.resolver: dns.asyncresolver.Resolver | None
        try:
            if self.configured:
                res = dns.asyncresolver.Resolver(configure=False)
                res.nameservers = [dns.nameserver.Do53Nameserver(a, p) for a, p in self.configured]
            else:
                res = dns.asyncresolver.Resolver()
            res.cache = None
            res.lifetime = timeout
            res.timeout = max(min(timeout / 3, 2.0), 0.2)  # a lost datagram costs at most 2 s
            res.use_edns(0, 0, 1232)
            self.resolver = res
        except dns.exception.DNSException as exc:
            self.resolver = None
            self.setup_error = str(exc) or type(exc).__name__

    @property
    def port_for(self) -> dict[str, int]:
        """Configured resolver address -> port (used when that address is also an authoritative server)."""
        return dict(self.configured)

    async def query(self, name: str, rdtype: str, *, follow_cnames: bool = True) -> DnsResult:
        """Resolve `name`/`rdtype`, following CNAME chains ourselves; memoised for one client."""
        key = (normalise_name(name), rdtype.upper())
        task = self._cache.get(key)
        if task is None:
            task = asyncio.ensure_future(self._query_chain(key[0], key[1], follow_cnames))
            self._cache[key] = task
        return await asyncio.shield(task)

    async def _query_chain(self, name: str, rdtype: str, follow: bool) -> DnsResult:
        started = time.monotonic()
        chain: list[str] = []
        current = name
        visited = {name}
        result = await self._query_once(current, rdtype)
        while follow and result.status == "nodata" and result.cnames and len(chain) < MAX_CNAME_HOPS:
            # The server stopped at a CNAME whose target it does not serve: chase it ourselves.
            for hop in result.cnames:
                if hop not in chain:
                    chain.append(hop)
            nxt = result.canonical_name
            if nxt in visited:  # a CNAME loop: report what we have
                break
            visited.add(nxt)
            current = nxt
            result = await self._query_once(current, rdtype)
        for hop in result.cnames:
            if hop not in chain:
                chain.append(hop)
        elapsed = int((time.monotonic() - started) * 1000)
        return DnsResult(
            name=name,
            rdtype=rdtype,
            status=result.status,
            records=result.records,
            rdatas=result.rdatas,
            ttl=result.ttl,
            negative_ttl=result.negative_ttl,
            cnames=tuple(chain),
            error=result.error,
            elapsed_ms=elapsed,
            glue=result.glue,
        )

    @property
    def unreachable(self) -> bool:
        """Queries were sent and not one got an answer: the resolver itself is out of reach."""
        return self.resolver is None or (self.queries > 0 and self.answered == 0)

    async def _query_once(self, name: str, rdtype: str) -> DnsResult:
        result = await self._query_resolver(name, rdtype)
        self.queries += 1
        if result.status in ("ok", "nxdomain", "nodata") or (
            result.status == "servfail" and " answered " in result.error
        ):
            self.answered += 1
        return result

    async def _query_resolver(self, name: str, rdtype: str) -> DnsResult:
        if self.resolver is None:
            return DnsResult(name, rdtype, "noresolver", error=self.setup_error)
        async with self._sem:
            try:
                qname = dns.name.from_text(name)
                answer = await self.resolver.resolve(qname, rdtype, raise_on_no_answer=False, search=False)
            except dns.resolver.NXDOMAIN as exc:
                responses = exc.responses()
                response = next(iter(responses.values()), None) if responses else None
                cnames = _cname_targets(response, qname)
                return DnsResult(name, rdtype, "nxdomain", negative_ttl=_negative_ttl(response), cnames=cnames)
            except dns.resolver.LifetimeTimeout as exc:
                return DnsResult(name, rdtype, "timeout", error=f"no answer within {self.timeout:g} s ({exc})")
            except dns.resolver.NoNameservers as exc:
                return DnsResult(name, rdtype, "servfail", error=_nonameservers_text(exc))
            except dns.resolver.NoResolverConfiguration as exc:
                return DnsResult(name, rdtype, "noresolver", error=str(exc))
            except (dns.exception.DNSException, OSError, ValueError) as exc:
                return DnsResult(name, rdtype, "error", error=str(exc) or type(exc).__name__)
        cnames = _chain_names(answer)
        if answer.rrset is None:
            return DnsResult(name, rdtype, "nodata", negative_ttl=_negative_ttl(answer.response), cnames=cnames)
        rdatas = tuple(answer.rrset)
        return DnsResult(
            name,
            rdtype,
            "ok",
            records=tuple(rdata_text(r) for r in rdatas),
            rdatas=rdatas,
            ttl=int(answer.rrset.ttl),
            cnames=cnames,
            glue=_glue(answer.response),
        )

    # ---------------------------------------------------------------- authoritative view

    async def query_server(self, address: str, port: int, name: str, rdtype: str) -> DnsResult:
        """Ask one server directly, without recursion (UDP, TCP when truncated)."""
        started = time.monotonic()
        try:
            query = dns.message.make_query(name, rdtype)
            query.flags &= ~dns.flags.RD
            async with self._sem:
                response, _tcp = await dns.asyncquery.udp_with_fallback(query, address, timeout=self.timeout, port=port)
        except (TimeoutError, dns.exception.Timeout):
            return DnsResult(name, rdtype, "timeout", error=f"{address} gave no answer within {self.timeout:g} s")
        except (dns.exception.DNSException, OSError, ValueError, EOFError) as exc:
            return DnsResult(name, rdtype, "error", error=f"{address}: {exc or type(exc).__name__}")
        elapsed = int((time.monotonic() - started) * 1000)
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return DnsResult(name, rdtype, "nxdomain", negative_ttl=_negative_ttl(response), elapsed_ms=elapsed)
        if rcode != dns.rcode.NOERROR:
            return DnsResult(
                name, rdtype, "servfail", error=f"{address} answered {dns.rcode.to_text(rcode)}", elapsed_ms=elapsed
            )
        try:
            chaining = response.resolve_chaining()  # type: ignore[attr-defined]
        except dns.exception.DNSException as exc:
            return DnsResult(name, rdtype, "error", error=str(exc), elapsed_ms=elapsed)
        cnames = tuple(normalise_name(rr[0].target.to_text()) for rr in chaining.cnames if len(rr))
        if chaining.answer is None:
            return DnsResult(
                name, rdtype, "nodata", negative_ttl=_negative_ttl(response), cnames=cnames, elapsed_ms=elapsed
            )
        rdatas = tuple(chaining.answer)
        return DnsResult(
            name,
            rdtype,
            "ok",
            records=tuple(rdata_text(r) for r in rdatas),
            rdatas=rdatas,
            ttl=int(chaining.answer.ttl),
            cnames=cnames,
            elapsed_ms=elapsed,
        )

    async def find_zone(self, name: str) -> ZoneServers:
        """The closest enclosing zone with NS records, and its servers' addresses.

        All ancestors are asked at once (one round trip), glue from the answer is used
        when present, and only missing addresses are resolved.
        """
        labels = normalise_name(name).split(".")
        candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)] or [normalise_name(name)]
        answers = await asyncio.gather(*(self.query(c, "NS", follow_cnames=False) for c in candidates))
        for cand, res in zip(candidates, answers, strict=True):
            if res.status == "ok" and not res.cnames:
                hosts = tuple(sorted(normalise_name(r.target.to_text()) for r in res.rdatas))
                return await self._zone_servers(cand, hosts, res.glue)
        failed = [r for r in answers if r.failed]
        why = failed[0].describe() if failed else f"no NS records found for {name} or its parents"
        return ZoneServers(zone=None, servers=(), error=why)

    async def _zone_servers(
        self, zone: str, hosts: tuple[str, ...], glue: tuple[tuple[str, str], ...] = ()
    ) -> ZoneServers:
        async def addresses(host: str) -> list[tuple[str, str]]:
            known = [(h, a) for h, a in glue if h == host]
            if known:
                return known
            got = await asyncio.gather(self.query(host, "A"), self.query(host, "AAAA"))
            return [(host, a) for res in got for a in res.records]

        lists = await asyncio.gather(*(addresses(h) for h in hosts))
        servers = tuple(pair for lst in lists for pair in lst)
        err = "" if servers else f"the name servers of {zone} ({', '.join(hosts)}) have no addresses"
        return ZoneServers(zone=zone, servers=servers, error=err)

    async def authoritative(self, name: str, rdtype: str, zone: ZoneServers | None = None) -> AuthoritativeView:
        """Ask every authoritative server of the zone directly: what is published right now."""
        zone = zone or await self.find_zone(name)
        if not zone.servers:
            return AuthoritativeView(name, rdtype, zone.zone, (), zone.error)
        ports = self.port_for

        async def ask(host: str, addr: str) -> ServerAnswer:
            res = await self.query_server(addr, ports.get(addr, 53), name, rdtype)
            return ServerAnswer(host, addr, res)

        answers = await asyncio.gather(*(ask(h, a) for h, a in zone.servers))
        return AuthoritativeView(name, rdtype, zone.zone, tuple(answers), "")


def _glue(response: dns.message.Message | None) -> tuple[tuple[str, str], ...]:
    if response is None:
        return ()
    out = []
    for rrset in response.additional:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            out.extend((normalise_name(rrset.name.to_text()), rd.to_text()) for rd in rrset)
    return tuple(out)


def _chain_names(answer: Any) -> tuple[str, ...]:
    """Targets of the CNAMEs a resolver answer went through, in order."""
    out: list[str] = []
    for rrset in answer.chaining_result.cnames:
        for rd in rrset:
            out.append(normalise_name(rd.target.to_text()))
            break
    return tuple(out)


def _cname_targets(response: dns.message.Message | None, qname: dns.name.Name) -> tuple[str, ...]:
    if response is None:
        return ()
    out: list[str] = []
    current = qname
    for _ in range(MAX_CNAME_HOPS):
        found = None
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == current and len(rrset):
                found = rrset[0].target
        if found is None:
            break
        out.append(normalise_name(found.to_text()))
        current = found
    return tuple(out)


def _nonameservers_text(exc: dns.resolver.NoNameservers) -> str:
    errors = exc.kwargs.get("errors") or []
    parts = []
    for err in errors[:3]:
        server, _tcp, port, ex, response = err
        if response is not None:
            parts.append(f"{server} answered {dns.rcode.to_text(response.rcode())}")
        else:
            parts.append(f"{server}:{port}: {ex}")
    return "; ".join(parts) or "every server failed (SERVFAIL or REFUSED)"


@dataclass(frozen=True)
class ZoneServers:
    """The zone a name lives in and its authoritative servers as (ns host, address)."""

    zone: str | None
    servers: tuple[tuple[str, str], ...]
    error: str = ""


@dataclass(frozen=True)
class ServerAnswer:
    host: str
    address: str
    result: DnsResult


@dataclass(frozen=True)
class AuthoritativeView:
    """What each authoritative server publishes for one name, straight from the source."""

    name: str
    rdtype: str
    zone: str | None
    answers: tuple[ServerAnswer, ...]
    error: str = ""

    @property
    def available(self) -> bool:
        return any(not a.result.failed for a in self.answers)

    def records(self) -> tuple[str, ...] | None:
        """The records the servers agree on; None when unknown or when they disagree."""
        seen = {tuple(sorted(a.result.records)) for a in self.answers if not a.result.failed}
        if len(seen) != 1:
            return None
        return next(iter(seen))

    def summary(self) -> str:
        if not self.answers:
            return f"authoritative view unavailable: {self.error}"
        parts = []
        for a in self.answers:
            res = a.result
            state = f"{len(res.records)} record(s), TTL {res.ttl}" if res.status == "ok" else res.status
            parts.append(f"{a.host} ({a.address}): {state}")
        return f"zone {self.zone}: " + "; ".join(parts)
