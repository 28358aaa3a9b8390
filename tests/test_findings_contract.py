"""wizard.findings.CODES and the finding-code table of shared/CONTRACT.md say the same thing.

Scripts key on these codes and severities, so a code added to one side only, or a
severity that drifted, is a contract break this test catches.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wizard.findings import CODES, finding, has_errors

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "CONTRACT.md"
ROW = re.compile(r"^\|\s*`([a-z0-9-]+)`\s*\|\s*(error|warning|info)\s*\|\s*(.+?)\s*\|\s*$")


def contract_table() -> dict[str, str]:
    if not CONTRACT.is_file():
        pytest.skip(f"{CONTRACT} is not here (the shared/ folder sits next to the repository)")
    lines = CONTRACT.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "## Finding codes")
    header = next(i for i in range(start, len(lines)) if lines[i].startswith("| code"))
    assert [c.strip() for c in lines[header].strip("|").split("|")] == ["code", "severity", "meaning"]
    table: dict[str, str] = {}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        match = ROW.match(line)
        assert match, f"unreadable contract row: {line}"
        code, severity, _ = match.groups()
        assert code not in table, f"{code} is listed twice in CONTRACT.md"
        table[code] = severity
    assert len(table) > 30, "the finding table was not found in CONTRACT.md"
    return table


def test_every_code_in_findings_is_in_the_contract_with_the_same_severity() -> None:
    table = contract_table()
    for code, info in CODES.items():
        assert code in table, f"{code} is emitted by wizard but not listed in CONTRACT.md"
        assert info.severity == table[code], f"{code}: wizard says {info.severity}, CONTRACT.md says {table[code]}"


def test_every_contract_code_is_in_findings() -> None:
    missing = sorted(set(contract_table()) - set(CODES))
    assert missing == []


def test_steps_are_wizard_steps() -> None:
    assert all(1 <= info.step <= 6 for info in CODES.values())


def test_finding_takes_severity_from_the_table() -> None:
    made = finding("mx-pattern-unused", "m", "f", subject="x")
    assert (made.severity, made.step) == ("warning", CODES["mx-pattern-unused"].step)
    assert not has_errors([made])
    assert has_errors([made, finding("mx-not-covered", "m")])
    with pytest.raises(KeyError):
        finding("no-such-code", "m")


def test_to_json_has_the_contract_keys() -> None:
    made = finding("policy-connect-failed", "refused", "start the server", subject="mta-sts.example.com", address="::1")
    assert made.to_json() == {
        "code": "policy-connect-failed",
        "severity": "error",
        "step": 2,
        "subject": "mta-sts.example.com",
        "message": "refused",
        "fix": "start the server",
        "address": "::1",
    }
    assert made.render() == "error: policy-connect-failed [::1]: refused. Fix: start the server"
