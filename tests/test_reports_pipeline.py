"""Large imports parse in worker processes; the outcome and the store are exactly those of a serial import."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from reports_factory import dumps, email_report, gz, report

from wizard.reports import ReportStore, import_paths, pipeline
from wizard.reports.workers import Workers


def _corpus(folder: Path) -> None:
    folder.mkdir()
    for i in range(60):
        doc = report(report_id=f"r{i % 50}", day=f"2025-03-{1 + i % 28:02d}", failure=i % 3)
        (folder / f"{i:03d}.json.gz").write_bytes(gz(doc))  # ten duplicates
    (folder / "010-bad.json").write_bytes(b'{"organization-name": 5}')
    (folder / "020-empty.json").write_bytes(b"")
    (folder / "030-big.json").write_bytes(dumps({**report(report_id="big"), "pad": "p" * 5000}))


def _store_dump(path: Path) -> list[tuple[object, ...]]:
    with ReportStore(path) as store:
        rows = store.conn.execute(
            "SELECT r.organisation, r.report_id, r.day, r.source, p.domain, p.success, p.failure, p.mx_host"
            " FROM reports r JOIN policies p ON p.report = r.id ORDER BY r.id, p.id"
        ).fetchall()
        rows += store.conn.execute("SELECT * FROM failures ORDER BY policy").fetchall()
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []  # stored unchecked, so check
    return rows


@pytest.mark.parametrize("workers", [1, 2])
def test_parallel_import_matches_serial(tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _corpus(tmp_path / "in")
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 7)  # many chunks in flight at once
    monkeypatch.setattr(pipeline, "BIG_REPORT", 4000)  # the padded report is parsed in this process
    outcomes = {}
    progress: dict[int, list[int]] = {0: [], workers: []}
    for w in (0, workers):
        with ReportStore(tmp_path / f"s{w}.sqlite3") as store:
            outcomes[w] = import_paths(
                store,
                [tmp_path / "in"],
                workers=w,
                parallel_after=0,
                commit_every=20,
                progress=lambda o, w=w: progress[w].append(o.imported),
            )
    serial, parallel = outcomes[0], outcomes[workers]
    assert (parallel.imported, parallel.duplicates) == (serial.imported, serial.duplicates) == (51, 10)
    assert parallel.render() == serial.render()
    assert [r.source.rsplit("/", 1)[1] for r in parallel.rejected] == ["010-bad.json", "020-empty.json"]
    assert "organization-name must be a string" in parallel.rejected[0].reason
    assert progress[workers] == progress[0]
    assert _store_dump(tmp_path / f"s{workers}.sqlite3") == _store_dump(tmp_path / "s0.sqlite3")


_TEST_PROCESS = os.getpid()
_parse_paths, _parse_batch = pipeline.parse_paths, pipeline.parse_batch


def _paths_or_die(payload: str) -> object:
    if os.getpid() != _TEST_PROCESS:
        os._exit(3)  # a worker killed mid-import (out of memory, a signal)
    return _parse_paths(payload)


def _batch_or_die(payload: Any) -> object:
    if os.getpid() != _TEST_PROCESS:
        os._exit(3)
    return _parse_batch(payload)


def test_a_worker_that_dies_costs_nothing_but_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real worker processes that die on their first chunk: this process parses every chunk itself,
    and the outcome and the store are exactly those of a serial import."""
    _corpus(tmp_path / "in")
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 7)
    monkeypatch.setattr(pipeline, "parse_paths", _paths_or_die)
    monkeypatch.setattr(pipeline, "parse_batch", _batch_or_die)
    started: list[Workers] = []
    real_pool = pipeline._pool
    monkeypatch.setattr(pipeline, "_pool", lambda n: started.append(real_pool(n)) or started[-1])
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(store, [tmp_path / "in"], workers=2, parallel_after=0)
    monkeypatch.undo()
    with ReportStore(tmp_path / "serial.sqlite3") as store:
        serial = import_paths(store, [tmp_path / "in"], workers=0)
    assert (outcome.imported, outcome.duplicates, len(outcome.rejected)) == (51, 10, 2)
    assert outcome.render() == serial.render()
    assert _store_dump(tmp_path / "s.sqlite3") == _store_dump(tmp_path / "serial.sqlite3")
    assert len(started) == 1 and [w.process.exitcode for w in started[0]._workers] == [3, 3]  # both died


