"""`generate` and `lint` through the real entry points (console script and `python -m wizard`) in a subprocess.

What is asserted is what a user or a script sees: the exit code (CONTRACT: 0 ok, 1 error
findings, 2 bad usage with one line on stderr), stdout, and that no traceback ever shows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.policy import PolicyFile, parse_policy
from wizard.records import join_txt_strings, parse_sts_record, parse_tlsrpt_record


def console_script() -> list[str]:
    found = shutil.which("mta-sts-wizard") or str(Path(sys.executable).with_name("mta-sts-wizard"))
    if not Path(found).exists():
        pytest.fail("the mta-sts-wizard console script is not installed (pip install -e '.[test]')")
    return [found]


ENTRY_POINTS = {"script": console_script, "module": lambda: [sys.executable, "-m", "wizard"]}


@pytest.fixture(params=sorted(ENTRY_POINTS))
def cli(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    prefix = ENTRY_POINTS[request.param]()
    env = {**os.environ, "MTA_STS_WIZARD_HOME": str(tmp_path / "state"), "NO_COLOR": "1"}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
        )

    return run


def assert_usage_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mta-sts-wizard: ")
    for needle in needles:
        assert needle in lines[0]
    assert proc.stdout == ""
    return lines[0]


# --- generate ---------------------------------------------------------------------------------------------------


def sections(stdout: str) -> dict[str, list[str]]:
    """Split the text output at its '# ...' headings."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in stdout.splitlines():
        if line.startswith("# "):
            current = line
            out[current] = []
        else:
            out[current].append(line)
    return out


def zone_txt_values(lines: list[str]) -> dict[str, str]:
    values = {}
    for line in lines:
        if " IN TXT " in line:
            owner, _, data = line.partition(" ")
            strings = re.findall(r'"((?:[^"\\]|\\.)*)"', data.split(" IN TXT ", 1)[1])
            values[owner] = join_txt_strings([s.replace('\\"', '"').replace("\\\\", "\\") for s in strings])
    return values


def test_generate_prints_a_valid_policy_both_txt_records_and_the_zone_fragment(cli) -> None:  # type: ignore[no-untyped-def]
    proc = cli("generate", "example.com", "--mx", "mail.example.com", "--rua", "mailto:tlsrpt@example.com")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    parts = sections(proc.stdout)
    policy_heading = next(h for h in parts if h.startswith("# Policy file"))
    assert "https://mta-sts.example.com/.well-known/mta-sts.txt" in policy_heading
    policy_text = "\n".join(parts[policy_heading]).strip("\n") + "\n"
    parsed = parse_policy(policy_text)
    assert parsed.findings == []
    assert parsed.policy == PolicyFile(mode="testing", max_age=86400, mx=("mail.example.com",))

    zone = parts["# DNS records (zone-file form)"]
    records = zone_txt_values(zone)
    assert set(records) == {"_mta-sts.example.com.", "_smtp._tls.example.com."}
    sts, sts_findings = parse_sts_record(records["_mta-sts.example.com."])
    assert sts_findings == [] and sts is not None
    tlsrpt, tlsrpt_findings = parse_tlsrpt_record(records["_smtp._tls.example.com."])
    assert tlsrpt_findings == [] and tlsrpt is not None and tlsrpt.rua == ("mailto:tlsrpt@example.com",)
    assert any("mta-sts.example.com." in line and "A/AAAA" in line for line in zone)

    table = "\n".join(parts["# DNS records (for a web DNS panel)"])
    assert "_mta-sts.example.com." in table and f"v=STSv1; id={sts.id}" in table


