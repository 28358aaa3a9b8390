"""The per-step probes the wizard polls, the authoritative view, DNS edge cases and bounds."""

from __future__ import annotations

import asyncio
import time

from tests.world.world import World
from wizard.dnsclient import DnsClient
from wizard.engine import (
    CheckOptions,
    check_domain,
    check_domains,
    probe_mx,
    probe_policy,
    probe_sts_txt,
    probe_tlsrpt,
)


async def test_sts_probe_sees_a_record_added_between_two_polls(world: World) -> None:
    name = world.fresh("poll")
    world.domain(name, sts_id=None)
    first = await probe_sts_txt(name, world.options())
    assert [f.code for f in first.findings] == ["sts-txt-missing"]
    assert first.record is None and not first.published
    world.txt(f"_mta-sts.{name}", ["v=STSv1; id=20261128T120000"])
    second = await probe_sts_txt(name, world.options())
    assert second.findings == []
    assert second.record is not None and second.record.id == "20261128T120000"
    assert second.published
    assert "v=STSv1; id=20261128T120000" in second.summary


async def test_authoritative_view_explains_the_wait_for_a_new_record(world: World) -> None:
    name = world.fresh("propagate")
    world.domain(name, sts_id=None)
    stale = world.stale_resolver()  # a resolver still holding "no such record"
    world.txt(f"_mta-sts.{name}", ["v=STSv1; id=new1"])
    probe = await probe_sts_txt(name, world.options(nameservers=(stale.address,)))
    # Senders still see nothing: the finding says so ...
    assert [f.code for f in probe.findings] == ["sts-txt-missing"]
    # ... while the authoritative servers already publish it, and the SOA negative TTL bounds the wait.
    assert probe.authoritative is not None and probe.authoritative.zone == name
    assert probe.authoritative.records() == ("v=STSv1; id=new1",)
    assert probe.published
    assert probe.propagation_seconds == world.dns.negative_ttl
    assert (
        f"already publishes the new answer; resolvers may serve the old answer for up to {world.dns.negative_ttl}"
        in (probe.summary)
    )


async def test_authoritative_view_for_a_changed_id_uses_the_record_ttl(world: World) -> None:
    name = world.fresh("ttl")
    world.domain(name, sts_id="old1", ttl=900)
    stale = world.stale_resolver()
    world.txt(f"_mta-sts.{name}", ["v=STSv1; id=new2"], ttl=900)
    probe = await probe_tlsrpt(name, world.options(nameservers=(stale.address,)))
    assert probe.propagation_seconds is None  # TLSRPT did not change
    sts = await probe_sts_txt(name, world.options(nameservers=(stale.address,)))
    assert sts.record is not None and sts.record.id == "old1"
    assert sts.propagation_seconds == 900
    assert "900 more seconds" in sts.summary


async def test_authoritative_view_can_be_switched_off(world: World) -> None:
    name = world.fresh("noauth")
    world.domain(name)
    probe = await probe_sts_txt(name, world.options(authoritative=False))
    assert probe.authoritative is None and probe.published


async def test_mx_probe_lists_hosts_in_preference_order_with_addresses(world: World) -> None:
    name = world.fresh("mxlist")
    scenario = world.domain(name, mx=[f"b.{name}", f"a.{name}"])
    probe = await probe_mx(name, world.options())
    assert probe.hosts == (f"b.{name}", f"a.{name}")
    assert probe.records == [(10, f"b.{name}"), (20, f"a.{name}")]
    assert probe.addresses == {h: (scenario.mx_addresses[h],) for h in probe.hosts}
    assert probe.findings == [] and f"10 b.{name}" in probe.summary


async def test_policy_probe_reports_each_address_and_the_parsed_policy(world: World) -> None:
    name = world.fresh("pol")
    scenario = world.domain(name)
    probe = await probe_policy(name, world.options())
    assert probe.policy is not None and probe.policy.mx == (f"mx.{name}",)
    assert probe.body == scenario.policy_text
    assert [f.address for f in probe.fetches] == scenario.policy_addresses
    assert probe.fetches[0].cert is not None and probe.fetches[0].cert.sans == (scenario.policy_host,)
    assert [f.code for f in probe.content_findings] == ["policy-mode-testing"]
    assert "HTTP 200" in probe.summary


async def test_truncated_udp_answer_is_retried_over_tcp(world: World) -> None:
    name = world.fresh("tc")
    world.domain(name)
    world.dns.truncate_names.add(f"_mta-sts.{name}")
    probe = await probe_sts_txt(name, world.options(authoritative=False))
    assert probe.record is not None
    transports = {t for n, q, t in world.dns.queries if n == f"_mta-sts.{name}" and q == "TXT"}
    assert transports == {"udp", "tcp"}


