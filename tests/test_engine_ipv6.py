"""The policy fetch over IPv6: a policy host on [::1]:443, alone or beside an IPv4 address.

RFC 8461 §3.3 senders fetch from whatever `mta-sts.<domain>` resolves to, AAAA included,
so the engine must fetch every IPv6 address too, with SNI and Host = the host name. ::1 is
one address shared by every test run on this machine: each test holds the [::1]:443 lock
(tests/world/ipv6.py) for its whole world, servers started and stopped inside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import run_cli
from tests.world import ipv6
from tests.world.https_server import Site
from tests.world.ipv6 import IPV6_LOOPBACK, ipv6_policy_port, ipv6_port_lock, port_free
from tests.world.world import World
from wizard.engine import DomainReport, check_domain
from wizard.policy import PolicyFile

V6 = IPV6_LOOPBACK


@pytest.fixture
def v6world(tmp_path: Path) -> Iterator[World]:
    """A world that may serve on [::1]:443: the lock is taken before it starts and released after
    its servers stopped, so no other run ever sees our listener (or we theirs)."""
    with ipv6_policy_port():
        w = World(tmp_path)
        try:
            yield w
        finally:
            w.close()


def enforce(name: str) -> PolicyFile:
    """A policy with no advice attached (enforce, two weeks, covering the default MX host)."""
    return PolicyFile(mode="enforce", max_age=1209600, mx=(f"mx.{name}",))


def check(world: World, name: str) -> DomainReport:
    return world.call(check_domain(name, world.options()))


def codes(report: DomainReport) -> set[str]:
    return {f.code for f in report.findings}


def test_policy_host_with_only_aaaa_is_fetched_over_ipv6(v6world: World) -> None:
    name = v6world.fresh("v6only")
    scenario = v6world.domain(name, policy=enforce(name), https=Site(address=V6))
    assert v6world.dns.records[(f"mta-sts.{name}", "AAAA")] and (f"mta-sts.{name}", "A") not in v6world.dns.records
    report = check(v6world, name)
    assert report.findings == [], [f.render() for f in report.findings]
    assert report.ok and report.policy == enforce(name)
    probe = report.policy_probe
    assert probe is not None and probe.addresses == (V6,)
    [fetch] = probe.fetches
    assert fetch.address == V6 and fetch.url == f"https://[{V6}]/.well-known/mta-sts.txt"
    assert fetch.status == 200 and fetch.body == scenario.policy_text
    [server] = scenario.https
    assert [(r.sni, r.host, r.path) for r in server.requests] == [
        (f"mta-sts.{name}", f"mta-sts.{name}", "/.well-known/mta-sts.txt")
    ]


def test_a_and_aaaa_serving_the_same_policy_are_both_fetched(v6world: World) -> None:
    name = v6world.fresh("dual")
    scenario = v6world.domain(name, policy=enforce(name), https=[Site(), Site(address=V6)])
    report = check(v6world, name)
    assert report.findings == [], [f.render() for f in report.findings]
    probe = report.policy_probe
    assert probe is not None
    v4 = scenario.policy_addresses[0]
    assert v4.startswith("127.") and probe.addresses == (v4, V6)  # IPv4 first
    assert {f.address: f.status for f in probe.fetches} == {v4: 200, V6: 200}
    for server in scenario.https:
        assert [(r.sni, r.host) for r in server.requests] == [(f"mta-sts.{name}", f"mta-sts.{name}")]


def _differ(world: World) -> tuple[str, str]:
    """A + AAAA where ::1 still serves an older copy (testing mode, one day)."""
    name = world.fresh("differ")
    older = PolicyFile(mode="testing", max_age=86400, mx=(f"mx.{name}",)).to_text().encode()
    scenario = world.domain(name, policy=enforce(name), https=[Site(), Site(address=V6, body=older)])
    return name, scenario.policy_addresses[0]


def test_a_and_aaaa_serving_different_policies_differ(v6world: World) -> None:
    name, v4 = _differ(v6world)
    report = check(v6world, name)
    assert codes(report) == {"policy-addresses-differ"}, [f.render() for f in report.findings]
    [differ] = report.findings
    assert differ.severity == "error" and not report.ok
    # The finding is about the set of addresses, so it names both in its message (CONTRACT:
    # `address` is for a finding that concerns one resolved address).
    assert v4 in differ.message and V6 in differ.message
    probe = report.policy_probe
    assert probe is not None
    assert {f.address for f in probe.fetches if f.served} == {v4, V6}


def _check_json_failing(world: World, name: str) -> dict[str, Any]:
    """`check NAME --json` run as a user would, which must exit 1; its one domain's document."""
    proc = run_cli("check", name, "--json", *world.cli_args())
    assert proc.returncode == 1, proc.stderr
    [domain] = json.loads(proc.stdout)["domains"]
    return domain


