"""Hostile input: bombs, huge and deeply nested JSON, wrong encodings. Each is rejected with a reason,
and an import of all of them together stays under 200 MB of memory (a bound, not a timing)."""

from __future__ import annotations

import gzip
import json
import mailbox
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from reports_factory import dumps, email_report, gz, report, spec_example

from tests.world.world import World
from wizard.reports import ReportRejected, ReportStore, import_paths, parse_report
from wizard.reports.parse import MAX_CONTAINERS, MAX_DEPTH, MAX_REPORT_BYTES, MAX_VALUES

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def gzip_bomb(decompressed: int) -> bytes:
    """`decompressed` bytes of a JSON-looking string compressed to about 1/1000 of that."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [c.compress(b'{"organization-name": "')]
    chunk = b"A" * MB
    for _ in range(decompressed // MB):
        out.append(c.compress(chunk))
    out.append(c.flush())
    return b"".join(out)


def test_gzip_bomb_rejected_at_the_cap() -> None:
    bomb = gzip_bomb(256 * MB)
    assert len(bomb) < MB
    with pytest.raises(ReportRejected, match="decompresses to more than 20 MB"):
        parse_report(bomb)


def test_report_just_under_the_cap_is_not_a_bomb() -> None:
    doc = spec_example()
    doc["x-padding"] = "p" * (MAX_REPORT_BYTES - 2000)
    assert parse_report(gz(doc)).organisation == "Sender Example Ltd"


def test_multi_member_gzip_is_read_whole() -> None:
    data = dumps(spec_example())
    half = len(data) // 2
    assert parse_report(gzip.compress(data[:half]) + gzip.compress(data[half:])).report_id.endswith("_a1")


@pytest.mark.parametrize("cut", [10, 30, -8])
def test_truncated_or_damaged_gzip_rejected(cut: int) -> None:
    data = gz(spec_example())
    with pytest.raises(ReportRejected, match="damaged gzip"):
        parse_report(data[:cut])


def test_deep_nesting_rejected_before_json_recurses() -> None:
    deep = b'{"organization-name": ' + b"[" * 40_000 + b"]" * 40_000 + b"}"
    with pytest.raises(ReportRejected, match="nests 40001 levels deep"):
        parse_report(deep)
    deeper = b'{"organization-name": ' + b"[" * 400_000 + b"]" * 400_000 + b"}"
    with pytest.raises(ReportRejected, match="objects and arrays"):
        parse_report(deeper)


def test_nesting_just_past_the_limit_rejected_and_brackets_in_strings_ignored() -> None:
    doc = spec_example()
    doc["x"] = "[[[[{{{{" * 100  # brackets inside a string are not nesting
    assert parse_report(dumps(doc)).organisation
    nested: object = 1
    for _ in range(MAX_DEPTH):
        nested = [nested]
    doc["x"] = nested
    with pytest.raises(ReportRejected, match="levels deep"):
        parse_report(dumps(doc))


def test_huge_value_count_rejected_before_parsing() -> None:
    doc = b'{"organization-name": "x", "x": [' + b"0," * (MAX_VALUES + 5) + b"0]}"
    assert len(doc) < MAX_REPORT_BYTES
    with pytest.raises(ReportRejected, match=f"more than {MAX_VALUES:,} values"):
        parse_report(doc)


def test_huge_container_count_rejected_before_parsing() -> None:
    doc = b'{"x": [' + b"[[]]" * (MAX_CONTAINERS // 2 + 10) + b"]}"
    with pytest.raises(ReportRejected, match="objects and arrays"):
        parse_report(doc)


def test_json_over_the_cap_rejected() -> None:
    with pytest.raises(ReportRejected, match="larger than 20 MB"):
        parse_report(b"{" + b" " * MAX_REPORT_BYTES + b"}")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (json.dumps(spec_example(), ensure_ascii=False).replace("Ltd", "Lt\u00e9").encode("latin-1"), "not UTF-8"),
        (json.dumps(spec_example()).encode("utf-16"), "not UTF-8"),
        (b"\xff\xfe\x00{", "not UTF-8"),
    ],
)
def test_non_utf8_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(ReportRejected, match=reason):
        parse_report(data)


def test_utf8_bom_tolerated_and_non_ascii_kept() -> None:
    doc = spec_example()
    doc["organization-name"] = "Exp\u00e9diteur \u00e9tendu"
    assert parse_report(b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False).encode()).organisation == (
        "Exp\u00e9diteur \u00e9tendu"
    )


def test_huge_integer_literal_rejected_with_a_reason() -> None:
    doc = dumps(spec_example()).replace(b"4210", b"9" * 5000)
    with pytest.raises(ReportRejected, match=r"not valid JSON|between 0 and"):
        parse_report(doc)


def _hostile_corpus(folder: Path) -> None:
    folder.mkdir()
    (folder / "bomb.json.gz").write_bytes(gzip_bomb(1024 * MB))
    with (folder / "huge.json").open("wb") as f:  # 120 MB, read only up to the cap
        f.write(b'{"organization-name": "')
        for _ in range(120):
            f.write(b"B" * MB)
        f.write(b'"}')
    values = b'{"organization-name": "x", "x": [' + b"1.5," * (4 * MB) + b"1]}"
    (folder / "many-values.json").write_bytes(values[: MAX_REPORT_BYTES - 10] + b"1]}")
    objects = b'{"x": [' + b"{}," * (6 * MB) + b"{}]}"
    (folder / "many-objects.json").write_bytes(objects[: MAX_REPORT_BYTES - 10] + b"{}]}")
    (folder / "deep.json").write_bytes(b'{"a": ' + b"[" * (9 * MB) + b"]" * (9 * MB) + b"}")
    big = dumps({"organization-name": "y", "pad": "z" * (MAX_REPORT_BYTES - 200)})
    (folder / "big.eml").write_bytes(email_report(big, compressed=False))
    box = mailbox.mbox(folder / "mbox")
    box.add(email_report(gzip_bomb(512 * MB)))
    box.add(email_report(big, compressed=False))
    box.add(email_report(gz(report(report_id="good-1"))))
    box.close()
    (folder / "good.json.gz").write_bytes(gz(report(report_id="good-2")))


def test_import_of_hostile_inputs_stays_under_200_mb_and_lists_each(tmp_path: Path, dkim_dns: World) -> None:
    """The emails are DKIM-signed, so they get past the signature check (which must fit the budget too)."""
    corpus = tmp_path / "hostile"
    _hostile_corpus(corpus)
    state = tmp_path / "state"
    # The wrapper's only child is the CLI import, so RUSAGE_CHILDREN's ru_maxrss is that process's peak.
    code = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-m', 'wizard', 'reports', 'import', sys.argv[1],"
        " '--state-dir', sys.argv[2], '--nameserver', sys.argv[3]], capture_output=True, text=True, timeout=300)\n"
        "sys.stdout.write(p.stdout)\n"
        "sys.stderr.write(p.stderr)\n"
        "print('RC', p.returncode)\n"
        "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(corpus), str(state), dkim_dns.dns.address],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert "Traceback" not in out.stdout + out.stderr
    lines = out.stdout.splitlines()
    rss_kb = int(next(line.split()[1] for line in lines if line.startswith("MAXRSS_KB")))
    print("import peak RSS MB:", rss_kb // 1024)  # a figure for the log (pytest -s), not an assert
    assert rss_kb < 200 * 1024, f"import peaked at {rss_kb // 1024} MB RSS"
    assert "RC 1" in lines
    skipped = {line.split(":", 1)[0].removeprefix("skipped "): line for line in lines if line.startswith("skipped ")}
    assert "decompresses to more than 20 MB" in skipped[str(corpus / "bomb.json.gz")]
    assert "larger than 20 MB" in skipped[str(corpus / "huge.json")]
    assert "values" in skipped[str(corpus / "many-values.json")]
    assert "far too large for a TLS report" in skipped[str(corpus / "many-objects.json")]
    assert "objects and arrays" in skipped[str(corpus / "deep.json")]
    assert "report-id is missing" in skipped[str(corpus / "big.eml")]
    assert "decompresses to more than 20 MB" in skipped[f"{corpus / 'mbox'} (message 1)"]
    assert "report-id is missing" in skipped[f"{corpus / 'mbox'} (message 2)"]
    assert "imported 2 new reports (0 already in the store, 8 inputs skipped)" in lines
    with ReportStore(state / "reports.sqlite3") as store:
        assert store.report_count() == 2


def test_deep_file_under_the_cap_rejected_for_depth(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_bytes(b'{"a": ' + b"[" * (5 * MB) + b"]" * (5 * MB) + b"}")
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(store, [tmp_path / "deep.json"])
    assert outcome.imported == 0
    assert "objects and arrays" in outcome.rejected[0].reason or "levels deep" in outcome.rejected[0].reason
