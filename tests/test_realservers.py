"""The second lane of issue 3: `check` against Debian's knot, nginx and postfix on loopback.

The in-process world (tests/world/) imitates servers with Python; this lane runs the daemons
domain owners really deploy, so a difference in what they send (nginx's headers, postfix's
EHLO and TLS stack, knot's authoritative answers: REFUSED, no CNAME chasing across zones)
cannot hide. Each scenario has exactly one fault and `check` must report exactly its codes.

Without the binaries these tests skip with the reason; under CI=true they fail instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.realservers import scenarios as sc
from tests.realservers import servers
from wizard.engine import CheckOptions, check_domains

pytestmark = pytest.mark.realservers

ROOT = Path(__file__).resolve().parent.parent
LANE_TIMEOUT = 5.0  # --timeout for the scenarios without one of their own
SCENARIO_IDS = [s.name for s in sc.SCENARIOS]


def _require_binaries() -> None:
    missing = servers.missing_binaries()
    if not missing:
        return
    reason = (
        f"real-server lane needs {', '.join(missing)} on this machine "
        "(apt-get install knot knot-dnsutils nginx-light postfix; .ci/run does it)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires this lane to run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """Knot, nginx and postfix serving every scenario; stopped at teardown even when tests fail."""
    _require_binaries()
    root = tmp_path_factory.mktemp("realservers")
    try:
        started = servers.start(root)  # stops whatever it started before raising
    except servers.ServersError as exc:
        pytest.fail(f"the real servers did not start: {exc}", pytrace=False)
    try:
        yield started
    finally:
        servers.stop(root)


def _timeout_groups() -> dict[float, list[sc.Scenario]]:
    """Scenarios by the --timeout they run with: slow ones get a short deadline of their own."""
    groups: dict[float, list[sc.Scenario]] = {}
    for s in sc.SCENARIOS:
        groups.setdefault(s.timeout or LANE_TIMEOUT, []).append(s)
    return groups


def _cli() -> list[str]:
    script = shutil.which("mta-sts-wizard")
    return [script] if script else [sys.executable, "-m", "wizard"]


# ----------------------------------------------------------------------------- the servers themselves


def _query(world: servers.World, name: str, rdtype: str) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype), world.nameserver, timeout=2.0)


def _txt_values(answer: dns.message.Message) -> list[str]:
    return sorted(
        b"".join(rd.strings).decode() for rrset in answer.answer if rrset.rdtype == dns.rdatatype.TXT for rd in rrset
    )


def _follow(world: servers.World, name: str, rdtype: str) -> dns.message.Message:
    """Knot is authoritative only: it answers a CNAME into another zone and stops there."""
    for _ in range(3):
        answer = _query(world, name, rdtype)
        cnames = [rr for rr in answer.answer if rr.rdtype == dns.rdatatype.CNAME and rr.name.to_text() == name + "."]
        if not cnames or any(rr.rdtype == dns.rdatatype.from_text(rdtype) for rr in answer.answer):
            return answer
        name = cnames[0][0].target.to_text().rstrip(".")
    return answer


@pytest.mark.parametrize("scenario", sc.SCENARIOS, ids=SCENARIO_IDS)
def test_knot_serves_the_scenario_records(world: servers.World, scenario: sc.Scenario) -> None:
    sts = _query(world, f"_mta-sts.{scenario.domain}", "TXT")
    if not scenario.served:
        assert sts.rcode() == dns.rcode.REFUSED
        return
    if scenario.broken_zones:
        assert sts.rcode() == dns.rcode.SERVFAIL
        return
    assert sts.rcode() == (dns.rcode.NOERROR if scenario.sts or scenario.sts_cname else dns.rcode.NXDOMAIN)
    if scenario.sts_cname:
        assert [r.rdtype for r in sts.answer] == [dns.rdatatype.CNAME]
        behind = _follow(world, f"_mta-sts.{scenario.domain}", "TXT")
        expected = [sc.GOOD_STS] if scenario.sts_cname == sc.CNAME_PROVIDER else []
        assert _txt_values(behind) == expected
    elif not sts.flags & dns.flags.TC:
        assert _txt_values(sts) == sorted(scenario.sts)
    tlsrpt = _query(world, f"_smtp._tls.{scenario.domain}", "TXT")
    assert _txt_values(tlsrpt) == sorted(v.format(domain=scenario.domain) for v in scenario.tlsrpt)
    hosts = _follow(world, f"mta-sts.{scenario.domain}", "A")
    served = sorted(rd.address for rrset in hosts.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset)
    assert served == sorted(world.addresses[f"site:{scenario.name}:{i}"] for i in range(len(scenario.sites)))


def test_knot_truncates_a_large_txt_rrset_over_udp(world: servers.World) -> None:
    name = "_mta-sts.sts-truncated-udp.test"
    query = dns.message.make_query(name, "TXT", use_edns=0, payload=1232)
    over_udp = dns.query.udp(query, world.nameserver, timeout=2.0)
    assert over_udp.flags & dns.flags.TC and not over_udp.answer
    over_tcp = dns.query.tcp(query, world.nameserver, timeout=2.0)
    assert _txt_values(over_tcp) == sorted(sc.BY_NAME["sts-truncated-udp"].sts)


def _verifying_context(ca: Path) -> ssl.SSLContext:
    """RFC 6125 matching as senders do it: SAN DNS names only, never the subject CN."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.hostname_checks_common_name = False
    return ctx


