"""Fuzz targets (issue 14, "Done when"): the parsers of what comes from outside never let an
exception escape, and what they say is safe to print.

- policy files (`wizard.policy.parse_policy`): never raises;
- the `_mta-sts` and `_smtp._tls` TXT values (`wizard.records`): never raise;
- TLSRPT reports (`wizard.reports.parse_report`): a Report or ReportRejected, nothing else;
- saved progress (`StateStore.read`): a LoadResult or a StateError, nothing else.

Inputs are both raw (any bytes, any text) and structured (valid documents with one part
replaced by something hostile), since random bytes rarely get past the first check. Every
finding a parser returns is rendered and escaped as `check` prints it, and must come out as
one line without a control or bidi character. Each target has a fixed example budget, so
the whole file runs in a bounded time in CI (5 s idle, under 15 s on a busy 2-core machine);
DNS reply fuzzing is elsewhere.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reports_factory import spec_example
from wizard.findings import CODES, Finding
from wizard.policy import PolicyFile, parse_policy
from wizard.records import parse_sts_record, parse_tlsrpt_record
from wizard.reports import Report, ReportRejected, parse_report
from wizard.state import StateError, StateStore, new_state, record_check, record_policy, record_served
from wizard.state.store import encode_state
from wizard.text import shown

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # bounded and repeatable in CI: no example database between runs
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

#: Characters that make parsers and terminals misbehave, mixed into otherwise plausible text.
NASTY = st.sampled_from(
    ["\x00", "\x1b]0;t\x07", "\x1b[2J", "\r", "\n", "\r\n", "\t", "\x7f", "\x9b", "\u202e", "\u2028", "\ufeff",
     "\udcff", ";", "=", ":", " ", "*.", ".", "v=STSv1", "v=TLSRPTv1", "id=", "rua=", "mailto:", "https://",
     "%", "\\", '"', "é", "xn--", "0" * 40]
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=200), st.lists(st.one_of(NASTY, st.text(max_size=8)), max_size=30).map("".join))


def assert_printable(findings: list[Finding]) -> None:
    for f in findings:
        assert f.code in CODES
        line = shown(f.render())
        assert not UNSAFE.search(line), line
        assert "\n" not in line


# ------------------------------------------------------------------ policy files

POLICY_LINES = st.lists(
    st.one_of(
        st.sampled_from(["version: STSv1", "mode: enforce", "mode: testing", "mode: none", "max_age: 86400"]),
        st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(["version", "mode", "mx", "max_age", "x"]), TEXT),
        st.builds(
            lambda v: f"mx: {v}", st.from_regex(r"(\*\.)?[a-z0-9-]{1,12}(\.[a-z0-9-]{1,12}){0,3}", fullmatch=True)
        ),
        TEXT,
    ),
    max_size=12,
)


POLICY_FILES = st.one_of(
    st.binary(max_size=400),
    POLICY_LINES.map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass")),
    st.builds(lambda ls, end: end.join(ls), POLICY_LINES, st.sampled_from(["\n", "\r\n", "\r"])),
)


@FUZZ
@given(POLICY_FILES)
def test_policy_parser_never_raises(data: bytes | str) -> None:
    parsed = parse_policy(data, subject="fuzz")
    assert_printable(parsed.findings)
    if parsed.policy is not None:
        assert parse_policy(parsed.policy.to_text()).policy is not None  # what it accepts, it can write back


# ------------------------------------------------------------------ TXT records

TXT_VALUES = st.one_of(
    TEXT,
    st.lists(st.one_of(NASTY, st.from_regex(r"[a-z]{1,5}=[ -~]{0,20}", fullmatch=True)), max_size=10).map("; ".join),
)


@FUZZ
@given(TXT_VALUES)
def test_txt_record_parsers_never_raise(value: str) -> None:
    for parse in (parse_sts_record, parse_tlsrpt_record):
        record, findings = parse(value, subject="fuzz")
        assert_printable(findings)
        assert record is not None or findings  # a refused value always says why


# ------------------------------------------------------------------ reports

JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                      st.floats(allow_nan=False), TEXT)  # fmt: skip
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document (the root included)."""
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _paths(value, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(doc)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """`base` with one to three values (anywhere in it) replaced by arbitrary JSON."""
    doc = base
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        doc = _replace(doc, path, draw(JSON_VALUE))
    return doc


REPORT = spec_example()


@FUZZ
@given(st.one_of(
    st.binary(max_size=300),
    mutated(REPORT).map(lambda d: json.dumps(d).encode()),
    mutated(REPORT).map(lambda d: gzip.compress(json.dumps(d).encode(), mtime=0)),
    st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
))  # fmt: skip
def test_report_parser_rejects_or_reads(data: bytes) -> None:
    try:
        parsed = parse_report(data)
    except ReportRejected as exc:
        assert str(exc) and not UNSAFE.search(shown(str(exc)))
        return
    assert isinstance(parsed, Report)


# ------------------------------------------------------------------ saved progress


def _saved_doc() -> dict[str, Any]:
    from datetime import UTC, datetime

    from wizard.findings import finding

    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    state = new_state("example.com", now)
    record_policy(state, PolicyFile("testing", 86400, ("mx.example.com",)), now)
    record_served(state, "testing", 86400, state.policy_id or "", now)
    record_check(state, [finding("mx-tls-expiring", "soon", subject="mx.example.com")], now)
    state.notes = "hello"
    return json.loads(encode_state(state))


SAVED = _saved_doc()


@FUZZ
@given(st.one_of(
    st.binary(max_size=300),
    mutated(SAVED).map(lambda d: json.dumps(d).encode()),
    st.integers(1, 200_000).map(lambda n: b"[" * n),
    st.integers(1, 5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
))  # fmt: skip
def test_state_loader_reads_or_says_why(tmp_path_factory: Any, data: bytes) -> None:
    root: Path = tmp_path_factory.mktemp("state")
    store = StateStore(root)
    store.dir.mkdir(parents=True)
    store.path_for("example.com").write_bytes(data)
    try:
        result = store.read("example.com")
    except StateError as exc:
        assert str(exc)
        return
    for message in result.messages:
        assert "\n" not in shown(message)
    assert result.state is None or result.state.domain == "example.com"
