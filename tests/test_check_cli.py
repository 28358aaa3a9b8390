"""`mta-sts-wizard check` end to end against the test world, as a user or cron job runs it (the
command line in this process, tests/cli_runner.py)."""

from __future__ import annotations

import json

from tests.cli_runner import CliResult, run_cli
from tests.world.https_server import Site
from tests.world.smtp_server import MxSpec
from tests.world.world import World


def run_check(*args: str) -> CliResult:
    return run_cli("check", *args)


def test_good_and_broken_domains_in_one_run_json(world: World) -> None:
    good, broken = world.fresh("good"), world.fresh("broken")
    world.domain(good, mx=[f"mx1.{good}", f"mx2.{good}"])
    world.domain(broken, https=Site(status=301, location="https://www.example.test/"), tlsrpt=None)
    proc = run_check(good, broken, "--json", *world.cli_args())
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["version"] == 1
    by_name = {d["domain"]: d for d in doc["domains"]}
    assert [d["domain"] for d in doc["domains"]] == [good, broken]
    assert by_name[good]["ok"] is True
    assert by_name[good]["policy"]["mx"] == [f"mx1.{good}", f"mx2.{good}"]
    assert by_name[broken]["ok"] is False and by_name[broken]["policy"] is None
    redirect = next(f for f in by_name[broken]["findings"] if f["code"] == "policy-redirect")
    assert redirect["severity"] == "error" and redirect["step"] == 2
    assert redirect["address"] and "https://www.example.test/" in redirect["message"]
    assert redirect["subject"] == f"https://mta-sts.{broken}/.well-known/mta-sts.txt"
    fetch = next(c for c in by_name[broken]["checks"] if c["id"] == "policy-fetch")
    assert fetch["status"] == "fail" and fetch["step"] == 2


def test_human_report_groups_by_step_with_fixes(world: World) -> None:
    name = world.fresh("human")
    world.domain(name, mx_spec=MxSpec(starttls=False), tlsrpt=None)
    proc = run_check(name, *world.cli_args())
    assert proc.returncode == 1
    out = proc.stdout
    assert out.startswith(f"{name}: FAIL (1 error(s), 1 warning(s))")
    assert "[PASS] step 2: Policy hosting (HTTPS)" in out
    assert "[WARN] step 4: TLS reporting (TLSRPT) record" in out
    assert "[FAIL] step 5: Mail servers" in out
    assert "error: mx-no-starttls" in out and "Fix: enable STARTTLS" in out
    # Findings appear under their step.
    assert out.index("step 4") < out.index("tlsrpt-missing") < out.index("step 5") < out.index("mx-no-starttls")


def test_all_good_exits_zero(world: World) -> None:
    name = world.fresh("zero")
    world.domain(name)
    proc = run_check(name, *world.cli_args())
    assert proc.returncode == 0, proc.stdout
    assert f"{name}: OK (0 error(s), 0 warning(s))" in proc.stdout


def test_no_resolver_reachable_exits_three(world: World) -> None:
    silent = world.silent_dns()
    proc = run_check("example.test", "--nameserver", silent.address, "--timeout", "1", "--json")
    assert proc.returncode == 3
    assert "no DNS resolver answered" in proc.stderr
    assert json.loads(proc.stdout)["domains"][0]["ok"] is False


def test_bad_usage_is_one_line_exit_two() -> None:
    for args in (
        ["not a domain!"],
        ["example.test", "--nameserver", "dns.example"],
        ["example.test", "--timeout", "x"],
    ):
        proc = run_check(*args)
        assert proc.returncode == 2, args
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stdout == ""
