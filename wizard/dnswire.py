"""The DNS wire format as the checks need it: queries written by hand, plain answers read by hand.

dnspython builds a full object graph for every message (names, rdatasets, hashing each rdata);
a bulk check spent most of its DNS CPU there. `wizard.dnsclient` sends the queries made here and
reads answers with `reply_from_wire`; anything this reader does not handle raises `WireError` and
goes to dnspython (`reply_from_message`), so both paths give the same `Reply`.
"""

from __future__ import annotations

import functools
import random
import socket
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.flags
import dns.ipv6
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA

#: How many CNAME hops are followed (authoritative servers stop at a zone boundary).
MAX_CNAME_HOPS = 8


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


def _glue(response: dns.message.Message | None) -> tuple[tuple[str, str], ...]:
    if response is None:
        return ()
    out: list[tuple[str, str]] = []
    for rrset in response.additional:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            out.extend((normalise_name(rrset.name.to_text()), rd.to_text()) for rd in rrset)
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


# dnspython builds a full object graph for every message (names, rdatasets, hashing each
# rdata); a bulk check spends most of its DNS CPU there. Queries are plain enough to
# write by hand, and answers holding only the types the checks read (A, AAAA, TXT, MX,
# NS, CNAME, SOA) are read here; anything else (escapes, DNAME, TLSA data, extended
# rcodes...) goes to dnspython, so both paths give the same Reply.

_QUICK_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*")
_EDNS_OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"  # root, OPT, payload 1232, no flags/options
MAX_CHAIN = 16  # as dnspython's resolve_chaining


class WireError(Exception):
    """The quick reader does not handle this message; dnspython reads it instead."""


@dataclass(frozen=True)
class Query:
    name: str
    rdtype: str
    wire: bytes

    @functools.cached_property
    def question(self) -> bytes:
        """The question section as sent (answers are matched against it, and read from after it)."""
        return self.wire[12 : 12 + question_length(self.wire)]

    @classmethod
    def make(cls, name: str, rdtype: str, *, recursion: bool) -> Query:
        """A query with EDNS (1232-byte answers), RD set or not; raises DNSException/ValueError on a bad name."""
        qid = random.getrandbits(16)
        code = _QUICK_TYPES.get(rdtype.upper())
        labels = name.rstrip(".").split(".") if name.strip(".") else []
        raw = [label.encode("ascii", "replace") for label in labels]
        quick = code is not None or rdtype.upper() == "TLSA"
        if (
            quick
            and all(r and len(r) <= 63 and set(r) <= _NAME_BYTES for r in raw)
            and sum(len(r) + 1 for r in raw) < 255
        ):
            qname = b"".join(bytes([len(r)]) + r for r in raw) + b"\x00"
            qtype = code if code is not None else 52
            header = (
                qid.to_bytes(2, "big")
                + (b"\x01\x00" if recursion else b"\x00\x00")
                + b"\x00\x01\x00\x00\x00\x00\x00\x01"
            )
            return cls(name, rdtype.upper(), header + qname + qtype.to_bytes(2, "big") + b"\x00\x01" + _EDNS_OPT)
        message = dns.message.make_query(dns.name.from_text(name), rdtype, use_edns=0, payload=1232)
        if not recursion:
            message.flags &= ~dns.flags.RD
        return cls(name, rdtype.upper(), message.to_wire())


def question_length(wire: bytes) -> int:
    """Length of the question section of a query we built (name + type + class)."""
    off = 12
    while off < len(wire) and wire[off]:
        off += wire[off] + 1
    return off + 1 + 4 - 12


@dataclass(frozen=True)
class Reply:
    """An answer reduced to what a lookup result needs, from either reader."""

    rcode: int
    records: tuple[str, ...] | None
    """The final rrset's records (None: no such rrset, i.e. NODATA/NXDOMAIN)."""
    rdatas: tuple[Any, ...]
    ttl: int | None
    cnames: tuple[str, ...]
    negative_ttl: int | None
    glue: tuple[tuple[str, str], ...]
    error: str = ""
    """The answer arrived but cannot be used (a CNAME chain too long, an answer with NXDOMAIN)."""