def test_small_imports_start_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _corpus(tmp_path / "in")

    def no_pool(workers: int) -> object:
        raise AssertionError("a pool was started for a small import")

    monkeypatch.setattr(pipeline, "_pool", no_pool)
    with ReportStore(tmp_path / "s.sqlite3") as store:
        assert import_paths(store, [tmp_path / "in"], workers=2).imported == 51


def test_this_process_parses_when_the_workers_have_enough_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers that never catch up: past STEAL_AFTER chunks waiting, this process parses the next
    chunks itself; the outcome and the store are still exactly those of a serial import."""
    _corpus(tmp_path / "in")
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 3)
    sent: list[int] = []

    class Busy:
        """A future whose worker is always still busy; its answer is computed when asked for."""

        def __init__(self, fn: Any, items: Any) -> None:
            self.fn, self.items = fn, items

        def done(self) -> bool:
            return False

        def result(self) -> Any:
            return self.fn(self.items)

    class Pool:
        def submit(self, fn: Any, items: Any) -> Busy:
            sent.append(len(items))
            return Busy(fn, items)

        def shutdown(self) -> None:
            pass

    monkeypatch.setattr(pipeline, "_pool", lambda workers: Pool())
    outcomes = {}
    for w in (0, 1):
        with ReportStore(tmp_path / f"s{w}.sqlite3") as store:
            outcomes[w] = import_paths(store, [tmp_path / "in"], workers=w, parallel_after=0, commit_every=20)
    assert outcomes[1].render() == outcomes[0].render()
    assert (outcomes[1].imported, outcomes[1].duplicates) == (51, 10)
    chunks = -(-63 // 3)
    assert pipeline.STEAL_AFTER <= len(sent) < chunks - 5  # the first ones went out, many were parsed here
    assert _store_dump(tmp_path / "s1.sqlite3") == _store_dump(tmp_path / "s0.sqlite3")


@pytest.mark.usefixtures("dkim_dns")
@pytest.mark.parametrize("workers", [0, 1])
def test_an_email_among_listed_files_keeps_its_place_in_input_order(tmp_path: Path, workers: int) -> None:
    """A listed file that turns out to be an email is expanded where it stands in the chunk: its report
    comes before the files after it, so a later copy of that report is the duplicate."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "1.json").write_bytes(dumps(report(report_id="a")))
    (folder / "2.json").write_bytes(email_report(gz(report(report_id="b", success=1))))  # an email, named .json
    (folder / "3.json").write_bytes(dumps(report(report_id="b", success=999)))
    (folder / "4.json").write_bytes(dumps(report(report_id="c")))
    (folder / "5.json").write_bytes(b"{}")
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(store, [folder], workers=workers, parallel_after=0)
        assert (outcome.imported, outcome.duplicates) == (3, 1)
        assert [r.source.rsplit("/", 1)[1] for r in outcome.rejected] == ["5.json"]
        stored = store.conn.execute("SELECT report_id, source FROM reports ORDER BY id").fetchall()
        assert [(rid, source.rsplit("/", 1)[1]) for rid, source in stored] == [
            ("a", "1.json"),
            ("b", "2.json"),
            ("c", "4.json"),
        ]
        assert store.summary("example.com").success == 100 + 1 + 100
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert store.conn.execute("PRAGMA foreign_keys").fetchone() == (1,)  # back on after the import


@pytest.mark.parametrize("workers", [0, 1])
def test_a_file_name_that_is_not_utf8_imports_and_is_shown_escaped(tmp_path: Path, workers: int) -> None:
    """Linux allows any bytes in a file name; the report imports, its source is stored and printed
    with the odd byte as \\xff, and the next import in the same process works (nothing left broken)."""
    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(b"sender!example.com!1!2!caf\xff.json")
    (folder / odd).write_bytes(dumps(report(report_id="odd")))
    (folder / "bad\xe9.json".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(b"{}")
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(store, [folder], workers=workers, parallel_after=0)
        assert outcome.imported == 1
        assert [r.render() for r in outcome.rejected] == [
            f"skipped {folder}/bad\\xe9.json: " + outcome.rejected[0].reason
        ]
        outcome.render().encode("utf-8")  # printable on a UTF-8 terminal
        assert store.conn.execute("SELECT source FROM reports").fetchone() == (f"{folder}/{odd[:-9]}caf\\xff.json",)
        (folder / "ok.json").write_bytes(dumps(report(report_id="after")))
        assert import_paths(store, [folder / "ok.json"], workers=0).imported == 1