def test_generate_json_with_options(cli) -> None:  # type: ignore[no-untyped-def]
    proc = cli(
        "generate", "Bücher.Example.", "--mx", "mail.xn--bcher-kva.example", "--mx", "*.b.xn--bcher-kva.example",
        "--mode", "enforce", "--max-age", "31557600", "--id", "abc123", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["domain"] == "xn--bcher-kva.example" and doc["domain_unicode"] == "bücher.example"
    assert doc["id"] == "abc123"
    assert parse_policy(doc["policy"]["text"]).policy == PolicyFile(
        mode="enforce", max_age=31557600, mx=("mail.xn--bcher-kva.example", "*.b.xn--bcher-kva.example")
    )
    assert [r["relative_name"] for r in doc["records"]] == ["_mta-sts", "mta-sts"]


def test_generate_mode_none_needs_no_mx(cli) -> None:  # type: ignore[no-untyped-def]
    proc = cli("generate", "example.com", "--mode", "none", "--max-age", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    parsed = parse_policy(json.loads(proc.stdout)["policy"]["text"])
    assert parsed.findings == [] and parsed.policy == PolicyFile(mode="none", max_age=0)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["https://example.com/", "--mx", "mail.example.com"], ["URL", "example.com"]),
        (["postmaster@example.com", "--mx", "mail.example.com"], ["e-mail"]),
        (["example.com", "--mx", "mail.example.com."], ["--mx", "trailing dot"]),
        (["example.com", "--mx", "a.example.com,b.example.com"], ["--mx"]),
        (["example.com", "--mx", "mail.example.com", "--max-age", "31557601"], ["--max-age", "31557600"]),
        (["example.com", "--mx", "mail.example.com", "--max-age", "-1"], ["--max-age"]),
        (["example.com", "--mx", "mail.example.com", "--max-age", "1w"], ["max-age"]),
        (["example.com", "--mx", "mail.example.com", "--rua", "http://r.example.com/"], ["--rua", "http:"]),
        (["example.com", "--mx", "mail.example.com", "--rua", "tlsrpt@example.com"], ["mailto:tlsrpt@example.com"]),
        (["example.com", "--mx", "mail.example.com", "--mode", "Enforce"], ["mode"]),
        (["example.com", "--mx", "mail.example.com", "--id", "2026-01-01"], ["--id"]),
        (["example.com"], ["--mx"]),
        ([], ["domain"]),
        (["example.com", "--mx", "mail.example.com", "--bogus"], ["--bogus"]),
    ],
)
def test_generate_bad_arguments_exit_2_with_one_line(cli, args: list[str], needles: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert_usage_error(cli("generate", *args), *needles)


# --- lint -------------------------------------------------------------------------------------------------------

GOOD = "version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 86400\n"
BROKEN = "version: STSV1\nMode: enforce\nmx: mail.example.com.\nmax_age: 1w\nmax_age: 99999999999\n"


def lint_json(cli, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    proc = cli("lint", *args, "--json", stdin=stdin)
    assert proc.stderr == "" and "Traceback" not in proc.stdout
    return proc.returncode, json.loads(proc.stdout)


def test_lint_good_file_exits_0(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "policy.txt").write_text(GOOD)
    code, doc = lint_json(cli, "policy.txt")
    assert code == 0
    assert doc["ok"] is True and doc["checked"] == ["policy.txt"]
    assert doc["policy"] == {"mode": "testing", "max_age": 86400, "mx": ["mail.example.com"]}
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [("policy-mode-testing", "info")]


def test_lint_good_crlf_file_exits_0(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "policy.txt").write_bytes(GOOD.replace("\n", "\r\n").encode())
    code, doc = lint_json(cli, "policy.txt")
    assert code == 0 and doc["ok"] is True


def test_lint_broken_file_reports_contract_codes_and_exits_1(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "policy.txt").write_text(BROKEN)
    code, doc = lint_json(cli, "policy.txt")
    assert code == 1
    assert doc["ok"] is False and doc["policy"] is None
    by_line = {f.get("line"): f for f in doc["findings"]}
    assert len(doc["findings"]) == 6 and "'mode'" in by_line[None]["message"]
    assert by_line[1]["code"] == "policy-syntax" and "STSv1" in by_line[1]["fix"]
    assert by_line[2]["code"] == "policy-syntax" and "mode: enforce" in by_line[2]["fix"]
    assert by_line[3]["code"] == "policy-syntax" and "trailing dot" in by_line[3]["message"]
    assert by_line[4]["code"] == "policy-syntax" and "line 4" in by_line[4]["message"]
    assert by_line[5]["code"] == "policy-syntax" and "first on line 4" in by_line[5]["message"]
    for f in doc["findings"]:
        assert f["severity"] == "error" and f["subject"] == "policy.txt"
        assert set(f) >= {"code", "severity", "step", "subject", "message", "fix"}


def test_lint_out_of_range_max_age_code(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "policy.txt").write_text(GOOD.replace("86400", "31557601"))
    code, doc = lint_json(cli, "policy.txt")
    assert code == 1
    assert [f["code"] for f in doc["findings"]] == ["policy-max-age-range"]


def test_lint_warning_only_exits_0(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.txt").write_text(GOOD.replace("testing", "enforce").replace("86400", "3600"))
    code, doc = lint_json(cli, "p.txt")
    assert code == 0 and doc["ok"] is True
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [("policy-max-age-short", "warning")]


def test_lint_reads_stdin(cli) -> None:  # type: ignore[no-untyped-def]
    code, doc = lint_json(cli, "-", stdin="\ufeff" + GOOD)
    assert code == 1
    assert doc["checked"] == ["<stdin>"]
    assert [(f["code"], f["line"]) for f in doc["findings"]] == [("policy-syntax", 1)]
    assert "BOM" in doc["findings"][0]["message"]


def test_lint_txt_values(cli) -> None:  # type: ignore[no-untyped-def]
    code, doc = lint_json(
        cli, "--txt", "v=STSv1; id=20261128T120000", "--tlsrpt", "v=TLSRPTv1; rua=mailto:a@example.com"
    )
    assert code == 0 and doc["findings"] == [] and doc["checked"] == ["--txt", "--tlsrpt"]
    code, doc = lint_json(cli, "--txt", "v=STSv1; id=2026-11-28", "--tlsrpt", "v=TLSRPTv1; rua=a@example.com")
    assert code == 1
    assert [(f["code"], f["subject"]) for f in doc["findings"]] == [
        ("sts-txt-invalid", "--txt"),
        ("tlsrpt-rua-invalid", "--tlsrpt"),
    ]


def test_lint_text_output_is_one_line_per_finding_and_a_summary(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "policy.txt").write_text(BROKEN)
    proc = cli("lint", "policy.txt")
    assert proc.returncode == 1 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert all(line.startswith("error: policy-syntax: ") for line in lines[:-1])
    assert len(lines) == 7  # five bad lines, the missing 'mode', the summary
    assert any("'mode' line is missing" in line for line in lines)
    assert lines[-1] == "FAIL: policy.txt: 6 error(s), 0 warning(s)"
    (tmp_path / "good.txt").write_text(GOOD)
    proc = cli("lint", "good.txt")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[-1] == "OK: good.txt: 0 error(s), 0 warning(s)"


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["missing.txt"], ["missing.txt", "no such file"]),
        (["."], ["folder"]),
        ([], ["nothing to check"]),
        (["--json", "--bogus"], ["--bogus"]),
    ],
)
def test_lint_bad_arguments_exit_2_with_one_line(cli, args: list[str], needles: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert_usage_error(cli("lint", *args), *needles)


def test_unknown_command_like_argument_exits_2(cli) -> None:  # type: ignore[no-untyped-def]
    assert_usage_error(cli("--no-such-option"))


def test_a_mistyped_command_is_named_as_such_in_one_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wizard", "staus"], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "'staus' is neither a command" in lines[0] and "status" in lines[0]
