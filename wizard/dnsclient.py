"""DNS lookups for the checks: a shared socket per server, the quick reader of wizard.dnswire, and
dnspython for what that reader leaves (and for anything but plain UDP answers)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.message
import dns.nameserver
import dns.rcode
import dns.resolver

from wizard.dnswire import (
    MAX_CNAME_HOPS,
    Query,
    Reply,
    WireError,
    normalise_name,
    question_length,
    rdata_text,
    reply_from_message,
    reply_from_wire,
)
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

# --------------------------------------------------------------------------- lookups

#: Queries in flight per server (a client talking to several servers gets this many for each);
#: bulk checks queue behind it instead of flooding one server. Measured with check_bulk (50
#: domains, 950 queries) against knotd on loopback (default 208 KiB socket buffer): 256 lost
#: no datagram in 54 runs; 512 overflowed knotd in 21 of 54 runs (~90 datagrams each), but each
#: loss is resent after ~0.2 s and those runs were no slower (median 399 vs 419 ms). Against the
#: test server (50 ms per answer) 512 and 256 both reach best ~350-380 ms, 128 ~460-500 ms.
#: 256: as fast, and it does not flood a real resolver with datagrams it will drop.
MAX_IN_FLIGHT = 256
#: A shared query socket closes after this long without a query in flight.
IDLE_CLOSE_SECONDS = 2.0
#: A datagram with no answer is sent again (same ID, so a late answer to the first send still
#: counts) after max(MIN_RESEND, RESEND_RTT_FACTOR x the server's smoothed RTT, SRTT + 4 RTTVAR),
#: judged by the RTT known when the wait ends, doubling each time, within the try's deadline:
#: a lost datagram costs ~0.2 s, not a whole 2 s try.
MIN_RESEND = 0.2
RESEND_RTT_FACTOR = 3.0


@dataclass
class ExchangeStats:
    """Process-wide counters of the UDP exchanges, for benchmarks and diagnostics."""

    sent: int = 0
    resent: int = 0
    """Datagrams sent again because no answer came within the resend wait."""
    answered_after_resend: int = 0
    """Queries whose answer came only after a resend (a loss, or an answer slower than the wait)."""


STATS = ExchangeStats()

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


def _result(reply: Reply, name: str, rdtype: str, *, glue: bool) -> DnsResult:
    """A reply as the lookup result the checks read."""
    if reply.error:
        return DnsResult(name, rdtype, "error", error=reply.error)
    if reply.rcode == dns.rcode.NXDOMAIN:
        return DnsResult(name, rdtype, "nxdomain", negative_ttl=reply.negative_ttl, cnames=reply.cnames)
    if reply.records is None:
        return DnsResult(name, rdtype, "nodata", negative_ttl=reply.negative_ttl, cnames=reply.cnames)
    return DnsResult(
        name,
        rdtype,
        "ok",
        records=reply.records,
        rdatas=reply.rdatas,
        ttl=reply.ttl,
        cnames=reply.cnames,
        glue=reply.glue if glue else (),
    )


class _Exchange(asyncio.DatagramProtocol):
    """One connected UDP socket to one server, shared by every query of a client to it.

    dnspython's `resolve`/`udp` open and close a socket (and an asyncio endpoint) per
    query, which is most of the CPU a bulk check spends on DNS. Here queries are matched
    to answers by message ID and question; a refused port (ICMP) fails every pending
    query at once, as a per-query socket would have. A query without an answer is sent
    again with the same ID after an adaptive wait (see MIN_RESEND), so whichever copy is
    answered first completes it.
    """

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, tuple[bytes, asyncio.Future[bytes], float]] = {}
        """ID -> (question as sent, answer future, time of the only send or -1.0 once resent)."""
        self.closed: BaseException | None = None
        self.srtt: float | None = None
        """Smoothed round-trip time of answers to queries sent once (Karn: resent ones tell nothing)."""
        self.rttvar = 0.0
        """Its mean deviation (RFC 6298), so a server falling behind a burst raises the wait quickly."""
        self._idle: asyncio.TimerHandle | None = None
        self._resends: dict[int, asyncio.TimerHandle] = {}
        self.sock: socket.socket | None = None
        """The socket itself, read directly before a resend (see _drain)."""

    @property
    def usable(self) -> bool:
        return self.closed is None and self.transport is not None and not self.transport.is_closing()

    def resend_wait(self) -> float:
        """How long a query waits for its answer before it is sent again."""
        if self.srtt is None:
            return MIN_RESEND
        return max(MIN_RESEND, RESEND_RTT_FACTOR * self.srtt, self.srtt + 4 * self.rttvar)

    def close(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        if self.transport is not None:
            self.transport.close()

    def _close_if_idle(self) -> None:
        if not self.pending:
            self.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """One answer from the transport, then the others already waiting (see _drain)."""
        self._answer(data)
        self._drain()

    def _answer(self, data: bytes) -> None:
        if len(data) < 12 or not data[2] & 0x80:  # too short, or not a response
            return
        entry = self.pending.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            return
        question, fut, sent = entry
        # The question must come back as asked (0x20 case changes allowed): else it is a stray answer.
        if fut.done() or data[4:6] != b"\x00\x01" or data[12 : 12 + len(question)].lower() != question.lower():
            return
        if sent >= 0:
            rtt = time.monotonic() - sent
            if self.srtt is None:
                self.srtt, self.rttvar = rtt, rtt / 2
            else:
                self.rttvar += (abs(self.srtt - rtt) - self.rttvar) / 4
                self.srtt += (rtt - self.srtt) / 8
        else:
            STATS.answered_after_resend += 1
        fut.set_result(data)

    def error_received(self, exc: Exception) -> None:
        for _question, fut, _sent in self.pending.values():
            if not fut.done():
                fut.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = exc or ConnectionError("socket closed")
        self.error_received(self.closed)  # type: ignore[arg-type]

    def _drain(self) -> None:
        """Read the answers already waiting in the socket buffer.

        asyncio reads one datagram per loop pass; when a bulk check keeps the loop busy,
        answers wait in the buffer, each costing a loop pass (a poll) of its own, or past
        their resend time. So each read empties the buffer, and a resend reads it first:
        only queries still unanswered go out again.
        """
        if self.sock is None:
            return
        for _ in range(4096):
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.error_received(exc)
                return
            self._answer(data)

    def _resend(self, qid: int, wire: bytes, wait: float, deadline: float) -> None:
        """The query's one timer: send it again, or fail it with TimeoutError once `deadline` passed.

        One call_later handle per query does both jobs (an `asyncio.timeout` block would add a
        second timer, a context object and a cancellation per query: a bulk check sends ~1,000).
        """
        entry = self.pending.get(qid)
        if entry is None or entry[1].done():
            return
        fut = entry[1]
        if self.transport is None or self.transport.is_closing():
            fut.set_exception(self.closed or ConnectionError("socket closed"))
            return
        self._drain()
        if fut.done():
            return
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        left = deadline - now
        if left <= 0.0005:
            fut.set_exception(TimeoutError())
            return
        if entry[2] >= 0:  # the first resend: judge by what the answers since the send say about the server
            wait = max(wait, self.resend_wait())
            early = entry[2] + wait - now
            if early > 0.001:
                self._resends[qid] = loop.call_later(min(early, left), self._resend, qid, wire, wait, deadline)
                return
        self.pending[qid] = (entry[0], fut, -1.0)
        self.transport.sendto(wire)
        STATS.sent += 1
        STATS.resent += 1
        wait *= 2
        self._resends[qid] = loop.call_later(min(wait, left), self._resend, qid, wire, wait, deadline)

    async def exchange(self, wire: bytes, timeout: float, question: bytes | None = None) -> bytes:
        """Send a query (its ID made unique on this socket) and wait up to `timeout` for its answer.

        The same datagram goes out again after `resend_wait()`, then after twice that, and so
        on until `timeout` (then TimeoutError): a lost query or answer costs one short wait.
        `question` is the query's question section when the caller knows it already.
        """
        assert self.transport is not None
        qid = int.from_bytes(wire[:2], "big")
        while qid in self.pending:
            qid = random.getrandbits(16)
        wire = qid.to_bytes(2, "big") + wire[2:]
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bytes] = loop.create_future()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        wait = self.resend_wait()
        now = time.monotonic()
        if question is None:
            question = wire[12 : 12 + question_length(wire)]
        self.pending[qid] = (question, fut, now)
        try:
            self.transport.sendto(wire)
            STATS.sent += 1
            self._resends[qid] = loop.call_later(min(wait, timeout), self._resend, qid, wire, wait, now + timeout)
            return await fut
        finally:
            handle = self._resends.pop(qid, None)
            if handle is not None:
                handle.cancel()
            self.pending.pop(qid, None)
            if not self.pending:  # a long-lived caller (the wizard polling) must not keep sockets open
                self._idle = loop.call_later(IDLE_CLOSE_SECONDS, self._close_if_idle)


class DnsClient:
    """Resolver queries (what senders see) and direct authoritative queries (what is published).

    Only the servers given are used when `nameservers` is non-empty; otherwise the system's
    resolver configuration. Nothing here raises: every outcome is a DnsResult.
    """

    def __init__(self, nameservers: tuple[str, ...] | list[str] = (), timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.configured: list[tuple[str, int]] = [parse_nameserver(ns) for ns in nameservers]
        self.setup_error = ""
        self._limits: dict[tuple[str, int], asyncio.Semaphore] = {}
        """Per server: at most MAX_IN_FLIGHT queries outstanding to it (one slow server does not hold up others)."""
        self._cache: dict[tuple[str, str], asyncio.Task[DnsResult]] = {}
        self.queries = 0
        """Resolver queries sent, and how many of them got any DNS answer at all (even SERVFAIL)."""
        self.answered = 0
        self._exchanges: dict[tuple[str, int], asyncio.Future[_Exchange]] = {}
        self.servers: list[tuple[str, int]] = []
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
            for ns in res.nameservers:
                if isinstance(ns, dns.nameserver.Do53Nameserver):
                    self.servers.append((ns.address, ns.port))
                elif isinstance(ns, str):
                    self.servers.append((ns, res.port))
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
        elif task.done() and not task.cancelled() and task.exception() is None:
            return task.result()  # answered already: no shield future needed
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

    async def _exchange_for(self, address: str, port: int) -> _Exchange:
        key = (address, port)
        fut = self._exchanges.get(key)
        if fut is not None and fut.done() and not fut.cancelled() and fut.exception() is None:
            ready = fut.result()
            if ready.usable:  # the common case: no new future, no await
                return ready
        if fut is None or (fut.done() and (fut.cancelled() or fut.exception() is not None or not fut.result().usable)):
            fut = asyncio.ensure_future(self._open_exchange(address, port))
            self._exchanges[key] = fut
        return await asyncio.shield(fut)

    @staticmethod
    async def _open_exchange(address: str, port: int) -> _Exchange:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            with contextlib.suppress(OSError):  # a bulk burst of answers must not overflow the socket
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            sock.connect((address, port))
            _transport, protocol = await loop.create_datagram_endpoint(_Exchange, sock=sock)
        except BaseException:
            sock.close()
            raise
        protocol.sock = sock
        return protocol

    async def close(self) -> None:
        """Close the shared sockets (they also close with the event loop)."""
        for fut in self._exchanges.values():
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                fut.result().close()
        self._exchanges.clear()

    async def _ask(self, address: str, port: int, query: Query, timeout: float) -> Reply:
        """One try at one server: UDP on the shared socket, TCP when the answer is truncated."""
        limit = self._limits.get((address, port))
        if limit is None:
            limit = self._limits[(address, port)] = asyncio.Semaphore(MAX_IN_FLIGHT)
        async with limit:
            return await self._ask_now(address, port, query, timeout)

    async def _ask_now(self, address: str, port: int, query: Query, timeout: float) -> Reply:
        exchange = await self._exchange_for(address, port)
        started = time.monotonic()
        wire = await exchange.exchange(query.wire, timeout, query.question)
        if wire[2] & 0x02:  # TC: the whole answer only comes over TCP
            left = max(timeout - (time.monotonic() - started), 0.05)
            message = dns.message.from_wire(query.wire)
            response = await dns.asyncquery.tcp(message, address, timeout=left, port=port)
            return reply_from_message(response)
        try:
            return reply_from_wire(wire, query)
        except WireError:  # something the quick reader does not handle: let dnspython read it
            return reply_from_message(dns.message.from_wire(wire, ignore_trailing=True))

    async def _query_resolver(self, name: str, rdtype: str) -> DnsResult:
        if self.resolver is None:
            return DnsResult(name, rdtype, "noresolver", error=self.setup_error)
        if not self.servers:
            return DnsResult(name, rdtype, "noresolver", error="no DNS servers are configured (/etc/resolv.conf)")
        try:
            query = Query.make(name, rdtype, recursion=True)
        except (dns.exception.DNSException, ValueError) as exc:
            return DnsResult(name, rdtype, "error", error=str(exc) or type(exc).__name__)
        reply, errors = await self._resolve(query)
        if reply is None:
            if errors and all(kind != "timeout" for kind, _text in errors):
                texts = [text for _kind, text in errors[:3]]
                return DnsResult(name, rdtype, "servfail", error="; ".join(texts))
            why = "; ".join(dict.fromkeys(text for _kind, text in errors[-3:])) or "no answer"
            return DnsResult(name, rdtype, "timeout", error=f"no answer within {self.timeout:g} s ({why})")
        if reply.rcode == dns.rcode.YXDOMAIN:
            return DnsResult(name, rdtype, "error", error="the DNS query name is too long after DNAME substitution")
        return _result(reply, name, rdtype, glue=True)

    async def _resolve(self, query: Query) -> tuple[Reply | None, list[tuple[str, str]]]:
        """Try the servers in order, again and again, until one answers or the lifetime ends.

        As dnspython's resolver does: a server that answers SERVFAIL/REFUSED (or whose port
        is refused) is dropped; one that stays silent is retried after the others.
        Returns the response (NOERROR/NXDOMAIN/YXDOMAIN) or None with what each try saw.
        """
        assert self.resolver is not None
        deadline = time.monotonic() + self.timeout
        try_timeout = float(self.resolver.timeout)
        servers = list(self.servers)
        errors: list[tuple[str, str]] = []
        while servers:
            for address, port in list(servers):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, errors
                try:
                    reply = await self._ask(address, port, query, min(try_timeout, left))
                except (TimeoutError, dns.exception.Timeout):
                    errors.append(("timeout", f"{address}:{port}: the DNS operation timed out"))
                    continue
                except (dns.exception.DNSException, OSError, EOFError, ValueError) as exc:
                    errors.append(("failed", f"{address}:{port}: {exc or type(exc).__name__}"))
                    servers.remove((address, port))
                    continue
                if reply.rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN):
                    return reply, errors
                errors.append(("failed", f"{address} answered {dns.rcode.to_text(dns.rcode.Rcode(reply.rcode))}"))
                servers.remove((address, port))
        return None, errors

    # ---------------------------------------------------------------- authoritative view

    async def query_server(self, address: str, port: int, name: str, rdtype: str) -> DnsResult:
        """Ask one server directly, without recursion (UDP, TCP when truncated)."""
        started = time.monotonic()
        try:
            query = Query.make(name, rdtype, recursion=False)
            reply = await self._ask(address, port, query, self.timeout)
        except (TimeoutError, dns.exception.Timeout):
            return DnsResult(name, rdtype, "timeout", error=f"{address} gave no answer within {self.timeout:g} s")
        except (dns.exception.DNSException, OSError, ValueError, EOFError) as exc:
            return DnsResult(name, rdtype, "error", error=f"{address}: {exc or type(exc).__name__}")
        elapsed = int((time.monotonic() - started) * 1000)
        if reply.rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return DnsResult(
                name,
                rdtype,
                "servfail",
                error=f"{address} answered {dns.rcode.to_text(dns.rcode.Rcode(reply.rcode))}",
                elapsed_ms=elapsed,
            )
        return replace(_result(reply, name, rdtype, glue=False), elapsed_ms=elapsed)

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