def reply_from_message(response: dns.message.Message) -> Reply:
    """The dnspython reader's view (TCP answers, and whatever the quick reader declines)."""
    rcode = response.rcode()
    qname = response.question[0].name if response.question else dns.name.root
    if rcode == dns.rcode.NXDOMAIN:
        return Reply(rcode, None, (), None, _cname_targets(response, qname), _negative_ttl(response), ())
    if rcode != dns.rcode.NOERROR:
        return Reply(rcode, None, (), None, (), None, ())
    try:
        chaining = response.resolve_chaining()  # type: ignore[attr-defined]
    except dns.exception.DNSException as exc:
        return Reply(rcode, None, (), None, (), None, (), error=str(exc) or type(exc).__name__)
    cnames = tuple(normalise_name(rr[0].target.to_text()) for rr in chaining.cnames if len(rr))
    if chaining.answer is None:
        return Reply(rcode, None, (), None, cnames, _negative_ttl(response), _glue(response))
    rdatas = tuple(chaining.answer)
    records = tuple(rdata_text(r) for r in rdatas)
    return Reply(rcode, records, rdatas, int(chaining.answer.ttl), cnames, None, _glue(response))


def _read_name(wire: bytes, off: int, end: int | None = None) -> tuple[str, int]:
    """(name as sent, without the trailing dot; offset after it). Plain host-name bytes only.

    Compression is read by dnspython's rules, so both readers reject the same packets: each
    pointer goes before the previous one (and before the name), at most 16 of them, and a
    jump never reads into the part already read. `end` bounds a name inside an rdata.
    """
    labels: list[str] = []
    after = -1
    size = 0
    limit = len(wire) if end is None else end
    biggest = off
    segment = off
    hops = 0
    while True:
        if off >= limit:
            raise WireError("name runs past its bounds")
        length = wire[off]
        if length == 0:
            return ".".join(labels), (after if after >= 0 else off + 1)
        if length & 0xC0 == 0xC0:
            if off + 1 >= limit:
                raise WireError("cut compression pointer")
            target = ((length & 0x3F) << 8) | wire[off + 1]
            if target >= biggest:
                raise WireError("compression pointer does not point backwards")
            hops += 1
            if hops > 16:
                raise WireError("compression pointer chain too long")
            if after < 0:
                after = off + 2
            biggest = target
            limit = segment
            off = segment = target
            continue
        if length & 0xC0:
            raise WireError("unknown label type")
        if off + 1 + length > limit:
            raise WireError("label runs past its bounds")
        label = wire[off + 1 : off + 1 + length]
        if not set(label) <= _NAME_BYTES:
            raise WireError("label needs escaping")
        size += length + 1
        if size > 254:
            raise WireError("name too long")
        labels.append(label.decode("ascii"))
        off += 1 + length


def _check_rdata(wire: bytes, rtype: int, start: int, end: int) -> None:
    """Reject an rdata dnspython would reject (wrong length, a name not ending at the rdata's end)."""
    if rtype == 1 or rtype == 28:
        if end - start != (4 if rtype == 1 else 16):
            raise WireError("bad address length")
    elif rtype == 16:
        off = start
        if off >= end:
            raise WireError("empty TXT")
        while off < end:
            off += 1 + wire[off]
        if off != end:
            raise WireError("bad TXT")
    elif rtype == 15:
        if end - start < 3 or _read_name(wire, start + 2, end)[1] != end:
            raise WireError("bad MX")
    elif rtype in (2, 5):
        if _read_name(wire, start, end)[1] != end:
            raise WireError("bad name rdata")
    elif rtype == 6:
        _mname, off = _read_name(wire, start, end)
        _rname, off = _read_name(wire, off, end)
        if off + 20 != end:
            raise WireError("bad SOA")


