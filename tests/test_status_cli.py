"""`mta-sts-wizard status [DOMAIN] [--json]`: what scripts and people see of the saved progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wizard.cli import main
from wizard.findings import finding
from wizard.policy import PolicyFile
from wizard.state import PendingChange, StateStore, record_check, record_policy, record_served, set_step

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def populate(root: Path) -> StateStore:
    """Two domains: one waiting at step 3, one in enforce with a history and a pending change."""
    store = StateStore(root)
    with store.open("example.com") as s:
        record_policy(s.state, PolicyFile("testing", 86400, ("mail.example.com",)), T0)
        set_step(s.state, 1, "verified", T0)
        set_step(s.state, 2, "verified", T0 + timedelta(minutes=10))
        set_step(s.state, 3, "waiting", T0 + timedelta(minutes=20), detail="waiting for _mta-sts to appear")
        s.state.hosting = "nginx"
        s.save(T0 + timedelta(minutes=20))
    with store.open("xn--bcher-kva.example", unicode_name="bücher.example") as s:
        record_policy(s.state, PolicyFile("testing", 86400, ("mx.xn--bcher-kva.example",)), T0)
        record_served(s.state, "testing", 86400, s.state.policy_id or "", T0)
        record_policy(s.state, PolicyFile("enforce", 1209600, ("mx.xn--bcher-kva.example",)), T0 + 20 * DAY)
        record_served(s.state, "enforce", 1209600, s.state.policy_id or "", T0 + 20 * DAY)
        for n in range(1, 6):
            set_step(s.state, n, "verified", T0 + n * DAY)
        s.state.rua = ["mailto:tls@xn--bcher-kva.example"]
        record_check(s.state, [finding("policy-tls-expiring", "9 days", subject="mta-sts.x")], T0 + 21 * DAY)
        s.state.pending_change = PendingChange(kind="max-age", stage="policy-published", started_at=T0 + 22 * DAY)
        s.save(T0 + 22 * DAY)
    return store


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_step_reached_mode_id_and_date_of_each_domain(tmp_path: Path, capsys) -> None:
    populate(tmp_path)
    code, out, err = run(["status", "--state-dir", str(tmp_path)], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["DOMAIN", "STEP", "MODE", "ID", "LAST", "SAVED"]
    assert lines[1].split() == [
        "example.com",
        "3",
        "_mta-sts",
        "TXT",
        "testing",
        "20261128T120000",
        "2026-11-28",
        "12:20",
        "UTC",
    ]
    assert lines[2].split() == [
        "bücher.example",
        "6",
        "monitor",
        "and",
        "enforce",
        "enforce",
        "20261218T120000",
        "2026-12-20",
        "12:00",
        "UTC",
    ]


def test_json_list_is_one_document_for_scripts(tmp_path: Path, capsys) -> None:
    populate(tmp_path)
    code, out, _ = run(["status", "--json", "--state-dir", str(tmp_path)], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["version"] == 1 and doc["state_dir"] == str(tmp_path)
    by_name = {d["domain"]: d for d in doc["domains"]}
    first = by_name["example.com"]
    assert (first["step"], first["step_name"], first["mode"], first["id"]) == (
        3,
        "_mta-sts TXT",
        "testing",
        "20261128T120000",
    )
    assert first["steps"][2] == {
        "step": 3,
        "name": "_mta-sts TXT",
        "status": "waiting",
        "changed_at": "2026-11-28T12:20:00Z",
        "checked_at": "2026-11-28T12:20:00Z",
        "detail": "waiting for _mta-sts to appear",
    }
    assert first["hosting"] == "nginx" and first["last_check"] is None and first["pending_change"] is None
    idn = by_name["xn--bcher-kva.example"]
    assert idn["unicode"] == "bücher.example" and idn["mode"] == "enforce" and idn["step"] == 6
    assert [i["id"] for i in idn["ids"]] == ["20261128T120000", "20261218T120000"]
    assert idn["ids"][0]["retired_at"] == "2026-12-18T12:00:00Z"
    assert idn["testing_since"] == "2026-11-28T12:00:00Z" and idn["enforce_since"] == "2026-12-18T12:00:00Z"
    assert [(s["mode"], s["max_age"]) for s in idn["served"]] == [("testing", 86400), ("enforce", 1209600)]
    assert idn["last_check"] == {
        "checked_at": "2026-12-19T12:00:00Z",
        "errors": 0,
        "warnings": 1,
        "codes": ["policy-tls-expiring"],
    }
    assert idn["pending_change"] == {
        "kind": "max-age",
        "stage": "policy-published",
        "started_at": "2026-12-20T12:00:00Z",
    }


def test_one_domain_in_detail_accepts_the_unicode_spelling(tmp_path: Path, capsys) -> None:
    populate(tmp_path)
    code, out, err = run(["status", "Bücher.example.", "--state-dir", str(tmp_path)], capsys)
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "bücher.example (xn--bcher-kva.example)"
    assert "  step reached: 6 (monitor and enforce)" in out
    assert "  mode: enforce    live: enforce    id: 20261218T120000" in out
    assert "  enforce since: 2026-12-18 12:00 UTC" in out
    assert "    4 TLSRPT TXT           verified     2026-12-02 12:00 UTC" in out
    assert "  unfinished change: max-age, at stage policy-published (since 2026-12-20 12:00 UTC)" in out
    code, out, _ = run(["status", "example.com", "--json", "--state-dir", str(tmp_path)], capsys)
    [only] = json.loads(out)["domains"]
    assert only["domain"] == "example.com" and only["step"] == 3


def test_an_unknown_domain_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    populate(tmp_path)
    code, out, err = run(["status", "example.org", "--state-dir", str(tmp_path)], capsys)
    assert code == 2 and out == ""
    assert err == (
        "mta-sts-wizard: no saved progress for example.org (saved domains: example.com, xn--bcher-kva.example); "
        "run 'mta-sts-wizard status example.org --live' to see what is published, or 'mta-sts-wizard example.org' "
        "to start it\n"
    )


def test_a_url_instead_of_a_domain_exits_2_with_what_to_type(tmp_path: Path, capsys) -> None:
    code, out, err = run(["status", "https://example.com/", "--state-dir", str(tmp_path)], capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "example.com" in err


def test_nothing_saved_yet(tmp_path: Path, capsys) -> None:
    code, out, _ = run(["status", "--state-dir", str(tmp_path)], capsys)
    assert (
        code == 0 and out == f"no saved progress in {tmp_path / 'progress'}; run 'mta-sts-wizard DOMAIN' to start one\n"
    )
    code, out, _ = run(["status", "--json", "--state-dir", str(tmp_path)], capsys)
    assert json.loads(out)["domains"] == []


def test_a_damaged_file_is_reported_in_one_line_and_left_alone(tmp_path: Path, capsys) -> None:
    store = populate(tmp_path)
    with store.open("example.com") as s:  # a second save, so a backup exists
        set_step(s.state, 3, "verified", T0 + DAY)
        s.save(T0 + DAY)
    path = store.path_for("example.com")
    damaged = path.read_bytes()[:100]
    path.write_bytes(damaged)
    code, out, err = run(["status", "example.com", "--state-dir", str(tmp_path)], capsys)
    assert code == 0
    [line] = err.splitlines()
    assert "is damaged" in line and "continuing from the backup saved 2026-11-28 12:20 UTC" in line
    assert "  step reached: 3 (_mta-sts TXT)" in out
    assert path.read_bytes() == damaged  # status only reads; the wizard repairs under the lock


def test_state_dir_comes_from_the_environment_through_the_real_console_script(tmp_path: Path) -> None:
    populate(tmp_path)
    env = {**os.environ, "MTA_STS_WIZARD_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "status", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert [d["domain"] for d in json.loads(proc.stdout)["domains"]] == ["example.com", "xn--bcher-kva.example"]


def test_a_state_dir_that_is_a_file_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "progress").write_text("not a folder")
    code, out, err = run(["status", "example.com", "--state-dir", str(tmp_path)], capsys)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("mta-sts-wizard: could not read ")
