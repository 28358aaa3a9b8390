"""The import's fast paths change nothing a user sees: deferred indexes come back, even after a crash."""

from __future__ import annotations

import copy
import ipaddress
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reports_factory import detail, dumps, gz, mutated, report, spec_example

from wizard.reports import ReportRejected, ReportStore, import_paths, parse_report
from wizard.reports import store as store_module
from wizard.reports.fastpath import Bail, typed_rows
from wizard.reports.parse import decode_json, parse_rows, strict_report
from wizard.reports.store import SECONDARY_INDEXES, report_rows

ALL_INDEXES = [name for name, _ in SECONDARY_INDEXES]


def _corpus(folder: Path, count: int = 30, offset: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(offset, offset + count):
        doc = report(
            report_id=f"r{i}",
            day=f"2025-03-{1 + i % 28:02d}",
            failure=2,
            details=[detail("certificate-expired", 2, mx="mx1.example.com", ip=f"192.0.2.{i % 200 + 1}")],
        )
        (folder / f"{i:04d}.json.gz").write_bytes(gz(doc))
    return folder


def _plan(store: ReportStore) -> str:
    rows = store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT SUM(failure) FROM policies WHERE domain = ? AND day >= ?",
        ("example.com", "2025-03-01"),
    )
    return " ".join(str(r) for r in rows)


def test_a_large_import_indexes_once_at_its_end(tmp_path: Path) -> None:
    seen_missing: list[list[str]] = []
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(
            store,
            [_corpus(tmp_path / "in")],
            workers=0,
            commit_every=7,
            progress=lambda o: seen_missing.append(store.missing_indexes()),
        )
        assert (outcome.imported, outcome.duplicates) == (30, 0)
        assert seen_missing[0] == ALL_INDEXES  # deferred while the import ran
        assert store.missing_indexes() == []
        assert "policies_domain_day" in _plan(store)
        assert store.summary("example.com").failure == 60
        again = import_paths(store, [tmp_path / "in"], workers=0, commit_every=7)
        assert (again.imported, again.duplicates) == (0, 30)  # dedup never needed the dropped indexes
        assert store.report_count() == 30


def test_a_small_import_keeps_its_indexes(tmp_path: Path) -> None:
    seen_missing: list[list[str]] = []
    with ReportStore(tmp_path / "s.sqlite3") as store:
        import_paths(
            store,
            [_corpus(tmp_path / "in", 5)],
            commit_every=1000,
            progress=lambda o: seen_missing.append(store.missing_indexes()),
        )
    assert seen_missing == [[]]


def test_a_large_import_into_a_big_store_keeps_its_indexes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "DEFER_INDEXES_MAX_STORED", 10)
    seen_missing: list[list[str]] = []
    with ReportStore(tmp_path / "s.sqlite3") as store:
        import_paths(store, [_corpus(tmp_path / "a", 11)], workers=0)
        import_paths(
            store,
            [_corpus(tmp_path / "b", 20, offset=100)],
            workers=0,
            commit_every=5,
            progress=lambda o: seen_missing.append(store.missing_indexes()),
        )
        assert store.report_count() == 31
    assert seen_missing and all(m == [] for m in seen_missing)


def test_an_interrupted_import_keeps_its_commits_and_its_indexes(tmp_path: Path) -> None:
    def stop(outcome: object) -> None:
        raise KeyboardInterrupt

    with ReportStore(tmp_path / "s.sqlite3") as store:
        with pytest.raises(KeyboardInterrupt):
            import_paths(store, [_corpus(tmp_path / "in")], workers=0, commit_every=7, progress=stop)
        assert store.report_count() == 7  # the first commit stays
        assert store.missing_indexes() == []