def _handshake(address: str, port: int, host: str, ca: Path) -> str:
    """'ok' or OpenSSL's reason the verified handshake failed."""
    ctx = _verifying_context(ca)
    try:
        with (
            socket.create_connection((address, port), timeout=3) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return "ok" if tls.version() else "no version"
    except ssl.SSLCertVerificationError as exc:
        return str(exc.verify_message)


VERIFY_REASON = {
    sc.CERT_GOOD: "ok",
    sc.CERT_EXPIRING: "ok",
    sc.CERT_EXPIRED: "certificate has expired",
    sc.CERT_NOT_YET_VALID: "certificate is not yet valid",
    sc.CERT_SELF_SIGNED: "self-signed certificate",
    sc.CERT_UNTRUSTED: "unable to get local issuer certificate",
    sc.CERT_WRONG_NAME: "Hostname mismatch",
    sc.CERT_CN_ONLY: "Hostname mismatch",
}


@pytest.mark.parametrize(
    "name,index",
    [(s.name, i) for s in sc.SCENARIOS for i, site in enumerate(s.sites) if site.listening and not site.slow],
)
def test_nginx_presents_the_scenario_certificate(world: servers.World, name: str, index: int) -> None:
    scenario = sc.BY_NAME[name]
    site = scenario.sites[index]
    got = _handshake(world.addresses[f"site:{name}:{index}"], 443, f"mta-sts.{scenario.domain}", world.ca_bundle)
    assert got.startswith(VERIFY_REASON[site.cert])


SMTP_KINDS = sorted(
    {(m.smtp, s.mx_host(m)) for s in sc.SCENARIOS for m in s.mx if m.smtp not in (sc.SMTP_CLOSED, sc.SMTP_NO_ADDRESS)}
)


@pytest.mark.parametrize("kind", sorted({k for k, _ in SMTP_KINDS}))
def test_postfix_offers_starttls_as_the_scenario_says(world: servers.World, kind: str) -> None:
    host = next(h for k, h in SMTP_KINDS if k == kind)
    with smtplib.SMTP(world.addresses[f"smtp:{kind}"], 25, local_hostname="probe.test", timeout=5) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls") == (kind != sc.SMTP_PLAIN)
        if kind in (sc.SMTP_PLAIN, sc.SMTP_OLD_TLS):
            return
        ctx = _verifying_context(world.ca_bundle)
        smtp._host = host  # smtplib sends this name in SNI and checks the certificate against it
        try:
            smtp.starttls(context=ctx)
            got = "ok"
        except ssl.SSLCertVerificationError as exc:
            got = str(exc.verify_message)
    expected = "ok" if kind == sc.SMTP_GOOD_2 else VERIFY_REASON[kind]
    assert got.startswith(expected)


# ----------------------------------------------------------------------------- both lanes agree


def test_shared_scenarios_expect_the_same_codes_in_both_lanes() -> None:
    """Where the in-process world has a case of the same id, both lanes expect the same codes."""
    from tests.test_engine_scenarios import CASES

    in_process = {c.id: set(c.codes) for c in CASES}
    shared = [s for s in sc.SCENARIOS if s.name in in_process]
    assert len(shared) >= 40, sorted(in_process)
    differ = {
        s.name: (sorted(s.expected), sorted(in_process[s.name])) for s in shared if s.expected != in_process[s.name]
    }
    assert differ == {}


# ----------------------------------------------------------------------------- check, through the engine API


@pytest.fixture(scope="module")
def engine_reports(world: servers.World) -> dict[str, dict]:
    """Every scenario checked in one concurrent engine run per deadline group."""
    reports: dict[str, dict] = {}
    for timeout, group in _timeout_groups().items():
        options = CheckOptions(nameservers=(world.nameserver,), ca_bundle=str(world.ca_bundle), timeout=timeout)
        for scenario, report in zip(group, asyncio.run(check_domains([s.domain for s in group], options)), strict=True):
            reports[scenario.name] = report.to_json()
    return reports


def _codes(report: dict) -> set[str]:
    return {f["code"] for f in report["findings"]}


def _scenario_addresses(world: servers.World, scenario: sc.Scenario) -> set[str]:
    keys = [f"site:{scenario.name}:{i}" for i in range(len(scenario.sites))]
    keys += [f"smtp:{m.smtp}" for m in scenario.mx]
    return {world.addresses[k] for k in keys if k in world.addresses}


@pytest.mark.parametrize("scenario", sc.SCENARIOS, ids=SCENARIO_IDS)
def test_engine_reports_exactly_the_scenario_codes(
    world: servers.World, engine_reports: dict[str, dict], scenario: sc.Scenario
) -> None:
    report = engine_reports[scenario.name]
    assert report["domain"] == scenario.domain
    assert _codes(report) == set(scenario.expected), json.dumps(report["findings"], indent=1)
    assert report["ok"] == all(f["severity"] != "error" for f in report["findings"])
    # Findings about one address name an address of this scenario's own servers.
    for f in report["findings"]:
        if f.get("address"):
            assert f["address"] in _scenario_addresses(world, scenario), f


# ----------------------------------------------------------------------------- check, through the console script


def _run_check(world: servers.World, domains: list[str], timeout: float, *extra: str) -> subprocess.CompletedProcess:
    argv = [*_cli(), "check", *domains, "--nameserver", world.nameserver, "--ca-bundle", str(world.ca_bundle)]
    argv += ["--timeout", f"{timeout:g}", *extra]
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    env["MTA_STS_WIZARD_HOME"] = str(world.root / "state")
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd=ROOT, check=False)


