"""`reports import` and `reports summary` as a user runs them: output, JSON and exit codes."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest
from reports_factory import detail, email_report, gz, report

from tests.cli_runner import run_cli
from wizard.cli import main


@pytest.fixture
def ns(dkim_dns) -> list[str]:
    """Where `reports import` looks up the DKIM key the corpus's report email is signed with."""
    return ["--nameserver", dkim_dns.dns.address]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    root.mkdir()
    (root / "g.json.gz").write_bytes(
        gz(
            report(
                org="Google Inc.",
                report_id="g",
                day="2025-03-11",
                success=90,
                failure=10,
                details=[detail("certificate-expired", 10, mx="backup.example.com", ip="192.0.2.9")],
            )
        )
    )
    box = mailbox.mbox(root / "mail")
    box.add(email_report(gz(report(org="Mail.Ru", report_id="m", day="2025-03-12", success=50))))
    box.close()
    (root / "junk.json").write_bytes(b"{not json")
    return root


def test_import_lists_skipped_inputs_and_exits_1(
    corpus: Path, ns: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rc = main(["reports", "import", *ns, str(corpus), "--state-dir", str(tmp_path / "st")])
    out = capsys.readouterr().out.splitlines()
    assert rc == 1
    assert out[0].startswith(f"skipped {corpus / 'junk.json'}: is not valid JSON")
    assert out[-1] == "imported 2 new reports (0 already in the store, 1 inputs skipped)"
    assert (tmp_path / "st" / "reports.sqlite3").is_file()
    rc = main(["reports", "import", str(corpus / "g.json.gz"), "--state-dir", str(tmp_path / "st")])
    assert rc == 0
    assert capsys.readouterr().out.strip() == "imported 0 new reports (1 already in the store, 0 inputs skipped)"


def test_summary_text_and_json(corpus: Path, ns: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    state = str(tmp_path / "st")
    main(["reports", "import", *ns, str(corpus), "--state-dir", state])
    capsys.readouterr()
    assert main(["reports", "summary", "example.com", "--state-dir", state]) == 0
    text = capsys.readouterr().out
    assert "2 reports covering 2 days (first 2025-03-11, last 2025-03-12)" in text
    assert "sessions: 140 succeeded, 10 failed (6.67% failure rate)" in text
    assert "2025-03-11            90        10   10.00%" in text
    assert "10  certificate-expired" in text
    assert "10  192.0.2.9 (Google Inc.)" in text
    # the policy in the reports lists mx1.example.com only, so backup.example.com is uncovered
    assert "MX hosts in reports that the policy does not cover: backup.example.com" in text
    assert "taken from the latest reported policy" in text

    assert main(["reports", "summary", "EXAMPLE.com", "--json", "--mx", "*.example.com", "--state-dir", state]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["policy_source"] == "--mx"
    assert doc["policy_patterns"] == ["*.example.com"]
    assert doc["uncovered_mx"] == []
    assert doc["totals"] == {"success": 140, "failure": 10, "rate": 10 / 150}
    assert [d["date"] for d in doc["daily"]] == ["2025-03-11", "2025-03-12"]


def test_summary_days_window(corpus: Path, ns: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    state = str(tmp_path / "st")
    main(["reports", "import", *ns, str(corpus), "--state-dir", state])
    capsys.readouterr()
    assert main(["reports", "summary", "example.com", "--days", "7", "--json", "--state-dir", state]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["report_count"] == 0  # the corpus is from 2025; the window ends today
    assert doc["since"] is not None and doc["until"] is not None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["reports"], "say what to do"),
        (["reports", "summary", "https://example.com/"], "that is a URL"),
        (["reports", "summary", "example.com", "--days", "0"], "between 1 and 3660 days"),
        (["reports", "summary", "example.com", "--mx", "mx.example.com:25"], "--mx mx.example.com:25"),
        (["reports", "summary", "example.com"], "no reports imported yet"),
        (["reports", "import"], "required: PATH"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path) -> None:
    full = [*argv, "--state-dir", str(tmp_path / "empty")] if argv[1:2] == ["summary"] else argv
    proc = run_cli(*full)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_unusable_store_exits_3_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "st").mkdir()
    (tmp_path / "st" / "reports.sqlite3").write_bytes(b"garbage" * 200)
    proc = run_cli("reports", "summary", "example.com", "--state-dir", str(tmp_path / "st"))
    assert proc.returncode == 3
    assert "move it aside" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_state_dir_from_environment(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTA_STS_WIZARD_HOME", str(tmp_path / "home"))
    main(["reports", "import", str(corpus / "g.json.gz")])
    assert (tmp_path / "home" / "reports.sqlite3").is_file()


def test_summary_checks_coverage_against_the_saved_policy(
    corpus: Path, ns: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from wizard.policy import PolicyFile
    from wizard.state import StateStore, record_policy

    state = str(tmp_path / "st")
    store = StateStore(Path(state))
    with store.open("example.com") as session:
        record_policy(session.state, PolicyFile(mode="testing", max_age=86400, mx=("*.example.com",)))
        session.save()
    main(["reports", "import", *ns, str(corpus), "--state-dir", state])
    capsys.readouterr()
    assert main(["reports", "summary", "example.com", "--json", "--state-dir", state]) == 0
    doc = json.loads(capsys.readouterr().out)
    # the saved policy's wildcard covers backup.example.com, which the reported policy did not
    assert doc["policy_source"] == "saved policy"
    assert doc["policy_patterns"] == ["*.example.com"]
    assert doc["uncovered_mx"] == []
