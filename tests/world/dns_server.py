"""An authoritative DNS server on dnspython (UDP and TCP) whose zone data tests edit at runtime.

It behaves like an authoritative-only server (Knot, NSD): AA answers, in-zone CNAME
chasing only, NXDOMAIN vs NODATA with the SOA in the authority section, glue for NS
targets, TC over UDP when the answer does not fit. Knobs for hostile cases: a delay on
every answer, names that never get an answer, names that get SERVFAIL, names always
truncated over UDP, a number of UDP queries to drop unanswered (a lost datagram), a
server that never answers at all, and hostile answers per name (`hostile`): a wrong opcode
with a record, garbage after the right ID and question, TC set even over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

MAX_TCP_QUERIES = 100


def _n(name: str) -> str:
    return name.rstrip(".").lower()


@dataclass
class DnsServer:
    """Zones keyed by apex; records keyed by (owner, TYPE) -> list of (ttl, presentation text)."""

    address: str
    port: int = 53
    delay: float = 0.0
    silent: bool = False
    negative_ttl: int = 60
    ns_name: str = "ns1.world.test"
    zones: set[str] = field(default_factory=set)
    records: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)
    silent_names: set[str] = field(default_factory=set)
    servfail_names: set[str] = field(default_factory=set)
    truncate_names: set[str] = field(default_factory=set)
    hostile: dict[str, str] = field(default_factory=dict)
    """name -> "opcode" (an UPDATE answer holding a record), "garbage" (the right ID and
    question, then a record cut short) or "tc-tcp" (an empty answer with TC, over TCP too)."""
    drop_udp: int = 0
    """Drop this many of the next UDP queries without an answer (each drop counts it down)."""
    dropped: list[bytes] = field(default_factory=list)
    """The wire of every query dropped by `drop_udp`, for tests."""
    queries: list[tuple[str, str, str]] = field(default_factory=list)
    """(name, TYPE, "udp"|"tcp") of every query answered, for tests."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _udp: asyncio.DatagramTransport | None = None
    _tcp: asyncio.base_events.Server | None = None
    _pending: set[asyncio.Task[None]] = field(default_factory=set)
    _wire_cache: dict[tuple[bytes, bool], tuple[str, str, bytes]] = field(default_factory=dict)
    """Query wire without its ID -> (name, TYPE, response wire): a bulk run asks the same
    questions again and again, and building each answer with dnspython costs ~0.3 ms."""

    def __setattr__(self, name: str, value: object) -> None:
        # Tests replace `records`/`zones` wholesale (a stale resolver's snapshot): forget cached answers.
        if name in ("records", "zones", "negative_ttl", "ns_name") and "_wire_cache" in self.__dict__:
            self.__dict__["_wire_cache"].clear()
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ zone editing (thread-safe)

    def add_zone(self, apex: str) -> None:
        apex = _n(apex)
        with self._lock:
            self._wire_cache.clear()
            self.zones.add(apex)
            soa = f"{self.ns_name}. hostmaster.{apex}. 1 3600 600 86400 {self.negative_ttl}"
            self.records[(apex, "SOA")] = [(3600, soa)]
            self.records[(apex, "NS")] = [(3600, f"{self.ns_name}.")]

    def add(self, name: str, rdtype: str, value: str, ttl: int = 300) -> None:
        with self._lock:
            self._wire_cache.clear()
            self.records.setdefault((_n(name), rdtype.upper()), []).append((ttl, value))

    def set(self, name: str, rdtype: str, values: list[str], ttl: int = 300) -> None:
        with self._lock:
            self._wire_cache.clear()
            if values:
                self.records[(_n(name), rdtype.upper())] = [(ttl, v) for v in values]
            else:
                self.records.pop((_n(name), rdtype.upper()), None)

    def remove(self, name: str, rdtype: str | None = None) -> None:
        with self._lock:
            self._wire_cache.clear()
            for key in list(self.records):
                if key[0] == _n(name) and (rdtype is None or key[1] == rdtype.upper()):
                    del self.records[key]

    # ------------------------------------------------------------------ answering

    def _zone_of(self, name: str) -> str | None:
        best = None
        for apex in self.zones:
            if (name == apex or name.endswith("." + apex)) and (best is None or len(apex) > len(best)):
                best = apex
        return best

    def _exists(self, name: str) -> bool:
        return any(owner == name or owner.endswith("." + name) for owner, _t in self.records)

    def answer(self, query: dns.message.Message, transport: str = "udp") -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        qname, qtype = _n(question.name.to_text()), dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.queries.append((qname, qtype, transport))
            if qname in self.servfail_names:
                response.set_rcode(dns.rcode.SERVFAIL)
                return response
            zone = self._zone_of(qname)
            if zone is None:
                response.flags &= ~dns.flags.AA
                response.set_rcode(dns.rcode.REFUSED)
                return response
            name = qname
            for _hop in range(8):
                rrs = self.records.get((name, qtype))
                if rrs:
                    response.answer.append(_rrset(name, qtype, rrs))
                    if qtype == "NS":
                        self._glue(response, rrs)
                    return response
                cname = self.records.get((name, "CNAME"))
                if cname and qtype != "CNAME":
                    response.answer.append(_rrset(name, "CNAME", cname))
                    target = _n(cname[0][1])
                    if self._zone_of(target) != zone:
                        return response  # out of zone: an authoritative server stops here
                    name = target
                    continue
                if not self._exists(name):
                    response.set_rcode(dns.rcode.NXDOMAIN)
                soa = self.records[(zone, "SOA")]
                response.authority.append(_rrset(zone, "SOA", [(min(soa[0][0], self.negative_ttl), soa[0][1])]))
                return response
            return response

    def _hostile(self, query: dns.message.Message, mode: str, transport: str) -> bytes:
        question = query.question[0]
        with self._lock:
            self.queries.append((_n(question.name.to_text()), dns.rdatatype.to_text(question.rdtype), transport))
        if mode == "tc-tcp":
            return _truncated(query)
        response = dns.message.make_response(query)
        rdtype = dns.rdatatype.to_text(question.rdtype)
        value = _HOSTILE_RECORDS.get(rdtype)
        if value is None:
            rdtype, value = "TXT", _HOSTILE_RECORDS["TXT"]
        response.answer.append(_rrset(question.name.to_text(), rdtype, [(300, value)]))
        if mode == "opcode":
            response.set_opcode(dns.opcode.UPDATE)
            return response.to_wire()
        return response.to_wire()[:-5]  # garbage: the record's data runs past the end of the packet

    def _glue(self, response: dns.message.Message, ns_rrs: list[tuple[int, str]]) -> None:
        for _ttl, target in ns_rrs:
            for rtype in ("A", "AAAA"):
                rrs = self.records.get((_n(target), rtype))
                if rrs:
                    response.additional.append(_rrset(_n(target), rtype, rrs))

    def _wire(self, data: bytes, udp: bool) -> bytes | None:
        cached = self._wire_cache.get((data[2:], udp))
        if cached is not None:
            qname, qtype, wire = cached
            special = self.silent or qname in self.silent_names or qname in self.servfail_names or qname in self.hostile
            if not special and not (udp and qname in self.truncate_names):
                with self._lock:
                    self.queries.append((qname, qtype, "udp" if udp else "tcp"))
                return data[:2] + wire[2:]
        return self._wire_slow(data, udp)

    def _wire_slow(self, data: bytes, udp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        qname = _n(query.question[0].name.to_text())
        if self.silent or qname in self.silent_names:
            return None
        if qname in self.hostile:
            return self._hostile(query, self.hostile[qname], "udp" if udp else "tcp")
        response = self.answer(query, "udp" if udp else "tcp")
        limit = 65535
        if udp:
            limit = max(query.payload, 512) if query.edns >= 0 else 512
            if qname in self.truncate_names:
                return _truncated(query)
        try:
            wire = response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            return _truncated(query)
        if response.rcode() != dns.rcode.SERVFAIL and not self.silent:
            qtype = dns.rdatatype.to_text(query.question[0].rdtype)
            with self._lock:
                self._wire_cache[(data[2:], udp)] = (qname, qtype, wire)
        return wire

    # ------------------------------------------------------------------ transport

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport  # type: ignore[assignment]

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                server._reply_udp(self.transport, data, addr)  # type: ignore[arg-type]

        transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=(self.address, self.port))
        sock = transport.get_extra_info("socket")
        for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if option is not None:  # a burst of queries from a bulk check must not be dropped
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, option, 8 * 1024 * 1024)
                    break
        self._udp = transport  # type: ignore[assignment]
        try:
            self._tcp = await asyncio.start_server(self._serve_tcp, self.address, self.port)
        except OSError:
            transport.close()
            raise

    def _reply_udp(self, transport: asyncio.DatagramTransport, data: bytes, addr: tuple[str, int]) -> None:
        if self.drop_udp > 0:
            with self._lock:
                self.drop_udp -= 1
                self.dropped.append(data)
            return
        wire = self._wire(data, udp=True)
        if wire is None:
            return
        if self.delay:  # a timer, not a task per datagram: cheaper under a bulk burst
            asyncio.get_running_loop().call_later(self.delay, _send_if_open, transport, wire, addr)
        else:
            transport.sendto(wire, addr)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(MAX_TCP_QUERIES):
                async with asyncio.timeout(30):
                    head = await reader.readexactly(2)
                    data = await reader.readexactly(struct.unpack("!H", head)[0])
                wire = self._wire(data, udp=False)
                if wire is None:
                    await asyncio.sleep(3600)  # never answer: hold the connection until the client gives up
                    return
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(struct.pack("!H", len(wire)) + wire)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._tcp.wait_closed()


#: What a hostile answer holds: a record of the type asked for, so only the opcode or the damage is wrong.
_HOSTILE_RECORDS = {
    "TXT": '"v=STSv1; id=hostile1"',
    "MX": "10 hostile.example.",
    "A": "192.0.2.66",
    "AAAA": "2001:db8::66",
}


def _rrset(name: str, rdtype: str, rrs: list[tuple[int, str]]) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
    for ttl, text in rrs:
        rrset.add(dns.rdata.from_text(dns.rdataclass.IN, rrset.rdtype, text), ttl)
    return rrset


def _send_if_open(transport: asyncio.DatagramTransport, wire: bytes, addr: tuple[str, int]) -> None:
    if not transport.is_closing():
        transport.sendto(wire, addr)


def _truncated(query: dns.message.Message) -> bytes:
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA | dns.flags.TC
    return response.to_wire()