@pytest.fixture(scope="module")
def cli_reports(world: servers.World) -> dict[str, tuple[int, dict]]:
    """`mta-sts-wizard check ... --json` once per deadline group: (exit code of the run, domain report)."""
    reports: dict[str, tuple[int, dict]] = {}
    for timeout, group in _timeout_groups().items():
        done = _run_check(world, [s.domain for s in group], timeout, "--json")
        try:
            document = json.loads(done.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"check --json printed no JSON (exit {done.returncode}): {done.stderr.strip()[-600:]}")
        assert document["version"] == 1
        by_domain = {d["domain"]: d for d in document["domains"]}
        for scenario in group:
            reports[scenario.name] = (done.returncode, by_domain[scenario.domain])
    return reports


@pytest.mark.parametrize("scenario", sc.SCENARIOS, ids=SCENARIO_IDS)
def test_check_command_reports_exactly_the_scenario_codes(
    cli_reports: dict[str, tuple[int, dict]], scenario: sc.Scenario
) -> None:
    run_exit, report = cli_reports[scenario.name]
    assert _codes(report) == set(scenario.expected), json.dumps(report["findings"], indent=1)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert report["ok"] is (not errors)
    assert run_exit in (0, 1)
    if errors:
        assert run_exit == 1  # one failing domain fails the whole run
    for f in report["findings"]:
        assert f["message"] and f["fix"], f


def test_check_command_passes_the_correct_domain_alone(world: servers.World) -> None:
    done = _run_check(world, ["good-enforce.test"], LANE_TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "good-enforce.test" in done.stdout
    assert "Traceback" not in done.stderr


def test_check_command_names_the_fault_in_its_report(world: servers.World) -> None:
    done = _run_check(world, ["mx-no-starttls.test"], LANE_TIMEOUT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "mx2.mx-no-starttls.test" in done.stdout
    assert "STARTTLS" in done.stdout
    assert "Traceback" not in done.stderr


# ----------------------------------------------------------------------------- the script's own contract


def test_servers_script_starts_and_stops_from_the_command_line(tmp_path: Path) -> None:
    _require_binaries()
    root = tmp_path / "cli-world"
    argv = [sys.executable, "-m", "tests.realservers.servers"]
    try:
        started = subprocess.run([*argv, "start", str(root)], capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert started.returncode == 0, started.stderr
        described = json.loads(started.stdout)
        assert described["domains"]["good-enforce.test"] == []
        query = dns.message.make_query("good-enforce.test", "MX")
        answer = dns.query.udp(query, described["nameserver"], timeout=2)
        assert len(answer.answer[0]) == 2
        pids = {p.stem: int(p.read_text()) for p in (root / "pids").glob("*.pid")}
        assert set(pids) >= {"knotd", "nginx", "postfix"}
    finally:
        stopped = subprocess.run([*argv, "stop", str(root)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == "stopped: knotd, nginx, postfix"
    for pid in pids.values():
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_missing_binaries_skip_locally_and_fail_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "missing_binaries", lambda: ["knotd"])
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs knotd"):
        _require_binaries()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true requires"):
        _require_binaries()


def test_start_moves_to_another_block_when_an_address_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The free-address check races with other runs; a bind that fails must not fail the lane."""
    _require_binaries()
    seed = 20261128
    rng = servers.random.Random(seed)
    first_block = f"127.{rng.randint(2, 250)}.{rng.randint(2, 250)}"
    taken = f"{first_block}.3"  # knot gets .2, the first policy site .3
    monkeypatch.setattr(servers, "_free", lambda *_args: True)  # as if another run bound it just after our check
    only = (sc.BY_NAME["good-enforce"],)
    with socket.socket() as squatter:
        squatter.bind((taken, 443))
        squatter.listen()
        try:
            started = servers.start(tmp_path / "w", only, seed=seed)
            assert not started.nameserver.startswith(first_block + ".")
            assert started.addresses["site:good-enforce:0"] != taken
            assert (
                _handshake(
                    started.addresses["site:good-enforce:0"], 443, "mta-sts.good-enforce.test", started.ca_bundle
                )
                == "ok"
            )
        finally:
            servers.stop(tmp_path / "w")
