"""The import's fast paths change nothing a user sees: deferred indexes come back, even after a crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from reports_factory import detail, gz, report

from wizard.reports import ReportStore, import_paths
from wizard.reports import store as store_module
from wizard.reports.store import SECONDARY_INDEXES

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
