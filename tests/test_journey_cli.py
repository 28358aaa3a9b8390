"""The safe journey on the command line: `status DOMAIN --live` places a domain, `check` with saved
progress says where saved and live differ, risky moves refuse without --yes, and `--forget`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.test_lifecycle_cli import _reports, _save, run
from tests.world.world import World
from wizard.policy import PolicyFile
from wizard.state import StateStore


def test_status_live_places_a_domain_live_in_enforce_without_saving(world: World, tmp_path: Path) -> None:
    name = world.fresh("place")
    world.domain(name, policy=PolicyFile("enforce", 604800, (f"mx.{name}",)), sts_id="20250101T000000")
    proc = run("status", name, "--live", "--json", *world.cli_args(), "--state-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    [doc] = json.loads(proc.stdout)["domains"]
    assert doc["placement"] == "enforce" and doc["id"] == "20250101T000000"
    assert doc["policy"] == {"mode": "enforce", "max_age": 604800, "mx": [f"mx.{name}"]}
    assert doc["disagreement"] is None
    assert StateStore(tmp_path).domains() == []  # reads only
    proc = run("status", name, "--live", *world.cli_args(), "--state-dir", str(tmp_path))
    assert f"{name}: live in enforce mode: max_age 604800" in proc.stdout
    assert "adopts what is live (publishes nothing)" in proc.stdout


def test_status_live_of_a_partly_published_domain_says_what_is_missing(world: World, tmp_path: Path) -> None:
    name = world.fresh("part")
    world.domain(name, sts_id=None, tlsrpt=None)
    proc = run("status", name, "--live", *world.cli_args(), "--state-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "partly published: a testing policy file (missing: the _mta-sts TXT record, the TLSRPT record)" in (
        proc.stdout
    )


def test_check_with_saved_progress_shows_where_saved_and_live_differ(world: World, tmp_path: Path) -> None:
    name = world.fresh("differ")
    saved_id = _save(tmp_path, name, PolicyFile("testing", 86400, (f"mx.{name}",)), datetime.now(UTC))
    world.domain(name, policy=PolicyFile("enforce", 604800, (f"mx.{name}",)), sts_id="20250101T000000")
    proc = run("check", name, "--no-smtp", *world.cli_args(), "--state-dir", str(tmp_path))
    assert "  live: live in enforce mode: max_age 604800" in proc.stdout
    assert "saved progress differs from what is live (the policy file, the _mta-sts id)" in proc.stdout
    assert f"saved: id {saved_id}" in proc.stdout and "live:  id 20250101T000000" in proc.stdout


def test_status_shows_the_live_mode(tmp_path: Path) -> None:
    name = "example.com"
    _save(tmp_path, name, PolicyFile("testing", 86400, (f"mx.{name}",)), datetime.now(UTC) - timedelta(days=3))
    proc = run("status", name, "--json", "--state-dir", str(tmp_path))
    [doc] = json.loads(proc.stdout)["domains"]
    assert doc["live_mode"] == "testing" and doc["mode"] == "testing"


def test_generate_enforce_against_saved_progress_refuses_without_yes(tmp_path: Path) -> None:
    name = "example.com"
    _save(tmp_path, name, PolicyFile("testing", 86400, (f"mx.{name}",)), datetime.now(UTC) - timedelta(days=20))
    _reports(tmp_path, name, 15, failing_mx=f"mx.{name}")
    args = ("generate", name, "--mx", f"mx.{name}", "--mode", "enforce", "--max-age", "86400")
    proc = run(*args, "--state-dir", str(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"Switch to enforce for {name}:" in proc.stderr
    assert "readiness: Blocked" in proc.stderr and "blockers:" in proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        f"mta-sts-wizard: this is a risky move for {name} (see above); run it again with --yes to go ahead"
    )
    proc = run(*args, "--yes", "--state-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "mode: enforce" in proc.stdout
    proc = run("generate", name, "--mx", f"mx.{name}", "--mode", "testing", "--state-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr  # not a risky move: no question asked


def test_generate_raising_max_age_or_mode_none_asks_too(tmp_path: Path) -> None:
    name = "example.com"
    _save(tmp_path, name, PolicyFile("enforce", 86400, (f"mx.{name}",)), datetime.now(UTC) - timedelta(days=20))
    proc = run(
        "generate", name, "--mx", f"mx.{name}", "--mode", "enforce", "--max-age", "604800", "--state-dir", str(tmp_path)
    )
    assert proc.returncode == 2 and f"Raise max_age for {name}:" in proc.stderr
    proc = run("generate", name, "--mode", "none", "--max-age", "86400", "--state-dir", str(tmp_path))
    assert proc.returncode == 2 and "Turn MTA-STS off" in proc.stderr
    proc = run("generate", name, "--mx", f"mx2.{name}", "--mode", "enforce", "--state-dir", str(tmp_path))
    assert proc.returncode == 2 and "Change the MX patterns in enforce mode" in proc.stderr


def test_forget_asks_for_yes_then_deletes_only_the_saved_progress(tmp_path: Path) -> None:
    _save(tmp_path, "example.com", PolicyFile("testing", 86400, ("mx.example.com",)), datetime.now(UTC))
    proc = run("status", "example.com", "--forget", "--state-dir", str(tmp_path))
    assert proc.returncode == 2 and "run it again with --yes" in proc.stderr
    assert StateStore(tmp_path).domains() == ["example.com"]
    proc = run("status", "example.com", "--forget", "--yes", "--state-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("forgot example.com")
    assert StateStore(tmp_path).domains() == []
    proc = run("status", "example.com", "--forget", "--yes", "--state-dir", str(tmp_path))
    assert proc.returncode == 2 and "nothing to forget" in proc.stderr
    proc = run("status", "--forget", "--state-dir", str(tmp_path))
    assert proc.returncode == 2 and "need a DOMAIN" in proc.stderr