def test_a_killed_import_gets_its_indexes_back_on_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with ReportStore(path) as store:
        import_paths(store, [_corpus(tmp_path / "in", 10)], workers=0)
        bulk = store.deferred_indexes()
        assert bulk.__enter__() is True  # the process "dies" here: the rebuild never runs
        assert store.missing_indexes() == ALL_INDEXES
    raw = sqlite3.connect(path)
    assert {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}.isdisjoint(ALL_INDEXES)
    raw.close()
    with ReportStore(path) as store:
        assert store.missing_indexes() == []
        assert "policies_domain_day" in _plan(store)
        assert store.report_count() == 10
        assert store.summary("example.com").failure == 20


def test_opening_a_store_another_process_is_importing_into_does_not_wait(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with ReportStore(path) as store:
        import_paths(store, [_corpus(tmp_path / "in", 10)], workers=0)
        bulk = store.deferred_indexes()  # kept referenced: the import is still running
        assert bulk.__enter__() is True
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # an import holds the write lock
    try:
        with ReportStore(path) as reader:  # opens at once, reads without the indexes
            assert reader.missing_indexes() == ALL_INDEXES
            assert reader.summary("example.com").failure == 20
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with ReportStore(path) as store:
        assert store.missing_indexes() == []


# --- straight-to-rows fast path ---------------------------------------------------------------


def _tlsa(doc: dict[str, Any], *, with_sts: bool) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    tlsa = {
        "policy": {"policy-type": "tlsa", "policy-string": ["3 1 1 AB"], "policy-domain": "MX1.Example.COM."},
        "summary": {"total-successful-session-count": 5, "total-failure-session-count": 1},
        "failure-details": [detail("tlsa-invalid", 1)],
    }
    doc["policies"] = [*doc["policies"], tlsa] if with_sts else [tlsa]
    return doc


DOCS = [
    spec_example(),
    report(),
    report(mx_host="mx1.example.com."),
    report(mx_host=None),
    report(failure=3, details=[{**detail("x-new-type", 3, ip="2001:DB8:0:0::1"), "additional-info-uri": "u"}]),
    mutated(spec_example(), ["date-range", "end-datetime"], "2025-03-15T00:00:00"),
    mutated(spec_example(), ["date-range", "start-datetime"], "2025-03-13T22:00:00-02:00"),
    mutated(spec_example(), ["contact-info"], ...),
    mutated(spec_example(), ["policies", 0, "failure-details"], ...),
    _tlsa(spec_example(), with_sts=True),
    _tlsa(spec_example(), with_sts=False),
    {**spec_example(), "policies": []},
]


@pytest.mark.parametrize("hint", [None, "", "Hint.Example.", "."])
@pytest.mark.parametrize("doc", DOCS, ids=range(len(DOCS)))
def test_rows_straight_from_json_are_the_rows_of_the_report(doc: dict[str, Any], hint: str | None) -> None:
    data = dumps(doc)
    expected = report_rows(strict_report(decode_json(data)), "src", hint)
    assert typed_rows(data, "src", hint) == expected
    assert parse_rows(gz(doc), "src", hint) == expected == report_rows(parse_report(data), "src", hint)


def test_generated_corpus_rows_match_the_report_path(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks" / "reports"))
    from generate import generate

    for path in generate(tmp_path / "c", 300):
        data = path.read_bytes()
        assert parse_rows(data, path.name, "d.example") == report_rows(parse_report(data), path.name, "d.example")


def _with_unknown(raw: bytes) -> bytes:
    """The RFC example with an unknown top-level field whose value is `raw` (JSON text, as bytes)."""
    return dumps(spec_example())[:-1] + b', "x-extra": ' + raw + b"}"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b'{"organization-name": 5}',
        dumps(spec_example()).replace(b"4210", b"4210.0"),
        b"\x1f\x8bxx",
        # What msgspec skips unchecked in a field nobody reads, the strict path still refuses:
        _with_unknown(b'"caf\xff"'),  # not UTF-8
        _with_unknown(b'"\xc0\xaf"'),  # overlong UTF-8
        _with_unknown(b'"\xed\xa0\x80"'),  # an encoded surrogate
        _with_unknown(b"9" * 5000),  # more digits than Python turns into an int
    ],
)
def test_rejected_reports_give_the_same_reason_either_way(data: bytes) -> None:
    with pytest.raises(ReportRejected) as by_report:
        parse_report(data)
    with pytest.raises(ReportRejected) as by_rows:
        parse_rows(data, "src", None)
    assert str(by_rows.value) == str(by_report.value)


