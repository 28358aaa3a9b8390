"""wizard.dnsclient against the test world's DNS server, hostile answers included.

Every answer a server sends is read by dnspython; what this file checks is what the client
makes of it: a truncated answer fetched again over TCP, a lost datagram sent again, and every
answer that cannot be used (wrong opcode, garbage, TC set even over TCP, a CNAME chain over
the hop limit) failing that one lookup with a message, never a traceback or a wrong verdict.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path

import dns.message
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.world.world import World
from wizard import dnsclient as D
from wizard.cli import main


async def _lookup(world: World, name: str, rdtype: str = "TXT", timeout: float = 3.0) -> D.DnsResult:
    client = D.DnsClient((world.dns.address,), timeout=timeout)
    try:
        return await client.query(name, rdtype)
    finally:
        await client.close()


def test_truncated_flag_goes_to_tcp_and_an_empty_tc_answer_is_not_read_as_nodata(world: World) -> None:
    name = world.fresh("tc")
    world.domain(name)
    world.dns.truncate_names.add(f"_mta-sts.{name}")
    result = asyncio.run(_lookup(world, f"_mta-sts.{name}"))
    assert result.status == "ok" and result.records[0].startswith("v=STSv1")
    transports = [t for n, q, t in world.dns.queries if n == f"_mta-sts.{name}" and q == "TXT"]
    assert transports == ["udp", "tcp"]


def test_a_tcp_answer_with_tc_set_is_an_error_that_says_truncated_not_nodata(world: World) -> None:
    name = world.fresh("tctcp")
    world.domain(name)
    world.dns.hostile[f"_mta-sts.{name}"] = "tc-tcp"
    result = asyncio.run(_lookup(world, f"_mta-sts.{name}"))
    assert result.status == "error" and result.failed
    assert "truncated even over TCP" in result.describe()
    transports = [t for n, q, t in world.dns.queries if n == f"_mta-sts.{name}"]
    assert transports == ["udp", "tcp"]


def test_a_lost_datagram_is_sent_again_before_the_timeout_ends(world: World) -> None:
    name = world.fresh("lost")
    world.domain(name)
    world.dns.drop_udp = 1

    async def run() -> D.DnsResult:
        client = D.DnsClient((world.dns.address,), timeout=3.0)
        try:
            return await client.query_server(world.dns.address, 53, f"_mta-sts.{name}", "TXT")
        finally:
            await client.close()

    result = asyncio.run(run())
    assert result.status == "ok" and result.records[0].startswith("v=STSv1")
    assert len(world.dns.dropped) == 1
    assert [q for q in world.dns.queries if q[0] == f"_mta-sts.{name}"] == [(f"_mta-sts.{name}", "TXT", "udp")]


def test_an_answer_slower_than_the_resend_wait_still_counts(tmp_path: Path) -> None:
    """Each query is sent again after 1 s; the answer to the first send comes at 1.5 s and is used."""
    world = World(tmp_path, dns_delay=1.5)
    try:
        name = world.fresh("slow")
        world.domain(name)
        result = asyncio.run(_lookup(world, f"_mta-sts.{name}", timeout=3.0))
        assert result.status == "ok" and result.records[0].startswith("v=STSv1")
        seen = [q for q in world.dns.queries if q[0] == f"_mta-sts.{name}"]
        assert len(seen) >= 2  # the first send and the resend reached the server
    finally:
        world.close()


@pytest.mark.parametrize("mode", ["opcode", "garbage"])
def test_an_answer_that_cannot_be_read_fails_that_lookup_with_a_message(world: World, mode: str) -> None:
    name = world.fresh(mode)
    world.domain(name)
    world.dns.hostile[f"_mta-sts.{name}"] = mode

    async def run() -> tuple[D.DnsResult, D.DnsResult, D.DnsResult]:
        client = D.DnsClient((world.dns.address,), timeout=2.0)
        try:
            return await asyncio.gather(
                client.query(f"_mta-sts.{name}", "TXT"),
                client.query_server(world.dns.address, 53, f"_mta-sts.{name}", "TXT"),
                client.query(f"_smtp._tls.{name}", "TXT"),
            )
        finally:
            await client.close()

    via_resolver, direct, other = asyncio.run(run())
    for result in (via_resolver, direct):
        assert result.failed and result.status in ("error", "servfail")
        assert "unusable answer" in result.describe()
        assert not result.records
    assert other.status == "ok"  # the same server's other answers still count


def test_a_cname_chain_over_the_hop_limit_says_the_chain_is_too_long(world: World) -> None:
    name = world.fresh("chain")
    hops = [f"c{i}.{name}-{i}.test" for i in range(D.MAX_CNAME_HOPS + 2)]
    for i, hop in enumerate(hops):
        world.dns.add_zone(f"{name}-{i}.test")  # one zone per hop: the server stops at each
        if i + 1 < len(hops):
            world.dns.add(hop, "CNAME", f"{hops[i + 1]}.")
    world.dns.add(hops[-1], "A", "192.0.2.1")
    result = asyncio.run(_lookup(world, hops[0], "A"))
    assert result.status == "error"
    text = result.describe()
    assert f"longer than {D.MAX_CNAME_HOPS} hops" in text and "has no A record" not in text
    short = asyncio.run(_lookup(world, hops[2], "A"))  # 7 hops: within the limit, followed to the end
    assert short.status == "ok" and short.records == ("192.0.2.1",)


def test_a_cname_loop_is_an_error_not_nodata(world: World) -> None:
    name = world.fresh("loop")
    first, second = f"a.{name}-1.test", f"b.{name}-2.test"
    world.dns.add_zone(f"{name}-1.test")
    world.dns.add_zone(f"{name}-2.test")
    world.dns.add(first, "CNAME", f"{second}.")
    world.dns.add(second, "CNAME", f"{first}.")
    result = asyncio.run(_lookup(world, first, "A"))
    assert result.status == "error" and "loops back" in result.describe()


def test_check_keeps_the_domains_other_results_when_one_answer_is_hostile(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    name = world.fresh("hostile")
    world.domain(name)
    world.dns.hostile[f"_mta-sts.{name}"] = "opcode"
    code = main(["check", name, "--json", "--timeout", "3", *world.cli_args()])
    out = capsys.readouterr()
    assert code == 1, out.err
    assert "Traceback" not in out.err
    (domain,) = json.loads(out.out)["domains"]
    failed = [f for f in domain["findings"] if f["code"] == "dns-lookup-failed"]
    assert [f["subject"] for f in failed] == [f"_mta-sts.{name}"]
    checks = {c["id"]: c["status"] for c in domain["checks"]}
    assert checks["sts-txt"] == "fail"
    assert checks["policy-fetch"] == "pass" and checks["tlsrpt-txt"] == "pass" and checks["mx-records"] == "pass"
    assert domain["policy"]["mx"] == [f"mx.{name}"]


def test_generate_with_a_hostile_mx_answer_says_so_in_one_line(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    name = world.fresh("genhostile")
    world.domain(name)
    world.dns.hostile[name] = "opcode"
    code = main(["generate", name, "--timeout", "2", *world.cli_args()])
    out = capsys.readouterr()
    assert code == 3
    assert out.err.count("\n") == 1 and "Traceback" not in out.err
    assert f"MX records of {name} could not be read" in out.err


# --------------------------------------------------------------------------- fuzzing the answers


class _Replier:
    """A UDP server on loopback that answers each query with the next bytes given (its ID put first)."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.sock.settimeout(0.2)
        self.address = f"{address}:{self.sock.getsockname()[1]}"
        self.reply = b""
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(100_000):  # bounded: ends with the test (stop) long before this
            if self.stop.is_set():
                return
            try:
                data, peer = self.sock.recvfrom(2048)
            except OSError:
                continue
            self.sock.sendto(data[:2] + self.reply[2:], peer)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def _valid_answer() -> bytes:
    query = dns.message.make_query("_mta-sts.example.test", "TXT", use_edns=0, payload=1232)
    response = dns.message.make_response(query)
    response.answer.append(dns.rrset.from_text("_mta-sts.example.test.", 300, "IN", "TXT", '"v=STSv1; id=1"'))
    response.authority.append(
        dns.rrset.from_text("example.test.", 300, "IN", "SOA", "ns.example.test. h.example.test. 1 2 3 4 60")
    )
    return response.to_wire()


