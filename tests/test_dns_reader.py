"""The hand-written DNS answer reader must see what dnspython sees, or step aside.

wizard/dnswire.py reads plain answers itself (`reply_from_wire`) and hands anything
unusual to dnspython (`_reply_from_message`) by raising `_WireError`. These tests build
many answer shapes with dnspython (and some by hand: pointers, cut and garbage packets)
and require either the same `_Reply` from both readers or a clean `_WireError`. They
also drive a lost datagram through the real client: it must be sent again, same ID,
within one try.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.world.world import World
from wizard import dnsclient as D
from wizard import dnswire as W

FIELDS = ("rcode", "records", "ttl", "cnames", "negative_ttl", "glue", "error")


def _dnspython_view(wire: bytes) -> W.Reply | None:
    """What the client falls back to; None when dnspython rejects the packet too."""
    try:
        message = dns.message.from_wire(wire, ignore_trailing=True)
    except (dns.exception.DNSException, ValueError, IndexError):
        return None
    return W.reply_from_message(message)


def _assert_agree(wire: bytes, query: W.Query) -> str:
    """Both readers give the same reply, or the quick one declines. Returns 'quick' or 'fallback'."""
    try:
        got = W.reply_from_wire(wire, query)
    except W.WireError:
        return "fallback"
    ref = _dnspython_view(wire)
    assert ref is not None, f"quick reader accepted a packet dnspython rejects: {wire!r}"
    for name in FIELDS:
        assert getattr(got, name) == getattr(ref, name), (name, getattr(got, name), getattr(ref, name))
    assert tuple(got.rdatas) == tuple(ref.rdatas)
    return "quick"


def _response(query: W.Query, rcode: int = dns.rcode.NOERROR) -> dns.message.Message:
    message = dns.message.from_wire(query.wire)
    response = dns.message.make_response(message)
    response.flags |= dns.flags.AA
    response.set_rcode(dns.rcode.Rcode(rcode))
    return response


def _rrset(name: str, rdtype: str, values: list[str], ttl: int = 300) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
    for value in values:
        rrset.add(dns.rdata.from_text(dns.rdataclass.IN, rrset.rdtype, value), ttl)
    return rrset


SOA = "ns1.example.test. hostmaster.example.test. 7 3600 600 86400 {minimum}"

# (question name, type, rcode, answer rrsets, authority rrsets, additional rrsets)
SHAPES: list[tuple[str, str, int, list[tuple[str, str, list[str], int]], list[Any], list[Any]]] = [
    ("a.example.test", "A", 0, [("a.example.test", "A", ["192.0.2.1", "192.0.2.2"], 300)], [], []),
    ("a.example.test", "A", 0, [("a.example.test", "A", ["192.0.2.1"], 0)], [], []),
    ("a.example.test", "AAAA", 0, [("a.example.test", "AAAA", ["::1", "::ffff:1.2.3.4", "2001:db8::1"], 60)], [], []),
    ("_mta-sts.example.test", "TXT", 0, [("_mta-sts.example.test", "TXT", ['"v=STSv1; id=1"'], 300)], [], []),
    (
        "_mta-sts.example.test",
        "TXT",
        0,
        [("_mta-sts.example.test", "TXT", ['"v=STSv1; " "id=" "' + "x" * 250 + '"', '"second"'], 300)],
        [],
        [],
    ),
    ("_smtp._tls.example.test", "TXT", 0, [("_smtp._tls.example.test", "TXT", ['""'], 300)], [], []),
    ("_mta-sts.example.test", "TXT", 0, [("_mta-sts.example.test", "TXT", ['"caf\\195\\169 \\255"'], 300)], [], []),
    ("example.test", "MX", 0, [("example.test", "MX", ["10 mx1.example.test.", "20 MX2.Other.test."], 300)], [], []),
    ("example.test", "MX", 0, [("example.test", "MX", ["0 ."], 300)], [], []),
    (
        "example.test",
        "NS",
        0,
        [("example.test", "NS", ["ns1.example.test.", "ns2.example.test."], 3600)],
        [],
        [("ns1.example.test", "A", ["192.0.2.53"], 3600), ("ns1.example.test", "AAAA", ["2001:db8::53"], 3600)],
    ),
    (
        "alias.example.test",
        "A",
        0,
        [
            ("alias.example.test", "CNAME", ["hop.example.test."], 300),
            ("hop.example.test", "CNAME", ["target.example.test."], 200),
            ("target.example.test", "A", ["192.0.2.7"], 100),
        ],
        [],
        [],
    ),
    ("alias.example.test", "TXT", 0, [("alias.example.test", "CNAME", ["out.other.test."], 300)], [], []),
    ("alias.example.test", "CNAME", 0, [("alias.example.test", "CNAME", ["out.other.test."], 300)], [], []),
    ("nothing.example.test", "TXT", 3, [], [("example.test", "SOA", [SOA.format(minimum=60)], 3600)], []),
    ("nothing.example.test", "TXT", 3, [], [("example.test", "SOA", [SOA.format(minimum=7200)], 900)], []),
    (
        "dead.example.test",
        "A",
        3,
        [("dead.example.test", "CNAME", ["gone.example.test."], 300)],
        [("example.test", "SOA", [SOA.format(minimum=30)], 3600)],
        [],
    ),
    ("mx.example.test", "TXT", 0, [], [("example.test", "SOA", [SOA.format(minimum=60)], 3600)], []),
    ("mx.example.test", "TXT", 0, [], [], []),
    ("mx.example.test", "TXT", 2, [], [], []),
    ("mx.example.test", "TXT", 5, [], [], []),
    (
        "_25._tcp.mx.example.test",
        "TLSA",
        0,
        [("_25._tcp.mx.example.test", "TLSA", ["3 1 1 " + "ab" * 32], 300)],
        [],
        [],
    ),
    ("_25._tcp.mx.example.test", "TLSA", 0, [], [("example.test", "SOA", [SOA.format(minimum=60)], 3600)], []),
    (
        "a.example.test",
        "A",
        0,
        [("a.example.test", "A", ["192.0.2.1"], 300), ("a.example.test", "TXT", ['"x"'], 300)],
        [],
        [],
    ),
    ("a.example.test", "A", 0, [("other.example.test", "A", ["192.0.2.9"], 300)], [], []),
    ("a.example.test", "A", 0, [("a.example.test", "DNAME", ["elsewhere.test."], 300)], [], []),
]


def _build(shape: Any, compress: bool = True) -> tuple[W.Query, bytes]:
    qname, qtype, rcode, answer, authority, additional = shape
    query = W.Query.make(qname, qtype, recursion=True)
    response = _response(query, rcode)
    for section, rrsets in (
        (response.answer, answer),
        (response.authority, authority),
        (response.additional, additional),
    ):
        for owner, rdtype, values, ttl in rrsets:
            section.append(_rrset(owner, rdtype, values, ttl))
    return query, (response.to_wire() if compress else _uncompressed(response))


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{s[0]}-{s[1]}-rcode{s[2]}-{i}" for i, s in enumerate(SHAPES)])
@pytest.mark.parametrize("compress", [True, False], ids=["compressed", "plain"])
def test_quick_reader_agrees_with_dnspython(shape: Any, compress: bool) -> None:
    query, wire = _build(shape, compress)
    if shape[3] and compress:  # the pointers are really there (the OPT record is 11 bytes)
        assert len(wire) - 11 < len(_build(shape, compress=False)[1])
    _assert_agree(wire, query)


def _uncompressed(response: dns.message.Message) -> bytes:
    """The same message with every name written out (no compression pointers)."""
    out = bytearray(response.to_wire()[:12])
    for rrset in response.question:
        out += rrset.name.to_digestable() + struct.pack("!HH", rrset.rdtype, rrset.rdclass)
    for section in (response.answer, response.authority, response.additional):
        for rrset in section:
            for rdata in rrset:
                data = rdata.to_digestable()  # canonical form: names uncompressed (and lowercased)
                out += rrset.name.to_digestable()
                out += struct.pack("!HHIH", rrset.rdtype, rrset.rdclass, rrset.ttl, len(data)) + data
    counts = (
        len(response.question),
        *(sum(len(r) for r in s) for s in (response.answer, response.authority, response.additional)),
    )
    out[4:12] = struct.pack("!HHHH", *counts)
    return bytes(out)


def test_quick_reader_reads_the_common_shapes_itself() -> None:
    """The fast path is not dead code: plain answers are read without dnspython."""
    outcomes = [_assert_agree(wire, query) for query, wire in map(_build, SHAPES)]
    assert outcomes.count("quick") >= 18
    assert "fallback" in outcomes  # DNAME, TLSA data, unrelated types go to dnspython


def test_compression_pointer_into_the_question_is_followed() -> None:
    query = W.Query.make("ptr.example.test", "MX", recursion=True)
    header = query.wire[:2] + b"\x84\x00" + struct.pack("!HHHH", 1, 1, 0, 0)
    question = query.wire[12 : 12 + W.question_length(query.wire)]
    # owner = pointer to the question name (offset 12); exchange = "mx" + pointer to "example.test" (offset 16)
    rdata = struct.pack("!H", 5) + b"\x02mx" + b"\xc0\x10"
    record = b"\xc0\x0c" + struct.pack("!HHIH", 15, 1, 300, len(rdata)) + rdata
    wire = header + question + record
    assert _assert_agree(wire, query) == "quick"
    assert W.reply_from_wire(wire, query).records == ("5 mx.example.test",)


@pytest.mark.parametrize(
    "owner",
    [b"\xc0\x40", b"\xc0\x2c", b"\xc0", b"\x80\x0c", b"\x40\x0c"],
    ids=["forward-pointer", "self-pointer", "cut-pointer", "label-type-10", "label-type-01"],
)
def test_bad_pointers_and_label_types_fail_cleanly(owner: bytes) -> None:
    query = W.Query.make("bad.example.test", "A", recursion=True)
    header = query.wire[:2] + b"\x84\x00" + struct.pack("!HHHH", 1, 1, 0, 0)
    question = query.wire[12 : 12 + W.question_length(query.wire)]
    wire = header + question + owner + struct.pack("!HHIH", 1, 1, 300, 4) + b"\xc0\x00\x02\x01"
    if owner == b"\xc0\x2c":  # point the name at itself
        offset = len(header + question)
        wire = header + question + struct.pack("!H", 0xC000 | offset) + wire[len(header + question) + 2 :]
    with pytest.raises(W.WireError):
        W.reply_from_wire(wire, query)
    assert _dnspython_view(wire) is None  # dnspython rejects it too: the client reports an error, not a result


def test_truncated_flag_goes_to_tcp_and_an_empty_tc_answer_is_not_read_as_nodata(world: World) -> None:
    name = world.fresh("tc")
    world.domain(name)
    world.dns.truncate_names.add(f"_mta-sts.{name}")

    async def run() -> D.DnsResult:
        client = D.DnsClient((world.dns.address,), timeout=3.0)
        try:
            return await client.query(f"_mta-sts.{name}", "TXT")
        finally:
            await client.close()

    result = asyncio.run(run())
    assert result.status == "ok" and result.records[0].startswith("v=STSv1")
    transports = [t for n, q, t in world.dns.queries if n == f"_mta-sts.{name}" and q == "TXT"]
    assert transports == ["udp", "tcp"]


# --------------------------------------------------------------------------- generated shapes

_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
_host = st.lists(_label, min_size=1, max_size=4).map(lambda labels: ".".join(labels) + ".example.test")
_ttl = st.integers(min_value=0, max_value=2**31 - 1)
_txt = st.lists(st.binary(max_size=40), min_size=1, max_size=4).map(
    lambda parts: " ".join('"' + "".join(f"\\{b:03d}" for b in p) + '"' for p in parts)
)
_values = {
    "A": st.ip_addresses(v=4).map(str),
    "AAAA": st.ip_addresses(v=6).map(str),
    "TXT": _txt,
    "MX": st.tuples(st.integers(0, 65535), st.one_of(_host, st.just("."))).map(
        lambda p: f"{p[0]} {p[1]}" + ("" if p[1] == "." else ".")
    ),
    "NS": _host.map(lambda h: h + "."),
    "CNAME": _host.map(lambda h: h + "."),
}


@st.composite
def _shapes(draw: st.DrawFn) -> Any:
    """An answer shape as in SHAPES: rcode, maybe a CNAME chain, rrsets at the right or another owner, SOA, glue."""
    qname = draw(_host)
    qtype = draw(st.sampled_from(["A", "AAAA", "TXT", "MX", "NS", "CNAME"]))
    answer = []
    owner = qname
    for _hop in range(draw(st.integers(0, 3))):  # a CNAME chain, maybe
        target = draw(_host)
        answer.append((owner, "CNAME", [target + "."], draw(_ttl)))
        owner = target
    for rdtype in draw(st.lists(st.sampled_from(sorted(_values)), max_size=3)):
        where = draw(st.sampled_from([owner, owner, draw(_host)]))
        answer.append((where, rdtype, draw(st.lists(_values[rdtype], min_size=1, max_size=3)), draw(_ttl)))
    authority = []
    if draw(st.booleans()):
        authority.append(("example.test", "SOA", [SOA.format(minimum=draw(_ttl))], draw(_ttl)))
    additional = []
    for _ in range(draw(st.integers(0, 2))):
        rdtype = draw(st.sampled_from(["A", "AAAA"]))
        additional.append((draw(_host), rdtype, draw(st.lists(_values[rdtype], min_size=1, max_size=2)), 60))
    return (qname, qtype, draw(st.sampled_from([0, 0, 0, 3, 2, 5])), answer, authority, additional)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_shapes())
def test_generated_answers_read_the_same_both_ways(shape: Any) -> None:
    query, wire = _build(shape)
    _assert_agree(wire, query)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_shapes(), st.data())
def test_damaged_answers_fall_back_or_agree(shape: Any, data: st.DataObject) -> None:
    """Flipped bytes, cut packets, junk after the end: a clean _WireError or the same reply as dnspython."""
    query, wire = _build(shape)
    damage = data.draw(st.sampled_from(["flip", "cut", "append"]))
    if damage == "flip":
        at = data.draw(st.integers(12, len(wire) - 1))
        wire = wire[:at] + bytes([wire[at] ^ data.draw(st.integers(1, 255))]) + wire[at + 1 :]
    elif damage == "cut":
        wire = wire[: data.draw(st.integers(12, len(wire) - 1))]
    else:
        wire = wire + data.draw(st.binary(min_size=1, max_size=20))
    qlen = W.question_length(query.wire)
    # The client drops answers whose question or flags do not fit before any reader sees them.
    assume(wire[12 : 12 + qlen].lower() == query.wire[12 : 12 + qlen].lower() and wire[2] & 0x80)
    assume(not wire[2] & 0x02)  # TC: the answer is fetched again over TCP, not read
    _assert_agree(wire, query)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=12, max_size=300))
def test_garbage_packets_fail_cleanly(junk: bytes) -> None:
    query = W.Query.make("_mta-sts.example.test", "TXT", recursion=True)
    _assert_agree(query.wire[:2] + junk[2:], query)


# --------------------------------------------------------------------------- lost datagrams


def test_a_lost_first_datagram_is_sent_again_with_the_same_id_within_one_try(world: World) -> None:
    """One try with a 10 s deadline: the old client waited it out; now the resend answers it."""
    name = world.fresh("lost")
    world.domain(name)
    world.dns.drop_udp = 2
    resent_before = D.STATS.resent

    async def run() -> D.DnsResult:
        client = D.DnsClient((world.dns.address,), timeout=10.0)
        try:
            return await client.query_server(world.dns.address, 53, f"_mta-sts.{name}", "TXT")
        finally:
            await client.close()

    result = world.call(asyncio.wait_for(run(), 20))
    assert result.status == "ok" and result.records[0].startswith("v=STSv1")
    answered = [q for q in world.dns.queries if q[0] == f"_mta-sts.{name}"]
    assert answered == [(f"_mta-sts.{name}", "TXT", "udp")]
    assert D.STATS.resent >= resent_before + 2
    # Each resend is the same datagram, ID included: an answer to any copy completes the query.
    first, second = world.dns.dropped
    assert first == second
    assert dns.message.from_wire(first).question[0].name == dns.name.from_text(f"_mta-sts.{name}")


def test_a_late_answer_to_the_first_send_still_counts(tmp_path: Any) -> None:
    """Answers slower than the resend wait: each query is resent, and the first answer to arrive is used."""
    world = World(tmp_path, dns_delay=0.45)
    try:
        name = world.fresh("slow")
        world.domain(name)
        late_before = D.STATS.answered_after_resend

        async def run() -> D.DnsResult:
            client = D.DnsClient((world.dns.address,), timeout=10.0)
            try:
                return await client.query(f"_mta-sts.{name}", "TXT")
            finally:
                await client.close()

        result = asyncio.run(run())
        assert result.status == "ok"
        assert D.STATS.answered_after_resend > late_before
        seen = [q for q in world.dns.queries if q[0] == f"_mta-sts.{name}"]
        assert len(seen) >= 2  # the first send and at least one resend reached the server
    finally:
        world.close()


def test_a_server_that_answers_garbage_gives_an_error_not_a_traceback(world: World) -> None:
    qlen = W.question_length(W.Query.make("_mta-sts.example.test", "TXT", recursion=True).wire)
    address = world.free_address()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    port = sock.getsockname()[1]
    sock.settimeout(5)

    async def run() -> D.DnsResult:
        client = D.DnsClient((f"{address}:{port}",), timeout=2.0)
        try:
            return await client.query("_mta-sts.example.test", "TXT")
        finally:
            await client.close()

    def garbage_server() -> None:
        try:
            data, peer = sock.recvfrom(2048)
            # The right ID and question, then a record that runs past the end of the packet.
            reply = (
                data[:2]
                + b"\x81\x80"
                + b"\x00\x01\x00\x01\x00\x00\x00\x00"
                + data[12 : 12 + qlen]
                + b"\xc0\x0c\x00\x10"
            )
            sock.sendto(reply, peer)
        except OSError:
            pass

    thread = threading.Thread(target=garbage_server, daemon=True)
    thread.start()
    try:
        result = asyncio.run(run())
    finally:
        thread.join(5)
        sock.close()
    assert result.status in ("error", "servfail")
    assert result.describe()


def test_a_ttl_with_the_top_bit_set_reads_as_zero() -> None:
    """RFC 2181 §8, as dnspython reads it (found by the damaged-answer test)."""
    query, wire = _build(("a.example.test", "A", 0, [("a.example.test", "A", ["192.0.2.1"], 300)], [], []))
    at = wire.index(struct.pack("!I", 300))
    wire = wire[:at] + struct.pack("!I", 0x80000000) + wire[at + 4 :]
    assert _assert_agree(wire, query) == "quick"
    assert W.reply_from_wire(wire, query).ttl == 0