def reply_from_wire(wire: bytes, query: Query) -> Reply:
    """Read an answer to `query` without dnspython; raises WireError for anything unusual."""
    flags = int.from_bytes(wire[2:4], "big")
    rcode = flags & 0x0F
    counts = [int.from_bytes(wire[i : i + 2], "big") for i in (4, 6, 8, 10)]
    if counts[0] != 1:
        raise WireError("not one question")
    off = 12 + len(query.question)
    rrs: list[tuple[int, str, int, int, int, int]] = []  # section, owner, type, ttl, rdata start, rdata end
    for section, count in ((1, counts[1]), (2, counts[2]), (3, counts[3])):
        for _ in range(count):
            owner, off = _read_name(wire, off)
            if off + 10 > len(wire):
                raise WireError("cut record")
            rtype = int.from_bytes(wire[off : off + 2], "big")
            rclass = int.from_bytes(wire[off + 2 : off + 4], "big")
            ttl = int.from_bytes(wire[off + 4 : off + 8], "big")
            if ttl > 0x7FFFFFFF and rtype != 41:  # RFC 2181 §8: a TTL with the top bit set means 0 (as dnspython)
                ttl = 0
            rdlen = int.from_bytes(wire[off + 8 : off + 10], "big")
            start, off = off + 10, off + 10 + rdlen
            if off > len(wire):
                raise WireError("cut rdata")
            if rtype == 41:
                if section != 3 or ttl >> 24:
                    raise WireError("extended rcode")
                continue
            if rclass != 1 or rtype not in _QUICK_NUMBERS:
                raise WireError("type the quick reader does not know")
            _check_rdata(wire, rtype, start, off)
            rrs.append((section, owner.lower(), rtype, ttl, start, off))
    qtype = _QUICK_TYPES.get(query.rdtype)
    if qtype is None:  # TLSA etc.: only a NODATA/NXDOMAIN answer is read here
        if any(sec == 1 for sec, *_rest in rrs):
            raise WireError("answer data of a type read by dnspython")
        qtype = -1
    qname = query.name.rstrip(".").lower()
    answer = [rr for rr in rrs if rr[0] == 1]
    if rcode == dns.rcode.NXDOMAIN:
        return Reply(rcode, None, (), None, _quick_cnames(wire, answer, qname), _quick_negative_ttl(wire, rrs), ())
    if rcode != dns.rcode.NOERROR:
        return Reply(rcode, None, (), None, (), None, ())
    current = qname
    cnames: list[str] = []
    final: list[tuple[int, str, int, int, int, int]] = []
    for _hop in range(MAX_CHAIN + 1):
        final = [rr for rr in answer if rr[1] == current and rr[2] == qtype]
        if final or qtype == 5:
            break
        chain = [rr for rr in answer if rr[1] == current and rr[2] == 5]
        if not chain:
            break
        target, _end = _read_name(wire, chain[-1][4])  # CNAME is a singleton: the last one stands
        cnames.append(target.lower())
        current = target.lower()
    else:
        raise WireError("CNAME chain too long")
    glue = _quick_glue(wire, rrs)
    if not final:
        return Reply(rcode, None, (), None, tuple(cnames), _quick_negative_ttl(wire, rrs), glue)
    seen: dict[Any, tuple[str, Any]] = {}
    for _sec, _owner, rtype, _ttl, start, end in final if qtype not in (5, 6) else final[-1:]:
        text, rdata, key = _quick_rdata(wire, rtype, start, end)
        seen.setdefault(key, (text, rdata))
    records = tuple(text for text, _rd in seen.values())
    rdatas = tuple(rd for _text, rd in seen.values())
    return Reply(rcode, records, rdatas, min(rr[3] for rr in final), tuple(cnames), None, glue)


_QUICK_NUMBERS = frozenset(_QUICK_TYPES.values())


