"""The fast path (orjson + wizard.reports.fastpath) builds exactly what the strict validator builds,
and declines everything the strict validator would reject or decode differently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reports_factory import detail, dumps, mutated, report, spec_example

from wizard.reports import ReportRejected, ReportStore, import_paths, parse_report
from wizard.reports.fields import datetime_value, parse_datetime
from wizard.reports.parse import _fast, decode_json, strict_report


def _strict(data: bytes) -> Any:
    try:
        return strict_report(decode_json(data))
    except ReportRejected as exc:
        return exc


QUIRKY = [
    spec_example(),
    report(),
    report(mx_host="mx1.example.com"),
    report(mx_host=None),
    report(
        failure=3, details=[{**detail("starttls-not-supported", 3, ip="2001:DB8:0:0::1"), "additional-info-uri": "u"}]
    ),
    mutated(spec_example(), ["date-range", "end-datetime"], "2025-03-15T00:00:00"),
    mutated(spec_example(), ["contact-info"], ...),
    mutated(spec_example(), ["policies", 0, "failure-details"], ...),
]


@pytest.mark.parametrize("doc", QUIRKY, ids=range(len(QUIRKY)))
def test_valid_reports_take_the_fast_path_and_match_the_strict_validator(doc: dict[str, Any]) -> None:
    data = dumps(doc)
    fast = _fast(data)
    assert fast is not None
    assert fast == _strict(data) == parse_report(data)


def test_utf8_bom_takes_the_fast_path() -> None:
    data = b"\xef\xbb\xbf" + dumps(spec_example())
    assert _fast(data) == _strict(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (dumps(spec_example()).replace(b"4210", b"1" + b"0" * 21), "between 0 and"),  # orjson reads it as a float
        (dumps(spec_example()).replace(b"4210", b"4210.0"), "must be a whole number"),
        (dumps(spec_example()).replace(b'"Sender Example Ltd"', b'"\\ud800"'), "lone UTF-16 surrogate"),
        (dumps(spec_example()).replace(b"4210", b"NaN"), "must be a whole number"),  # orjson refuses NaN
    ],
)
def test_what_orjson_reads_differently_goes_the_strict_way(data: bytes, reason: str) -> None:
    assert _fast(data) is None
    with pytest.raises(ReportRejected, match=reason):
        parse_report(data)


def test_surrogate_pairs_are_text_and_lone_surrogates_are_rejected_not_a_crash(tmp_path: Path) -> None:
    doc = spec_example()
    doc["organization-name"] = "Sender \U0001f600"
    assert parse_report(dumps(doc)).organisation == "Sender \U0001f600"  # json.dumps escapes it as a pair
    (tmp_path / "a.json").write_bytes(dumps(spec_example()).replace(b'"mx: mx1.example.com"', b'"mx: \\udc00"'))
    (tmp_path / "b.json").write_bytes(dumps(doc))
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(store, [tmp_path])
    assert outcome.imported == 1
    assert "lone UTF-16 surrogate" in outcome.rejected[0].reason


def test_memoised_date_times_still_name_the_field_each_time() -> None:
    for path in ("date-range.start-datetime", "date-range.end-datetime"):
        with pytest.raises(ReportRejected, match=f"{path} is not a real date-time"):
            parse_datetime("2025-02-30T00:00:00Z", path)
    assert datetime_value("x" * 5000) == "is not an RFC 3339 date-time"  # long texts are not memoised


_P = ["policies", 0]
_D = [*_P, "failure-details"]
_LEAVES = [["organization-name"], ["report-id"], ["contact-info"], ["date-range", "start-datetime"], ["policies"]]
_LEAVES += [[*_P, "policy", k] for k in ("policy-type", "policy-domain", "mx-host", "policy-string")]
_LEAVES += [[*_P, "policy", "policy-string", 0], [*_P, "summary", "total-successful-session-count"], _P, _D]
_LEAVES += [[*_D, 0, k] for k in spec_example()["policies"][0]["failure-details"][0]]
_LEAVES += [[*_D, 1, "additional-information"], [*_D, 1, "additional-info-uri"], [*_D, 0]]
_TEXTS = [" ", "mx1.example.com.", "2025-03-14T00:00:00+01:00", "192.0.2.1", "2001:db8::1", "x" * 8193]
_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_values |= st.sampled_from(
    [" ", "mx1.example.com.", "2025-03-14T00:00:00+01:00", "192.0.2.1", "2001:db8::1", "x" * 8193]
)
_values |= st.lists(st.text(max_size=4) | st.integers(), max_size=3) | st.dictionaries(st.text(max_size=4), st.none())


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_LEAVES), _values | st.just(...))
def test_fast_path_never_accepts_what_the_strict_validator_rejects_or_builds_otherwise(
    path: list[Any], value: Any
) -> None:
    if value is ... and path[-1] == "additional-info-uri":
        value = None  # absent in the example: null stands for absent
    data = json.dumps(mutated(spec_example(), path, value), allow_nan=True).encode()
    fast = _fast(data)
    if fast is not None:
        assert fast == _strict(data)


def test_policy_text_memo_gives_what_a_first_sight_gives_and_never_keys_invalid_values() -> None:
    """The row builder memoises a policy's (policy-string, mx-host) on the values as sent: a hit must
    equal the uncached rows, and values that only compare equal to a cached key must not pass."""
    from wizard.reports import fastpath
    from wizard.reports.parse import parse_rows
    from wizard.reports.store import report_rows

    def rows(doc: dict[str, Any]) -> Any:
        return parse_rows(dumps(doc), "t.json", None)

    fastpath._policy_texts.clear()
    base = report(mx_host=("MX1.Example.com.", " mx2.example.com "))
    base["policies"][0]["policy"]["policy-string"] = ["version: STSv1", "  mode: testing ", "", "mx: MX1.example.com"]
    first = rows(base)
    assert fastpath._policy_texts  # memoised
    assert rows(base) == first == report_rows(parse_report(dumps(base)), "t.json", None)
    assert first[7][0][3:5] == (
        '["version: STSv1","mode: testing","mx: MX1.example.com"]',
        '["mx1.example.com","mx2.example.com"]',
    )
    as_string = mutated(base, ["policies", 0, "policy", "mx-host"], "MX1.Example.com.")
    assert rows(as_string)[7][0][4] == '["mx1.example.com"]'
    for bad, reason in [
        (mutated(base, ["policies", 0, "policy", "policy-string", 0], 1), "must be a string"),
        (mutated(base, ["policies", 0, "policy", "mx-host", 1], True), "must be a string"),
        (mutated(base, ["policies", 0, "policy", "mx-host", 1], {"a": 1}), "must be a string"),
        (mutated(base, ["policies", 0, "policy", "policy-string"], "version: STSv1"), "must be an array"),
    ]:
        with pytest.raises(ReportRejected, match=reason):
            rows(bad)
    hostile = mutated(base, ["policies", 0, "policy", "policy-string"], [" " * 5000 + "mode: testing"] * 3)
    assert rows(hostile)[7][0][3] == '["mode: testing","mode: testing","mode: testing"]'
    assert all(sum(map(len, key[0])) <= fastpath._MEMO_CHARS for key in fastpath._policy_texts)
