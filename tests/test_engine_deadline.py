"""One domain's check ends by its deadline (--deadline), and a zone cannot make it do unbounded work.

Hostile peers from the test world: MX hosts whose TLS handshake stalls, a resolver that never
answers one name, a zone naming 1,500 name servers. What is cut off or skipped is a finding
that says so; what finished keeps its results.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.world.smtp_server import MxSpec
from tests.world.world import World
from wizard import dnsclient as D
from wizard.cli import main
from wizard.engine import MAX_MX_HOSTS


def _check(world: World, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    code = main(["check", *args, "--json", *world.cli_args()])
    elapsed = time.monotonic() - started
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    (domain,) = json.loads(out.out)["domains"]
    return code, domain, elapsed


def test_forty_mx_hosts_with_stalling_handshakes_end_within_the_deadline(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    name = world.fresh("stall")
    hosts = [f"mx{i:02d}.{name}" for i in range(40)]
    world.domain(name, mx=hosts, mx_spec=MxSpec(behaviour="stall-tls"))
    code, domain, elapsed = _check(world, capsys, name, "--timeout", "2", "--deadline", "5")
    assert elapsed < 15  # generous: 40 hosts one after another at 2 s each would be 80 s
    assert code == 0  # warnings only: the hosts could not be verified from here
    unreachable = [f for f in domain["findings"] if f["code"] == "mx-unreachable"]
    skipped = [f for f in unreachable if f["subject"] == name]
    assert len(skipped) == 1 and f"{40 - MAX_MX_HOSTS} were skipped" in skipped[0]["message"]
    assert hosts[MAX_MX_HOSTS] in skipped[0]["message"]
    probed = {f["subject"] for f in unreachable if f["subject"] != name}
    assert probed == set(hosts[:MAX_MX_HOSTS])  # each probed host says why it gave no verdict
    # Everything else was done in time and kept.
    checks = {c["id"]: c["status"] for c in domain["checks"]}
    assert checks["sts-txt"] == "pass" and checks["tlsrpt-txt"] == "pass" and checks["policy-fetch"] == "pass"
    assert len(domain["policy"]["mx"]) == 40


def test_a_lookup_cut_off_by_the_deadline_is_a_finding_and_the_rest_is_kept(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    name = world.fresh("late")
    world.domain(name)
    world.dns.silent_names.add(f"_smtp._tls.{name}")
    code, domain, elapsed = _check(world, capsys, name, "--timeout", "30", "--deadline", "2")
    assert elapsed < 15
    assert code == 1
    (late,) = [f for f in domain["findings"] if f["code"] == "dns-lookup-failed"]
    assert late["subject"] == f"_smtp._tls.{name}" and "2 s check deadline (--deadline)" in late["message"]
    checks = {c["id"]: c["status"] for c in domain["checks"]}
    assert checks["tlsrpt-txt"] == "fail"
    assert checks["sts-txt"] == "pass" and checks["policy-fetch"] == "pass" and checks["mx-starttls"] == "pass"


def test_deadline_must_be_a_positive_number(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "example.test", "--deadline", "0", *world.cli_args()])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--deadline" in err


def _many_name_servers(world: World, name: str, count: int, *, glue: bool) -> None:
    """The zone of `name` names `count` NS hosts; with glue, every one of them is the world's server."""
    world.domain(name)
    world.dns.set(name, "NS", [f"n{i}.{name}." for i in range(count)], ttl=3600)
    if glue:
        for i in range(count):
            world.dns.add(f"n{i}.{name}", "A", world.dns.address)


def test_a_zone_naming_1500_name_servers_is_asked_a_bounded_number_of_times(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    name = world.fresh("manyns")
    _many_name_servers(world, name, 1500, glue=True)
    code, domain, _elapsed = _check(world, capsys, name)
    assert code == 1
    asked = [q for q in world.dns.queries if q[0] == f"_mta-sts.{name}"]
    assert len(asked) <= 1 + D.MAX_NS_ADDRESSES  # the resolver's answer, then one per server asked
    assert len(world.dns.queries) < 100  # the whole check
    (skipped,) = [f for f in domain["findings"] if f["code"] == "dns-lookup-failed"]
    assert "names 1500 name servers" in skipped["message"] and f"{1500 - D.MAX_NS_HOSTS} of them" in skipped["message"]
    checks = {c["id"]: c["status"] for c in domain["checks"]}
    assert checks["policy-fetch"] == "pass" and checks["mx-starttls"] == "pass"


def test_name_servers_beyond_the_cap_are_not_even_resolved(world: World) -> None:
    name = world.fresh("noglue")
    _many_name_servers(world, name, 1500, glue=False)

    async def run() -> D.ZoneServers:
        client = D.DnsClient((world.dns.address,), timeout=3.0)
        try:
            return await client.find_zone(f"_mta-sts.{name}")
        finally:
            await client.close()

    zone = asyncio.run(run())
    assert zone.zone == name and zone.servers == () and "names 1500 name servers" in zone.skipped
    lookups = [q for q in world.dns.queries if q[0].startswith("n") and q[0].endswith(f".{name}")]
    assert len(lookups) == 2 * D.MAX_NS_HOSTS  # A and AAAA of the first 16 only


def test_one_name_server_with_1500_addresses_is_asked_at_most_the_cap(world: World) -> None:
    name = world.fresh("manyaddr")
    world.domain(name)
    world.dns.set(name, "NS", [f"ns.{name}."], ttl=3600)
    # Loopback addresses nothing listens on: each query is refused at once (ICMP).
    world.dns.set(f"ns.{name}", "A", [f"127.201.{i // 250}.{i % 250 + 1}" for i in range(1500)])

    async def run() -> tuple[D.AuthoritativeView, int]:
        client = D.DnsClient((world.dns.address,), timeout=2.0)
        try:
            view = await client.authoritative(f"_mta-sts.{name}", "TXT")
            return view, client.sent
        finally:
            await client.close()

    view, sent = asyncio.run(run())
    assert len(view.answers) == D.MAX_NS_ADDRESSES
    assert all("refused" in a.result.describe() for a in view.answers)
    assert sent < 10 + D.MAX_NS_ADDRESSES  # the zone lookups, then one query per address asked