def test_check_json_for_differing_addresses(v6world: World) -> None:
    name, v4 = _differ(v6world)
    domain = _check_json_failing(v6world, name)
    assert domain["ok"] is False
    [differ] = [f for f in domain["findings"] if f["code"] == "policy-addresses-differ"]
    assert differ["severity"] == "error" and differ["step"] == 2
    assert differ["subject"] == f"https://mta-sts.{name}/.well-known/mta-sts.txt"
    assert v4 in differ["message"] and V6 in differ["message"]
    assert "address" not in differ  # several addresses, not one (CONTRACT)
    fetch = next(c for c in domain["checks"] if c["id"] == "policy-fetch")
    assert fetch["status"] == "fail"


def _nothing_on_v6(world: World) -> tuple[str, str]:
    """A + AAAA ::1 where nothing listens on [::1]:443 (we hold the lock, so nobody else will)."""
    name = world.fresh("v6down")
    scenario = world.domain(name, policy=enforce(name), https=[Site(), Site(address=V6, behaviour="down")])
    assert port_free(), "something listens on [::1]:443 although we hold the lock"
    return name, scenario.policy_addresses[0]


def test_aaaa_with_nothing_listening_is_connect_failed(v6world: World) -> None:
    name, v4 = _nothing_on_v6(v6world)
    report = check(v6world, name)
    assert codes(report) == {"policy-connect-failed"}, [f.render() for f in report.findings]
    [failed] = report.findings
    assert failed.address == V6 and failed.severity == "error"
    assert "refused" in failed.message and V6 in failed.message
    probe = report.policy_probe
    assert probe is not None
    assert {f.address: f.status for f in probe.fetches} == {v4: 200, V6: None}
    assert report.policy == enforce(name)  # the IPv4 copy is still read


def test_check_json_names_the_ipv6_address_that_failed(v6world: World) -> None:
    name, _v4 = _nothing_on_v6(v6world)
    domain = _check_json_failing(v6world, name)
    [failed] = [f for f in domain["findings"] if f["code"] == "policy-connect-failed"]
    assert failed["address"] == V6 and failed["severity"] == "error"


def test_wrong_certificate_on_ipv6_is_described_from_that_address(v6world: World) -> None:
    """The certificate is checked against the host name over IPv6 too, and the second handshake
    that describes the failing certificate goes to [::1], not to an IPv4 address."""
    name = v6world.fresh("v6cert")
    v6world.domain(name, policy=enforce(name), https=[Site(), Site(address=V6, cert="wrong-name")])
    report = check(v6world, name)
    assert codes(report) == {"policy-tls-name-mismatch"}, [f.render() for f in report.findings]
    [mismatch] = report.findings
    assert mismatch.address == V6
    assert "wrong-name.invalid" in mismatch.message  # read from the leaf served on ::1


# ----------------------------------------------------------------------------- the lock helper itself

_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o666)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _holder(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the lock file for `seconds` (a parallel test run)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize(("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_lock_held_too_long_skips_locally_and_fails_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    path = tmp_path / "v6.lock"
    holder = _holder(path, 30)
    try:
        with pytest.raises(outcome, match=r"held .* for more than 0\.3 s"), ipv6_port_lock(wait=0.3, path=path):
            pytest.fail("the lock was taken while another process held it")
    finally:
        holder.kill()
        holder.wait(10)


def test_lock_is_taken_once_the_other_run_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "v6.lock"
    holder = _holder(path, 0.5)
    try:
        with ipv6_port_lock(wait=20, path=path):
            assert holder.poll() is not None  # we got in only after the other run ended
            assert path.read_text().strip() == str(os.getpid())
    finally:
        holder.kill()
        holder.wait(10)
    with ipv6_port_lock(wait=0.3, path=path):  # released on leaving the block
        pass


@pytest.mark.parametrize(
    ("ci", "kernel", "outcome"),
    [
        ("", True, pytest.skip.Exception),
        ("true", True, pytest.fail.Exception),  # the CI image lost ::1 on lo: a configuration bug
        ("true", False, pytest.skip.Exception),  # no IPv6 in the kernel at all: nothing to test
    ],
)
def test_missing_ipv6_loopback_skips_with_reason(
    monkeypatch: pytest.MonkeyPatch, ci: str, kernel: bool, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(ipv6, "ipv6_loopback_problem", lambda: "cannot bind to the IPv6 loopback ::1 (test)")
    monkeypatch.setattr(ipv6, "kernel_has_ipv6", lambda: kernel)
    with pytest.raises(outcome, match="IPv6 loopback ::1"):
        ipv6.require_ipv6_loopback()


def test_ipv6_loopback_probe_reports_this_machine() -> None:
    """On a machine where the tests above ran, ::1 binds; the probe must agree with a real bind."""
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind((V6, 0))
        bindable = True
    except OSError:
        bindable = False
    assert (ipv6.ipv6_loopback_problem() is None) == bindable
