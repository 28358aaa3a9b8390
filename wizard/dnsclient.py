"""DNS lookups for the checks, on dnspython: it builds every query and reads every answer.

On top of dnspython this module adds what the checks need: outcomes told apart (NXDOMAIN,
NODATA, SERVFAIL, timeout, an unusable answer), CNAME chains followed across zones with a
hop limit, the authoritative view (every server of the zone asked directly), and a bound on
the queries in flight. Nothing here raises: every outcome is a DnsResult, so a hostile or
broken server costs the one name it answered for, never the rest of a check.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

import dns.asyncbackend
import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.opcode
import dns.rcode
import dns.rdatatype

from wizard.nameserver import parse_nameserver

__all__ = [
    "MAX_CNAME_HOPS",
    "AuthoritativeView",
    "DnsClient",
    "DnsResult",
    "ZoneServers",
    "normalise_name",
    "rdata_text",
]

#: CNAME hops followed across zones (an authoritative server stops at a zone boundary; a
#: longer chain is reported as too long, not as the last name's missing record).
MAX_CNAME_HOPS = 8
#: Queries in flight per client; more wait their turn. Each holds a socket, so this also
#: bounds the descriptors a bulk check uses, and it keeps a bulk check from flooding one
#: resolver with datagrams it would drop (check_bulk: 256 loses none against knotd).
MAX_IN_FLIGHT = 256
#: Name servers of one zone whose addresses are looked up, and addresses asked for the
#: authoritative view. Real zones have 2-13 NS hosts (13 is what fits a 512-byte referral)
#: with one or two addresses each; a zone naming 1,500 must not make one check send
#: thousands of queries. Addresses are picked one per host first, so every host up to the
#: cap is asked.
MAX_NS_HOSTS = 16
MAX_NS_ADDRESSES = 16
#: EDNS payload size asked for (the DNS Flag Day 2020 value: no fragmented UDP).
EDNS_PAYLOAD = 1232

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


def normalise_name(name: str) -> str:
    """Lowercase, no trailing dot: the form MX hosts are compared in (RFC 8461 §4.1)."""
    text = name.strip()
    if text.endswith("."):
        text = text[:-1]
    return text.lower()


def rdata_text(rdata: Any) -> str:
    """TXT: the character-strings joined with nothing in between; other types: presentation form."""
    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    if rdata.rdtype == dns.rdatatype.MX:
        return f"{rdata.preference} {normalise_name(rdata.exchange.to_text())}"
    return str(rdata.to_text())


# --------------------------------------------------------------------------- reading answers


def _negative_ttl(response: dns.message.Message) -> int | None:
    """min(SOA TTL, SOA MINIMUM) from the authority section (RFC 2308)."""
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            return int(min(rrset.ttl, rrset[0].minimum))
    return None


def _glue(response: dns.message.Message) -> tuple[tuple[str, str], ...]:
    return tuple(
        (normalise_name(rrset.name.to_text()), rd.to_text())
        for rrset in response.additional
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
        for rd in rrset
    )


def _nxdomain_cnames(response: dns.message.Message) -> tuple[str, ...]:
    """The CNAME chain from the question name in an NXDOMAIN answer (resolve_chaining refuses those)."""
    out: list[str] = []
    current = response.question[0].name if response.question else dns.name.root
    for _ in range(MAX_CNAME_HOPS):
        found = [
            rrset[0].target
            for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == current and len(rrset)
        ]
        if not found:
            break
        current = found[-1]
        out.append(normalise_name(current.to_text()))
    return tuple(out)


def _read(response: dns.message.Message, name: str, rdtype: str) -> DnsResult:
    """A NOERROR/NXDOMAIN answer as a lookup result; an answer that cannot be used is an error."""
    if not isinstance(response, dns.message.QueryMessage) or response.opcode() != dns.opcode.QUERY:
        opcode = dns.opcode.to_text(response.opcode())
        return DnsResult(name, rdtype, "error", error=f"the answer has opcode {opcode}, not QUERY")
    if response.flags & dns.flags.TC:  # only a TCP answer gets here: UDP ones are fetched again over TCP
        return DnsResult(name, rdtype, "error", error="the answer was truncated even over TCP")
    if response.rcode() == dns.rcode.NXDOMAIN:
        return DnsResult(
            name, rdtype, "nxdomain", negative_ttl=_negative_ttl(response), cnames=_nxdomain_cnames(response)
        )
    chaining = response.resolve_chaining()
    cnames = tuple(normalise_name(rrset[0].target.to_text()) for rrset in chaining.cnames if len(rrset))
    if chaining.answer is None:
        return DnsResult(name, rdtype, "nodata", negative_ttl=_negative_ttl(response), cnames=cnames)
    rdatas = tuple(chaining.answer)
    return DnsResult(
        name,
        rdtype,
        "ok",
        records=tuple(rdata_text(r) for r in rdatas),
        rdatas=rdatas,
        ttl=int(chaining.answer.ttl),
        cnames=cnames,
        glue=_glue(response),
    )


def _rcode_text(response: dns.message.Message) -> str:
    return dns.rcode.to_text(response.rcode())


class _Failed(Exception):
    """One try at one server gave no usable message (refused port, malformed or foreign answer)."""


# --------------------------------------------------------------------------- the client


class DnsClient:
    """Resolver queries (what senders see) and direct authoritative queries (what is published).

    Only the servers given are used when `nameservers` is non-empty; otherwise the system's
    resolver configuration. Nothing here raises: every outcome is a DnsResult.
    """

    def __init__(self, nameservers: tuple[str, ...] | list[str] = (), timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.try_timeout = max(min(timeout / 3, 2.0), 0.2)
        """Each datagram waits this long before it is sent again: a lost one costs at most 2 s."""
        self.configured: list[tuple[str, int]] = [parse_nameserver(ns) for ns in nameservers]
        self.setup_error = ""
        self.servers: list[tuple[str, int]] = list(self.configured)
        if not self.configured:
            try:  # dnspython reads /etc/resolv.conf (or the platform's equivalent)
                system = dns.asyncresolver.Resolver()
                self.servers = [
                    (ns.address, ns.port) for ns in system.nameservers if isinstance(ns, dns.nameserver.Do53Nameserver)
                ]
                self.servers += [(ns, system.port) for ns in system.nameservers if isinstance(ns, str)]
            except dns.exception.DNSException as exc:
                self.setup_error = str(exc) or type(exc).__name__
        self._cache: dict[tuple[str, str], asyncio.Task[DnsResult]] = {}
        self._in_flight: asyncio.Semaphore | None = None
        self.sent = 0
        """Queries sent (each try counts), for tests and benchmarks."""
        self.queries = 0
        """Resolver lookups made, and how many of them got any DNS answer at all (even SERVFAIL)."""
        self.answered = 0

    @property
    def port_for(self) -> dict[str, int]:
        """Configured resolver address -> port (used when that address is also an authoritative server)."""
        return dict(self.configured)

    @property
    def unreachable(self) -> bool:
        """Lookups were made and not one got an answer: the resolver itself is out of reach."""
        return bool(self.setup_error) or (self.queries > 0 and self.answered == 0)

    async def close(self) -> None:
        """Stop lookups still running (dnspython opens a socket per query and closes it after)."""
        for task in self._cache.values():
            task.cancel()
        self._cache.clear()

    async def query(self, name: str, rdtype: str, *, follow_cnames: bool = True) -> DnsResult:
        """Resolve `name`/`rdtype`, following CNAME chains ourselves; memoised for one client."""
        key = (normalise_name(name), rdtype.upper())
        task = self._cache.get(key)
        if task is None:
            task = self._cache[key] = asyncio.ensure_future(self._query_chain(key[0], key[1], follow_cnames))
        return await asyncio.shield(task)

    async def _query_chain(self, name: str, rdtype: str, follow: bool) -> DnsResult:
        started = time.monotonic()
        chain: list[str] = []
        visited = {name}
        result = await self._query_resolver(name, rdtype)
        while follow and result.status == "nodata" and result.cnames:
            # The server stopped at a CNAME whose target it does not serve: chase it ourselves.
            chain.extend(hop for hop in result.cnames if hop not in chain)
            nxt = result.canonical_name
            if nxt in visited:
                why = f"the CNAME chain from {name} loops back to {nxt} ({' -> '.join(chain)})"
                result = DnsResult(name, rdtype, "error", error=why)
                break
            if len(chain) >= MAX_CNAME_HOPS:
                why = f"the CNAME chain from {name} is longer than {MAX_CNAME_HOPS} hops ({' -> '.join(chain)})"
                result = DnsResult(name, rdtype, "error", error=why)
                break
            visited.add(nxt)
            result = await self._query_resolver(nxt, rdtype)
        chain.extend(hop for hop in result.cnames if hop not in chain)
        elapsed = int((time.monotonic() - started) * 1000)
        return replace(result, name=name, cnames=tuple(chain), elapsed_ms=elapsed)

    async def _exchange(
        self, query: dns.message.Message, address: str, port: int, timeout: float
    ) -> dns.message.Message:
        """Ask one server, for up to `timeout`: UDP, then TCP when the answer is truncated.

        Raises TimeoutError when no answer came, _Failed when what came cannot be used.
        """
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        async with self._in_flight:
            try:
                async with asyncio.timeout(timeout):
                    return await self._udp_then_tcp(query, address, port, timeout)
            except (TimeoutError, dns.exception.Timeout):
                raise TimeoutError from None
            except OSError as exc:  # ICMP port unreachable, no route, a TCP reset
                raise _Failed(f"{address}:{port}: {exc.strerror or exc}") from None
            except _Failed:
                raise
            except Exception as exc:  # whatever a hostile answer makes dnspython raise fails this server only
                raise _Failed(f"{address}:{port} sent an unusable answer ({exc or type(exc).__name__})") from None

    async def _udp_then_tcp(
        self, query: dns.message.Message, address: str, port: int, timeout: float
    ) -> dns.message.Message:
        """The query over one connected UDP socket, sent again every `try_timeout` (doubling).

        The socket stays open across the sends and they are the same message (same ID), so an
        answer slower than the wait still counts, and a refused port fails at once (ICMP).
        """
        started = time.monotonic()
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        backend = dns.asyncbackend.get_default_backend()
        wire = query.to_wire()
        wait = self.try_timeout
        async with await backend.make_socket(family, socket.SOCK_DGRAM, 0, None, (address, port)) as sock:
            while True:
                self.sent += 1
                await dns.asyncquery.send_udp(sock, wire, None)
                try:
                    response, _when, _source = await dns.asyncquery.receive_udp(
                        sock, None, time.time() + wait, raise_on_truncation=True
                    )
                    break
                except dns.exception.Timeout:
                    wait *= 2  # the caller's asyncio.timeout ends the loop
                except dns.message.Truncated:  # the whole answer only comes over TCP
                    left = max(timeout - (time.monotonic() - started), 0.05)
                    return await dns.asyncquery.tcp(query, address, timeout=left, port=port)
        if not query.is_response(response):  # another ID, opcode or question
            raise _Failed(f"{address}:{port} sent an answer that does not match the query")
        return response

    @staticmethod
    def _make_query(name: str, rdtype: str, *, recursion: bool) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=EDNS_PAYLOAD)
        if not recursion:
            query.flags &= ~dns.flags.RD
        return query

    async def _query_resolver(self, name: str, rdtype: str) -> DnsResult:
        """Ask the resolvers in order, again and again, until one answers or the timeout ends.

        As dnspython's resolver does: a server that answers SERVFAIL/REFUSED (or whose port
        is refused, or whose answer is unusable) is dropped; a silent one is retried after
        the others.
        """
        self.queries += 1
        if self.setup_error:
            return DnsResult(name, rdtype, "noresolver", error=self.setup_error)
        if not self.servers:
            return DnsResult(name, rdtype, "noresolver", error="no DNS servers are configured (/etc/resolv.conf)")
        try:
            query = self._make_query(name, rdtype, recursion=True)
        except (dns.exception.DNSException, ValueError) as exc:
            return DnsResult(name, rdtype, "error", error=str(exc) or type(exc).__name__)
        deadline = time.monotonic() + self.timeout
        servers = list(self.servers)
        timeouts: list[str] = []
        failures: list[str] = []
        while servers:
            for address, port in list(servers):
                left = deadline - time.monotonic()
                if left <= 0:
                    servers = []
                    break
                # The last server left gets all the time left (resending), others one try per round.
                budget = left if len(servers) == 1 else min(self.try_timeout, left)
                try:
                    response = await self._exchange(query, address, port, budget)
                except TimeoutError:
                    timeouts.append(f"{address}:{port}: the DNS operation timed out")
                    continue
                except _Failed as exc:
                    failures.append(str(exc))
                    servers.remove((address, port))
                    continue
                self.answered += 1
                if response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    return self._safe_read(response, name, rdtype)
                if response.rcode() == dns.rcode.YXDOMAIN:
                    why = "the DNS query name is too long after DNAME substitution"
                    return DnsResult(name, rdtype, "error", error=why)
                failures.append(f"{address} answered {_rcode_text(response)}")
                servers.remove((address, port))
        if failures and not timeouts:
            return DnsResult(name, rdtype, "servfail", error="; ".join(failures[:3]))
        why = "; ".join(dict.fromkeys([*failures, *timeouts][-3:]))
        return DnsResult(name, rdtype, "timeout", error=f"no answer within {self.timeout:g} s ({why})")

    @staticmethod
    def _safe_read(response: dns.message.Message, name: str, rdtype: str) -> DnsResult:
        try:
            return _read(response, name, rdtype)
        except Exception as exc:  # parsed, but it cannot be chained (too long, inconsistent)
            return DnsResult(name, rdtype, "error", error=f"the answer cannot be used ({exc or type(exc).__name__})")

    # ---------------------------------------------------------------- authoritative view

    async def query_server(self, address: str, port: int, name: str, rdtype: str) -> DnsResult:
        """Ask one server directly, without recursion (UDP, TCP when truncated)."""
        started = time.monotonic()
        try:
            query = self._make_query(name, rdtype, recursion=False)
        except (dns.exception.DNSException, ValueError) as exc:
            return DnsResult(name, rdtype, "error", error=str(exc) or type(exc).__name__)
        try:
            response = await self._exchange(query, address, port, self.timeout)
        except TimeoutError:
            return DnsResult(name, rdtype, "timeout", error=f"{address} gave no answer within {self.timeout:g} s")
        except _Failed as exc:
            return DnsResult(name, rdtype, "error", error=str(exc))
        elapsed = int((time.monotonic() - started) * 1000)
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            why = f"{address} answered {_rcode_text(response)}"
            return DnsResult(name, rdtype, "servfail", error=why, elapsed_ms=elapsed)
        return replace(self._safe_read(response, name, rdtype), glue=(), elapsed_ms=elapsed)

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
                hosts = tuple(sorted({normalise_name(r.target.to_text()) for r in res.rdatas}))
                return await self._zone_servers(cand, hosts, res.glue)
        failed = [r for r in answers if r.failed]
        why = failed[0].describe() if failed else f"no NS records found for {name} or its parents"
        return ZoneServers(zone=None, servers=(), error=why)

    async def _zone_servers(self, zone: str, hosts: tuple[str, ...], glue: tuple[tuple[str, str], ...]) -> ZoneServers:
        """Addresses of at most MAX_NS_HOSTS name servers, at most MAX_NS_ADDRESSES of them, one per host first."""

        async def addresses(host: str) -> list[str]:
            known = [a for h, a in glue if h == host]
            if known:
                return list(dict.fromkeys(known))
            got = await asyncio.gather(self.query(host, "A"), self.query(host, "AAAA"))
            return [a for res in got for a in res.records]

        asked = hosts[:MAX_NS_HOSTS]
        lists = await asyncio.gather(*(addresses(h) for h in asked))
        servers: list[tuple[str, str]] = []
        for rank in range(max((len(lst) for lst in lists), default=0)):
            servers.extend((host, lst[rank]) for host, lst in zip(asked, lists, strict=True) if rank < len(lst))
        servers = servers[:MAX_NS_ADDRESSES]
        err = "" if servers else f"the name servers of {zone} ({', '.join(hosts[:5])}) have no addresses"
        skipped = ""
        if len(hosts) > MAX_NS_HOSTS:
            unasked = hosts[MAX_NS_HOSTS:]
            more = f" and {len(unasked) - 3} more" if len(unasked) > 3 else ""
            skipped = (
                f"the zone {zone} names {len(hosts)} name servers; {len(unasked)} of them were not asked "
                f"({', '.join(unasked[:3])}{more})"
            )
        return ZoneServers(zone=zone, servers=tuple(servers), error=err, skipped=skipped)

    async def authoritative(self, name: str, rdtype: str, zone: ZoneServers | None = None) -> AuthoritativeView:
        """Ask every authoritative server of the zone directly: what is published right now."""
        zone = zone or await self.find_zone(name)
        if not zone.servers:
            return AuthoritativeView(name, rdtype, zone.zone, (), zone.error)
        ports = self.port_for

        async def ask(host: str, addr: str) -> ServerAnswer:
            return ServerAnswer(host, addr, await self.query_server(addr, ports.get(addr, 53), name, rdtype))

        answers = await asyncio.gather(*(ask(h, a) for h, a in zone.servers))
        return AuthoritativeView(name, rdtype, zone.zone, tuple(answers), "", zone.skipped)


@dataclass(frozen=True)
class ZoneServers:
    """The zone a name lives in and its authoritative servers as (ns host, address)."""

    zone: str | None
    servers: tuple[tuple[str, str], ...]
    error: str = ""
    skipped: str = ""
    """Set when some name servers of the zone are not asked (beyond MAX_NS_HOSTS/MAX_NS_ADDRESSES): says which."""


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
    skipped: str = ""
    """Set when not every server of the zone was asked (see ZoneServers.skipped)."""

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
        return f"zone {self.zone}: " + "; ".join(parts) + (f" ({self.skipped})" if self.skipped else "")