_P = ["policies", 0]
_D = [*_P, "failure-details"]
_LEAVES = [["organization-name"], ["report-id"], ["contact-info"], ["date-range", "end-datetime"], ["policies"]]
_LEAVES += [[*_P, "policy", k] for k in ("policy-type", "policy-domain", "mx-host", "policy-string")]
_LEAVES += [[*_P, "summary", "total-failure-session-count"], _P, _D, [*_D, 1], [*_D, 1, "additional-info-uri"]]
_LEAVES += [[*_D, 0, k] for k in spec_example()["policies"][0]["failure-details"][0]]
_values = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
_values |= st.sampled_from(["tlsa", "STS", " ", "mx1.example.com.", "2025-03-14T00:00:00+01:00", "2001:db8::1"])
_values |= st.lists(st.text(max_size=4) | st.integers(), max_size=3) | st.dictionaries(st.text(max_size=4), st.none())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_LEAVES), _values | st.just(...), st.sampled_from([None, "h.example"]))
def test_rows_fast_path_never_differs_from_the_strict_validator(path: list[Any], value: Any, hint: str | None) -> None:
    if value is ... and path[-1] == "additional-info-uri":
        value = None  # absent in the example: null stands for absent
    doc = json.loads(json.dumps(mutated(_tlsa(spec_example(), with_sts=True), path, value)))
    try:
        fast = typed_rows(json.dumps(doc).encode(), "src", hint)
    except Bail:
        return
    assert fast == report_rows(strict_report(doc), "src", hint)


# --- files listed by the main process, read by the workers ------------------------------------


@pytest.mark.usefixtures("dkim_dns")  # the email among the files is DKIM-signed; its key is served here
def test_lazily_listed_files_import_as_if_read_here(tmp_path: Path) -> None:
    from reports_factory import email_report

    from wizard.reports.inputs import import_candidates, iter_candidates

    folder = _corpus(tmp_path / "in", 12)
    (folder / "0002-mail.json").write_bytes(email_report(gz(report(report_id="mailed"))))  # an email named .json
    (folder / "0003-empty.gz").write_bytes(b"")
    (folder / "0004-text.json.gz").write_bytes(b"hello")
    (folder / "0005-big.json").write_bytes(dumps({**report(report_id="big"), "pad": "p" * 70_000}))
    assert all(c.data is None for c in iter_candidates([folder], lazy=True))
    outcomes = []
    for lazy in (True, False):
        with ReportStore(tmp_path / f"s{lazy}.sqlite3") as store:
            outcomes.append(
                import_candidates(
                    store, iter_candidates([folder], lazy=lazy), workers=2, parallel_after=0, commit_every=5
                )
            )
            assert store.report_count() == 14
    assert outcomes[0].render() == outcomes[1].render()
    assert (outcomes[0].imported, len(outcomes[0].rejected)) == (14, 2)
    assert outcomes[0].rejected[0].reason == "is empty"


def test_new_stores_get_large_pages_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "new.sqlite3") as store:
        assert store.conn.execute("PRAGMA page_size").fetchone()[0] == store_module.PAGE_SIZE
    old = tmp_path / "old.sqlite3"
    raw = sqlite3.connect(old)
    raw.execute("PRAGMA page_size = 4096")
    raw.execute("CREATE TABLE t (x)")  # an existing file: its page size is fixed
    raw.execute("DROP TABLE t")
    raw.close()
    with ReportStore(old) as store:
        assert store.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        import_paths(store, [_corpus(tmp_path / "in", 8)], workers=0, commit_every=3)
        assert store.report_count() == 8
        assert store.missing_indexes() == []


