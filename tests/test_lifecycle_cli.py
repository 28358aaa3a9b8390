"""`check` and `status` with saved progress: the readiness verdict and drift, as a user sees them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.cli_runner import CliResult, run_cli
from tests.reports_factory import detail, gz, report
from tests.world.world import World
from wizard.lifecycle.switch import enforce_policy, start_change
from wizard.policy import PolicyFile
from wizard.reports import ReportStore, import_paths, store_path
from wizard.state import StateStore, record_check, record_policy, record_served


def run(*args: str) -> CliResult:
    return run_cli(*args)


def _save(root: Path, name: str, policy: PolicyFile, started: datetime) -> str:
    store = StateStore(root)
    with store.open(name) as session:
        record_policy(session.state, policy, started)
        record_served(session.state, policy.mode, policy.max_age, session.state.policy_id or "", started)
        session.save(started)
        return session.state.policy_id or ""


def _reports(root: Path, name: str, days: int, failing_mx: str | None = None) -> None:
    folder = root / "incoming"
    folder.mkdir(exist_ok=True)
    today = datetime.now(UTC).date()
    for i in range(days):
        day = today - timedelta(days=days - i)
        details = [detail("certificate-expired", 7, mx=failing_mx)] if failing_mx else None
        doc = report(
            report_id=f"{name}-{i}",
            domain=name,
            day=day.isoformat(),
            failure=7 if failing_mx else 0,
            details=details,
            mx_host=(f"mx.{name}",),
        )
        (folder / f"s!{name}!{i}!{i}.json.gz").write_bytes(gz(doc))
    with ReportStore(store_path(root)) as store:
        assert import_paths(store, [folder]).imported == days


def test_check_shows_ready_verdict_for_a_saved_domain(world: World, tmp_path: Path) -> None:
    name = world.fresh("ready")
    policy = PolicyFile("testing", 604800, (f"mx.{name}",))
    policy_id = _save(tmp_path, name, policy, datetime.now(UTC) - timedelta(days=16))
    world.domain(name, policy=policy, sts_id=policy_id)
    _reports(tmp_path, name, 15)
    proc = run("check", name, *world.cli_args(), "--state-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "step 6 (saved progress): Ready to enforce" in proc.stdout
    assert "16 days in testing" in proc.stdout
    assert "15 report(s) covering 15 day(s)" in proc.stdout
    proc = run("check", name, "--json", *world.cli_args(), "--state-dir", str(tmp_path))
    entry = json.loads(proc.stdout)["domains"][0]
    assert entry["readiness"]["status"] == "ready"
    assert not [f for f in entry["findings"] if f["code"] in ("policy-differs-from-saved", "sts-id-unchanged")]


def test_check_blocks_on_a_failing_mx_in_reports(world: World, tmp_path: Path) -> None:
    name = world.fresh("blocked")
    policy = PolicyFile("testing", 604800, (f"mx.{name}",))
    policy_id = _save(tmp_path, name, policy, datetime.now(UTC) - timedelta(days=16))
    world.domain(name, policy=policy, sts_id=policy_id)
    _reports(tmp_path, name, 15, failing_mx=f"mx.{name}")
    proc = run("check", name, *world.cli_args(), "--state-dir", str(tmp_path))
    assert "step 6 (saved progress): Blocked" in proc.stdout
    assert f"expired certificate on mx.{name} (105 failed session(s) in reports" in proc.stdout
    assert f"renew the certificate of mx.{name}" in proc.stdout


def test_check_reports_drift_which_and_how(world: World, tmp_path: Path) -> None:
    name = world.fresh("drift")
    saved = PolicyFile("testing", 604800, (f"mx.{name}",))
    policy_id = _save(tmp_path, name, saved, datetime.now(UTC) - timedelta(days=3))
    # The web server got an edited file, and the id was not changed.
    world.domain(name, policy=PolicyFile("testing", 86400, (f"mx.{name}",)), sts_id=policy_id)
    proc = run("check", name, "--json", *world.cli_args(), "--state-dir", str(tmp_path))
    codes = {f["code"]: f for f in json.loads(proc.stdout)["domains"][0]["findings"]}
    assert "policy-differs-from-saved" in codes and "sts-id-unchanged" in codes
    assert codes["policy-differs-from-saved"]["severity"] == "warning"
    assert "max_age 86400" in codes["policy-differs-from-saved"]["message"]


def test_check_finds_new_file_under_old_id(world: World, tmp_path: Path) -> None:
    name = world.fresh("oldid")
    root = tmp_path
    old = PolicyFile("testing", 604800, (f"mx.{name}",))
    old_id = _save(root, name, old, datetime.now(UTC) - timedelta(days=20))
    new = PolicyFile("enforce", 604800, (f"mx.{name}",))
    store = StateStore(root)
    with store.open(name) as session:
        record_policy(session.state, new, datetime.now(UTC) - timedelta(days=1))
        new_id = session.state.policy_id
        session.save()
    world.domain(name, policy=new, sts_id=old_id)  # the file went up, the TXT id was forgotten
    proc = run("check", name, *world.cli_args(), "--state-dir", str(root))
    assert "warning: sts-id-unchanged" in proc.stdout
    assert f"publish 'v=STSv1; id={new_id}'" in proc.stdout


def test_status_shows_the_switch_phase_and_verdict_offline(tmp_path: Path) -> None:
    name = "example.com"
    now = datetime.now(UTC)
    store = StateStore(tmp_path)
    with store.open(name) as session:
        record_policy(session.state, PolicyFile("testing", 86400, ("mx.example.com",)), now - timedelta(days=3))
        record_served(session.state, "testing", 86400, session.state.policy_id or "", now - timedelta(days=3))
        record_check(session.state, [], now - timedelta(hours=1))
        start_change(session.state, "enforce", enforce_policy(session.state), now)
        session.save()
    proc = run("status", name, "--state-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "  step 6: Not yet" in out
    assert "14 days of testing: 3 so far" in out
    assert "no reports: check the TLSRPT record and the mailbox" in out
    assert "Switch to enforce: phase 2 of 4" in out
    assert "[>] 2. publish it: every address must serve it" in out
    assert not store_path(tmp_path).exists()  # status only reads
    doc = json.loads(run("status", name, "--json", "--state-dir", str(tmp_path)).stdout)
    assert doc["domains"][0]["readiness"]["status"] == "not-yet"
