"""Every finding code the engine emits, each produced by a real scenario in the test world.

Each scenario builds a domain on loopback (DNS, HTTPS, SMTP servers), runs the engine
through its real network path, and asserts the exact set of codes it reports. The last
test checks that the table covers every code in CONTRACT.md.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.world.https_server import Site
from tests.world.smtp_server import MxSpec
from tests.world.world import DEFAULT_ID, World
from wizard.engine import check_domain
from wizard.findings import CODES
from wizard.policy import PolicyFile

Build = Callable[[World, str], dict[str, Any] | None]


@dataclass(frozen=True)
class Case:
    id: str
    build: Build
    codes: frozenset[str]
    timeout: float = 3.0
    message: str = ""
    """A fragment the message of one of the findings must contain (what the user reads)."""


def two_mx(name: str) -> list[str]:
    return [f"mx1.{name}", f"mx2.{name}"]


def enforce(name: str, max_age: int = 1209600) -> PolicyFile:
    return PolicyFile(mode="enforce", max_age=max_age, mx=tuple(two_mx(name)))


def _b(**kw: Any) -> Build:
    """A scenario that is just world.domain(name, **kw) with two MX hosts by default."""

    def build(world: World, name: str) -> None:
        args = dict(kw)
        args.setdefault("mx", two_mx(name))
        for key, value in list(args.items()):
            if callable(value) and key != "https":
                args[key] = value(name)
        world.domain(name, **args)

    return build


def _null_mx(world: World, name: str) -> None:
    world.domain(name, mx=[], policy=PolicyFile("testing", 604800, (f"mx.{name}",)))
    world.dns.add(name, "MX", "0 .")


def _no_mx(world: World, name: str) -> None:
    world.domain(name, mx=[], policy=PolicyFile("testing", 604800, (f"mx.{name}",)))


def _wrong_place(world: World, name: str) -> None:
    world.domain(name, mx=two_mx(name), sts_id=None)
    world.txt(name, ["v=STSv1; id=20260101T000000", "google-site-verification=abc"])


def _servfail_sts(world: World, name: str) -> None:
    world.domain(name, mx=two_mx(name))
    world.dns.servfail_names.add(f"_mta-sts.{name}")


def _silent_tlsrpt(world: World, name: str) -> None:
    world.domain(name, mx=two_mx(name))
    world.dns.silent_names.add(f"_smtp._tls.{name}")


def _saved_differs_same_id(world: World, name: str) -> dict[str, Any]:
    world.domain(name, mx=two_mx(name))
    return {"expected_policy": enforce(name), "expected_id": DEFAULT_ID}


def _saved_differs_new_id(world: World, name: str) -> dict[str, Any]:
    world.domain(name, mx=two_mx(name))
    return {"expected_policy": enforce(name), "expected_id": "20270101T000000"}


def _saved_same(world: World, name: str) -> dict[str, Any]:
    world.domain(name, mx=two_mx(name), policy=enforce(name))
    return {"expected_policy": enforce(name), "expected_id": DEFAULT_ID}


def _addresses_differ(world: World, name: str) -> None:
    other = PolicyFile("testing", 86400, tuple(two_mx(name))).to_text().encode()  # an older copy
    world.domain(name, mx=two_mx(name), https=[Site(), Site(body=other)])


def _sts_cname(world: World, name: str) -> None:
    """`_mta-sts` delegated by CNAME into another zone: the authoritative server stops, we follow."""
    world.domain(name, mx=two_mx(name), sts_id=None)
    provider = f"sts.provider-{name}"
    world.dns.add_zone(f"provider-{name}")
    world.dns.add(f"_mta-sts.{name}", "CNAME", f"_mta-sts.{provider}.")
    world.txt(f"_mta-sts.{provider}", ["v=STSv1; id=viacname1"])


def _sts_cname_dangling(world: World, name: str) -> None:
    world.domain(name, mx=two_mx(name), sts_id=None)
    world.dns.add_zone(f"provider-{name}")
    world.dns.add(f"_mta-sts.{name}", "CNAME", f"_mta-sts.gone.provider-{name}.")


def _policy_host_cname(world: World, name: str) -> None:
    """mta-sts.<domain> as a CNAME to a web host in another zone (RFC 8461 §8.2)."""
    scenario = world.domain(name, mx=two_mx(name))
    address = scenario.policy_addresses[0]
    web = f"web.host-{name}"
    world.dns.add_zone(f"host-{name}")
    world.dns.remove(scenario.policy_host, "A")
    world.dns.add(scenario.policy_host, "CNAME", f"{web}.")
    world.dns.add(web, "A", address)


def _truncated_txt(world: World, name: str) -> None:
    world.domain(name, mx=two_mx(name))
    world.dns.truncate_names.add(f"_mta-sts.{name}")


def _mx2(spec: MxSpec) -> Build:
    def build(world: World, name: str) -> None:
        world.domain(name, mx=two_mx(name), mx_spec={f"mx2.{name}": spec})

    return build


CASES = [
    Case("good-testing", _b(), frozenset({"policy-mode-testing"})),
    Case("good-enforce", _b(policy=enforce), frozenset()),
    Case("saved-same", _saved_same, frozenset()),
    Case("sts-missing", _b(sts_id=None), frozenset({"sts-txt-missing", "policy-mode-testing"})),
    Case(
        "sts-multiple",
        _b(sts_txt=["v=STSv1; id=1", "v=STSv1; id=2"]),
        frozenset({"sts-txt-multiple", "policy-mode-testing"}),
    ),
    Case("sts-invalid", _b(sts_txt=["v=STSv1; id=2026-01-01"]), frozenset({"sts-txt-invalid", "policy-mode-testing"})),
    Case(
        "sts-wrong-place",
        _wrong_place,
        frozenset({"sts-txt-missing", "sts-txt-wrong-place", "policy-mode-testing"}),
    ),
    Case("sts-cname", _sts_cname, frozenset({"policy-mode-testing"})),
    Case(
        "sts-cname-dangling",
        _sts_cname_dangling,
        frozenset({"sts-txt-missing", "policy-mode-testing"}),
        message="is a CNAME",
    ),
    Case("sts-truncated-udp", _truncated_txt, frozenset({"policy-mode-testing"})),
    Case("sts-servfail", _servfail_sts, frozenset({"dns-lookup-failed", "policy-mode-testing"}), message="SERVFAIL"),
    Case(
        "tlsrpt-silent",
        _silent_tlsrpt,
        frozenset({"dns-lookup-failed", "policy-mode-testing"}),
        timeout=1.0,
        message="timed out",
    ),
    Case(
        "saved-differs-same-id",
        _saved_differs_same_id,
        frozenset({"policy-differs-from-saved", "sts-id-unchanged", "policy-mode-testing"}),
    ),
    Case(
        "saved-differs-new-id",
        _saved_differs_new_id,
        frozenset({"policy-differs-from-saved", "policy-mode-testing"}),
    ),
    Case("policy-host-missing", _b(policy=None), frozenset({"policy-host-unresolvable"})),
    Case("policy-host-cname", _policy_host_cname, frozenset({"policy-mode-testing"})),
    Case("policy-down", _b(https=Site(behaviour="down")), frozenset({"policy-connect-failed"}), message="refused"),
    Case("policy-garbage", _b(https=Site(behaviour="garbage")), frozenset({"policy-connect-failed"}), message="TLS"),
    Case("policy-untrusted", _b(https=Site(cert="untrusted")), frozenset({"policy-tls-untrusted"})),
    Case(
        "policy-self-signed",
        _b(https=Site(cert="self-signed")),
        frozenset({"policy-tls-untrusted"}),
        message="self-signed",
    ),
    Case("policy-wrong-name", _b(https=Site(cert="wrong-name")), frozenset({"policy-tls-name-mismatch"})),
    Case("policy-cn-only", _b(https=Site(cert="cn-only")), frozenset({"policy-tls-name-mismatch"})),
    Case("policy-expired", _b(https=Site(cert="expired")), frozenset({"policy-tls-expired"})),
    Case("policy-not-yet-valid", _b(https=Site(cert="not-yet-valid")), frozenset({"policy-tls-expired"})),
    Case(
        "policy-expiring",
        _b(https=Site(cert="expiring")),
        frozenset({"policy-tls-expiring", "policy-mode-testing"}),
    ),
    Case("policy-404", _b(https=Site(status=404, reason="Not Found")), frozenset({"policy-http-status"})),
    Case(
        "policy-redirect",
        _b(https=Site(status=301, reason="Moved", location="https://www.example.test/mta-sts.txt")),
        frozenset({"policy-redirect"}),
        message="https://www.example.test/mta-sts.txt",
    ),
    Case(
        "policy-html",
        _b(https=Site(content_type="text/html")),
        frozenset({"policy-content-type", "policy-mode-testing"}),
    ),
    Case(
        "policy-charset",
        _b(https=Site(content_type="text/plain; charset=iso-8859-1")),
        frozenset({"policy-content-type", "policy-mode-testing"}),
    ),
    Case("policy-huge", _b(https=Site(behaviour="huge")), frozenset({"policy-too-large"})),
    Case("policy-drip", _b(https=Site(behaviour="drip")), frozenset({"policy-timeout"}), timeout=1.0),
    Case(
        "policy-syntax",
        _b(policy=lambda n: f"version: STSv1\nmode: enforce\nmax_age: 1209600\nmx: mx1.{n}, mx2.{n}\n"),
        frozenset({"policy-syntax"}),
    ),
    Case(
        "policy-max-age-range",
        _b(policy=lambda n: f"version: STSv1\nmode: enforce\nmx: mx1.{n}\nmx: mx2.{n}\nmax_age: 99999999\n"),
        frozenset({"policy-max-age-range"}),
    ),
    Case(
        "policy-max-age-short",
        _b(policy=lambda n: enforce(n, max_age=86400)),
        frozenset({"policy-max-age-short"}),
    ),
    Case(
        "policy-addresses-differ",
        _addresses_differ,
        frozenset({"policy-addresses-differ", "policy-mode-testing"}),
    ),
    Case(
        "policy-mode-none",
        _b(policy=PolicyFile("none", 86400, ())),
        frozenset({"policy-mode-none"}),
    ),
    Case("mx-none", _no_mx, frozenset({"mx-missing", "policy-mode-testing"})),
    Case("mx-null", _null_mx, frozenset({"mx-missing", "policy-mode-testing"}), message="null MX"),
    Case(
        "mx-not-covered",
        _b(policy=lambda n: PolicyFile("enforce", 1209600, (f"mx1.{n}",))),
        frozenset({"mx-not-covered"}),
    ),
    Case(
        "mx-pattern-unused",
        _b(policy=lambda n: PolicyFile("enforce", 1209600, (*two_mx(n), f"old.{n}"))),
        frozenset({"mx-pattern-unused"}),
    ),
    Case(
        "mx-unresolvable", _mx2(MxSpec(behaviour="no-address")), frozenset({"mx-unresolvable", "policy-mode-testing"})
    ),
    Case(
        "mx-down",
        _mx2(MxSpec(behaviour="down")),
        frozenset({"mx-unreachable", "policy-mode-testing"}),
        message="port 25",
    ),
    Case(
        "mx-drip-banner",
        _mx2(MxSpec(behaviour="drip")),
        frozenset({"mx-unreachable", "policy-mode-testing"}),
        timeout=1.0,
    ),
    Case("mx-bad-banner", _mx2(MxSpec(behaviour="bad-banner")), frozenset({"mx-unreachable", "policy-mode-testing"})),
    Case("mx-no-starttls", _mx2(MxSpec(starttls=False)), frozenset({"mx-no-starttls", "policy-mode-testing"})),
    Case(
        "mx-refuses-starttls",
        _mx2(MxSpec(behaviour="refuse-starttls")),
        frozenset({"mx-no-starttls", "policy-mode-testing"}),
        message="454",
    ),
    Case(
        "mx-garbage-tls",
        _mx2(MxSpec(behaviour="garbage-tls")),
        frozenset({"mx-no-starttls", "policy-mode-testing"}),
    ),
    Case("mx-untrusted", _mx2(MxSpec(cert="untrusted")), frozenset({"mx-tls-untrusted", "policy-mode-testing"})),
    Case(
        "mx-self-signed",
        _mx2(MxSpec(cert="self-signed")),
        frozenset({"mx-tls-untrusted", "policy-mode-testing"}),
        message="self-signed",
    ),
    Case(
        "mx-wrong-name",
        _mx2(MxSpec(cert="wrong-name")),
        frozenset({"mx-tls-name-mismatch", "policy-mode-testing"}),
        message="wrong-name.invalid",
    ),
    Case("mx-expired", _mx2(MxSpec(cert="expired")), frozenset({"mx-tls-expired", "policy-mode-testing"})),
    Case("mx-expiring", _mx2(MxSpec(cert="expiring")), frozenset({"mx-tls-expiring", "policy-mode-testing"})),
    Case(
        "mx-tls-1.1",
        _mx2(MxSpec(max_tls=ssl.TLSVersion.TLSv1_1)),
        frozenset({"mx-tls-protocol", "policy-mode-testing"}),
        message="TLSv1.1",
    ),
    Case("tlsrpt-missing", _b(tlsrpt=None), frozenset({"tlsrpt-missing", "policy-mode-testing"})),
    Case(
        "tlsrpt-multiple",
        _b(tlsrpt=["v=TLSRPTv1; rua=mailto:a@example.test", "v=TLSRPTv1; rua=mailto:b@example.test"]),
        frozenset({"tlsrpt-multiple", "policy-mode-testing"}),
    ),
    Case(
        "tlsrpt-invalid",
        _b(tlsrpt="v=TLSRPTv1; ruf=mailto:a@example.test"),
        frozenset({"tlsrpt-invalid", "policy-mode-testing"}),
    ),
    Case(
        "tlsrpt-rua-repeated",
        _b(tlsrpt="v=TLSRPTv1; rua=mailto:a@example.test; rua=mailto:b@example.test"),
        frozenset({"tlsrpt-rua-repeated", "policy-mode-testing"}),
    ),
    Case(
        "policy-mx-wildcard",
        _b(policy=lambda n: PolicyFile("enforce", 1209600, (f"*.{n}",))),
        frozenset({"policy-mx-wildcard"}),
    ),
    Case(
        "tlsrpt-rua-invalid",
        _b(tlsrpt="v=TLSRPTv1; rua=http://reports.example.test/"),
        frozenset({"tlsrpt-rua-invalid", "policy-mode-testing"}),
    ),
    Case("dane", _b(tlsa=lambda n: [f"mx1.{n}"]), frozenset({"dane-tlsa-present", "policy-mode-testing"})),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_scenario_reports_exactly_its_codes(world: World, case: Case) -> None:
    name = world.fresh(case.id.replace(".", "-"))
    overrides = case.build(world, name) or {}
    options = world.options(timeout=case.timeout, **overrides)
    started = time.monotonic()
    report = await check_domain(name, options)
    elapsed = time.monotonic() - started
    codes = {f.code for f in report.findings}
    assert codes == set(case.codes), [f.render() for f in report.findings]
    assert report.ok == (not any(CODES[c].severity == "error" for c in case.codes))
    if case.message:
        assert any(case.message in f.message for f in report.findings), [f.message for f in report.findings]
    # Every finding tells the user what to do, and names what it is about.
    for f in report.findings:
        assert f.fix and f.subject, f
    # Bounded: a check ends within a few of its own deadlines even against hostile servers.
    assert elapsed < 4 * case.timeout + 5
    assert not report.resolver_unreachable


def test_every_contract_code_has_a_scenario() -> None:
    covered = set().union(*(c.codes for c in CASES))
    assert covered == set(CODES), sorted(set(CODES) - covered)


async def test_policy_fetch_sends_sni_and_host_and_reports_every_address(world: World) -> None:
    name = world.fresh("sni")
    scenario = world.domain(name, https=[Site(), Site()])
    report = await check_domain(name, world.options())
    assert report.ok
    probe = report.policy_probe
    assert probe is not None
    assert sorted(probe.addresses) == sorted(scenario.policy_addresses)
    assert all(f.status == 200 and f.body == scenario.policy_text for f in probe.fetches)
    for server in scenario.https:
        assert [(r.sni, r.host, r.path) for r in server.requests] == [
            (scenario.policy_host, scenario.policy_host, "/.well-known/mta-sts.txt")
        ]


async def test_mx_probe_uses_sni_ehlo_starttls_and_quit(world: World) -> None:
    name = world.fresh("smtp")
    scenario = world.domain(name, mx=two_mx(name))
    report = await check_domain(name, world.options())
    assert {(p.host, p.address, p.tls_version, p.verified) for p in report.smtp} == {
        (h, scenario.mx_addresses[h], "TLSv1.3", True) for h in two_mx(name)
    }
    for host in two_mx(name):
        session = scenario.smtp[host].sessions[0]
        assert session[0].startswith("EHLO [127.")
        assert session[1:] == ["STARTTLS", "QUIT"]


async def test_address_findings_name_the_failing_address(world: World) -> None:
    name = world.fresh("mixed")
    scenario = world.domain(name, https=[Site(), Site(cert="expired")])
    report = await check_domain(name, world.options())
    expired = [f for f in report.findings if f.code == "policy-tls-expired"]
    assert [f.address for f in expired] == [scenario.policy_addresses[1]]
    assert "2" in expired[0].message  # the dates are described