def test_summary_reads_the_covering_index_and_matches_an_older_index_layout(tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "in", 20)
    two = report(report_id="two-policies", day="2025-03-02", failure=1, details=[detail("starttls-not-supported", 1)])
    two["policies"].append(copy.deepcopy(two["policies"][0]))  # one report, two rows for the domain
    (folder / "9999.json").write_bytes(dumps(two))
    path = tmp_path / "s.sqlite3"
    with ReportStore(path) as store:
        import_paths(store, [folder], workers=0)
        plan = " ".join(
            str(r)
            for r in store.conn.execute(
                "EXPLAIN QUERY PLAN SELECT day, SUM(success), SUM(failure), COUNT(DISTINCT report) FROM policies"
                " WHERE domain = ? GROUP BY day",
                ("example.com",),
            )
        )
        assert "COVERING INDEX policies_domain_day" in plan
        new = store.summary("example.com", policy_patterns=["mx1.example.com"]).to_json()
        store.conn.execute("DROP INDEX policies_domain_day")  # as a store from before the covering index
        store.conn.execute("CREATE INDEX policies_domain_day ON policies (domain, day)")
        old = store.summary("example.com", policy_patterns=["mx1.example.com"])
        assert old.to_json() == new
        assert old.report_count == 21
        assert sum(d.failure for d in old.daily) == 20 * 2 + 2


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.integers(0, 300), min_size=3, max_size=5).map(lambda xs: ".".join(map(str, xs)))
    | st.tuples(st.integers(0, 255), st.sampled_from(["0", "00", "01", "001", "255", "256", "1e1", "٣"])).map(
        lambda t: f"10.{t[0]}.{t[1]}.1"
    )
    | st.text(alphabet="0123456789.:abcdefABCDEF", max_size=20)
)
def test_quick_ipv4_reading_prints_what_ipaddress_prints(text: str) -> None:
    _address_prints_what_ipaddress_prints(text)


def _address_prints_what_ipaddress_prints(text: str) -> None:
    """fields.address of `text` (memo emptied first) is ipaddress's text, or `text` when no address."""
    from wizard.reports import fields

    fields._addresses.clear()
    try:
        expected = str(ipaddress.ip_address(text))
    except ValueError:
        expected = text
    assert fields.address(text) == expected


def test_an_import_ends_durable_with_its_log_checkpointed(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with ReportStore(path) as store:
        import_paths(store, [_corpus(tmp_path / "in", 12)], workers=0, commit_every=5)
        # the store is still open, so nothing has been checkpointed by a close: the main file
        # alone (without its -wal log) must already hold every report
        copy_path = tmp_path / "copy.sqlite3"
        copy_path.write_bytes(path.read_bytes())
        raw = sqlite3.connect(copy_path)
        assert raw.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 12
        raw.close()


_hextet = st.integers(0, 0xFFFF) | st.just(0)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(_hextet, min_size=8, max_size=8).flatmap(
        lambda groups: st.sampled_from(
            [
                str(ipaddress.IPv6Address(b"".join(g.to_bytes(2, "big") for g in groups))),
                ipaddress.IPv6Address(b"".join(g.to_bytes(2, "big") for g in groups)).exploded.upper(),
                ":".join(f"{g:x}" for g in groups),
                ":".join(f"{g:x}" for g in groups[:7]),
                ":".join(f"{g:x}" for g in groups) + "::",
            ]
        )
    )
    | st.text(alphabet="0123456789:abcdefABCDEF%.", max_size=45)
)
def test_quick_ipv6_reading_prints_what_ipaddress_prints(text: str) -> None:
    """IPv6 literals are read by inet_pton and printed by hand (RFC 5952); whatever the text,
    the result is exactly ipaddress's, or the text as sent when it is no address."""
    _address_prints_what_ipaddress_prints(text)