@st.composite
def _damaged(draw: st.DrawFn) -> bytes:
    """Random bytes, or a valid answer with bytes flipped, cut short or junk appended."""
    if draw(st.booleans()):
        return draw(st.binary(min_size=0, max_size=300))
    wire = _valid_answer()
    kind = draw(st.sampled_from(["flip", "cut", "append"]))
    if kind == "flip":
        at = draw(st.integers(2, len(wire) - 1))
        return wire[:at] + bytes([wire[at] ^ draw(st.integers(1, 255))]) + wire[at + 1 :]
    if kind == "cut":
        return wire[: draw(st.integers(2, len(wire) - 1))]
    return wire + draw(st.binary(min_size=1, max_size=20))


def test_any_answer_bytes_give_a_result_never_an_exception(world: World) -> None:
    """The DNS-reply fuzz target: whatever comes back, the lookup ends with a DnsResult."""
    replier = _Replier(world.free_address())

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_damaged())
    def check(reply: bytes) -> None:
        replier.reply = reply

        async def run() -> D.DnsResult:
            client = D.DnsClient((replier.address,), timeout=0.6)
            try:
                return await client.query("_mta-sts.example.test", "TXT")
            finally:
                await client.close()

        result = asyncio.run(run())
        assert result.status in ("ok", "nxdomain", "nodata", "servfail", "timeout", "error")
        assert result.describe()
        if result.status == "ok":
            assert all(isinstance(r, str) for r in result.records)

    try:
        check()
    finally:
        replier.close()