def _quick_rdata(wire: bytes, rtype: int, start: int, end: int) -> tuple[str, Any, Any]:
    """(presentation text as rdata_text gives it, dnspython rdata, identity for de-duplication)."""
    data = wire[start:end]
    rdata: Any
    if rtype == 1:
        if len(data) != 4:
            raise WireError("bad A")
        text = socket.inet_ntop(socket.AF_INET, data)
        return text, dns.rdtypes.IN.A.A(dns.rdataclass.IN, dns.rdatatype.A, text), data
    if rtype == 28:
        if len(data) != 16:
            raise WireError("bad AAAA")
        text = dns.ipv6.inet_ntoa(data)
        return text, dns.rdtypes.IN.AAAA.AAAA(dns.rdataclass.IN, dns.rdatatype.AAAA, text), data
    if rtype == 16:
        strings = []
        off = 0
        while off < len(data):
            length = data[off]
            if off + 1 + length > len(data):
                raise WireError("bad TXT")
            strings.append(data[off + 1 : off + 1 + length])
            off += 1 + length
        rdata = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings)
        return b"".join(strings).decode("utf-8", errors="replace"), rdata, data
    if rtype == 15:
        if len(data) < 3:
            raise WireError("bad MX")
        pref = int.from_bytes(data[:2], "big")
        host, _end = _read_name(wire, start + 2)
        rdata = dns.rdtypes.ANY.MX.MX(dns.rdataclass.IN, dns.rdatatype.MX, pref, dns.name.from_text(host or "."))
        return f"{pref} {normalise_name(host)}", rdata, (pref, host.lower())
    if rtype in (2, 5):
        host, _end = _read_name(wire, start)
        cls = dns.rdtypes.ANY.NS.NS if rtype == 2 else dns.rdtypes.ANY.CNAME.CNAME
        rdata = cls(dns.rdataclass.IN, dns.rdatatype.RdataType(rtype), dns.name.from_text(host or "."))
        return str(rdata.to_text()), rdata, host.lower()
    raise WireError("no quick reader for this answer type")


def _quick_cnames(wire: bytes, answer: list[tuple[int, str, int, int, int, int]], qname: str) -> tuple[str, ...]:
    """Like _cname_targets: the CNAME chain from the question name in an NXDOMAIN answer."""
    out: list[str] = []
    current = qname
    for _ in range(MAX_CNAME_HOPS):
        found = [rr for rr in answer if rr[2] == 5 and rr[1] == current]
        if not found:
            break
        target, _end = _read_name(wire, found[-1][4])
        out.append(target.lower())
        current = target.lower()
    return tuple(out)


def _quick_negative_ttl(wire: bytes, rrs: list[tuple[int, str, int, int, int, int]]) -> int | None:
    """Like _negative_ttl: min(TTL, MINIMUM) of the first SOA in the authority section."""
    for section, owner, rtype, _ttl, _start, _end in rrs:
        if section == 2 and rtype == 6:  # its rdata was checked by _check_rdata
            same = [rr for rr in rrs if rr[0] == 2 and rr[2] == 6 and rr[1] == owner]
            last_end = same[-1][5]  # SOA is a singleton: the last one's MINIMUM stands, the TTL is the least
            return int(min(min(rr[3] for rr in same), int.from_bytes(wire[last_end - 4 : last_end], "big")))
    return None


def _quick_glue(wire: bytes, rrs: list[tuple[int, str, int, int, int, int]]) -> tuple[tuple[str, str], ...]:
    """Like _glue: (owner, address) of the A/AAAA records in the additional section, grouped per rrset."""
    groups: dict[tuple[str, int], list[str]] = {}
    for section, owner, rtype, _ttl, start, end in rrs:
        if section == 3 and rtype in (1, 28):
            text, _rdata, _key = _quick_rdata(wire, rtype, start, end)
            texts = groups.setdefault((owner, rtype), [])
            if text not in texts:
                texts.append(text)
    return tuple((owner, text) for (owner, _t), texts in groups.items() for text in texts)