async def test_dns_outcomes_are_told_apart(world: World) -> None:
    name = world.fresh("outcomes")
    world.domain(name)
    world.dns.servfail_names.add(f"broken.{name}")
    world.dns.silent_names.add(f"silent.{name}")
    client = DnsClient((world.dns.address,), timeout=1.0)
    nx, nodata, fail, slow, ok = await asyncio.gather(
        client.query(f"nothing.{name}", "TXT"),
        client.query(f"mx.{name}", "TXT"),
        client.query(f"broken.{name}", "TXT"),
        client.query(f"silent.{name}", "TXT"),
        client.query(f"mx.{name}", "A"),
    )
    assert (nx.status, nodata.status, fail.status, slow.status, ok.status) == (
        "nxdomain",
        "nodata",
        "servfail",
        "timeout",
        "ok",
    )
    assert nx.negative_ttl == world.dns.negative_ttl
    assert "SERVFAIL" in fail.describe() and "timed out" in slow.describe()


async def test_dns_that_never_answers_ends_within_the_deadline(world: World) -> None:
    silent = world.silent_dns()
    name = world.fresh("silent")
    world.domain(name)
    started = time.monotonic()
    report = await check_domain(name, world.options(nameservers=(silent.address,), timeout=1.0))
    assert time.monotonic() - started < 5
    assert report.resolver_unreachable
    assert {f.code for f in report.findings} == {"dns-lookup-failed"}
    assert not report.ok


async def test_bad_input_never_raises(world: World) -> None:
    report = await check_domain("not a domain!!", world.options(timeout=1.0))
    assert not report.ok
    assert report.findings


async def test_check_domains_runs_concurrently_and_keeps_order(world: World) -> None:
    names = [world.fresh("bulk") for _ in range(5)]
    for n in names:
        world.domain(n)
    reports = await check_domains(names, world.options())
    assert [r.domain for r in reports] == names
    assert all(r.ok for r in reports)
    assert all({f.code for f in r.findings} == {"policy-mode-testing"} for r in reports)


async def test_report_json_has_the_contract_shape(world: World) -> None:
    name = world.fresh("json")
    world.domain(name, tlsrpt=None)
    data = (await check_domain(name, world.options())).to_json()
    assert set(data) == {"domain", "checked_at", "ok", "policy", "findings", "checks"}
    assert data["policy"] == {"mode": "testing", "max_age": 604800, "mx": [f"mx.{name}"], "id": "20260101T000000"}
    assert data["checked_at"].endswith("Z")
    finding = next(f for f in data["findings"] if f["code"] == "tlsrpt-missing")
    assert finding["severity"] == "warning" and finding["step"] == 4 and finding["fix"]
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["tlsrpt-txt"]["status"] == "warn" and checks["policy-fetch"]["status"] == "pass"
    assert all(isinstance(c["elapsed_ms"], int) for c in data["checks"])


def test_options_from_network_settings() -> None:
    from wizard.commands.common import NetworkSettings

    opts = CheckOptions.from_settings(NetworkSettings(("127.0.0.1:5353",), "/tmp/ca.pem", 4.0), probe_smtp=False)
    assert opts.nameservers == ("127.0.0.1:5353",) and opts.ca_bundle == "/tmp/ca.pem"
    assert opts.timeout == 4.0 and not opts.probe_smtp


async def test_a_host_that_takes_the_request_but_never_answers_is_a_timeout_not_a_failed_connection(
    world: World,
) -> None:
    from tests.world.https_server import Site

    name = world.fresh("silent")
    world.domain(name, https=Site(behaviour="silent"))
    started = time.monotonic()
    probe = await probe_policy(name, world.options(timeout=1.0))
    assert time.monotonic() - started < 10  # bounded by the deadline, not the server's ten minutes
    assert {f.code for f in probe.findings} == {"policy-timeout"}
    assert "accepted the request but sent no answer" in probe.findings[0].message


async def test_a_refused_lookup_says_the_server_does_not_answer_for_the_zone(world: World) -> None:
    # The world's server is authoritative only for its zones: anything else is REFUSED, like a
    # resolver that does not recurse for this client.
    probe = await probe_sts_txt("not-served.example", world.options())
    failed = [f for f in probe.findings if f.code == "dns-lookup-failed"]
    assert failed and "REFUSED" in failed[0].message
    assert "refused the query" in failed[0].fix and "--nameserver" in failed[0].fix


async def test_a_check_leaves_a_freeze_made_by_the_process_in_place(world: World) -> None:
    # The wizard's UI freezes its startup objects after the first paint; a check run inside the
    # same process must not unfreeze them when it ends.
    import gc

    name = world.fresh("gc")
    world.domain(name)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        await check_domains([name], world.options(probe_smtp=False))
        # (a few frozen objects may be freed by refcounting meanwhile; unfreezing would leave 0)
        assert gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()


async def test_a_check_in_a_process_without_a_freeze_leaves_none_behind(world: World) -> None:
    import gc

    name = world.fresh("gc")
    world.domain(name)
    gc.unfreeze()
    await check_domains([name], world.options(probe_smtp=False))
    assert gc.get_freeze_count() == 0
