"""An import as a whole: commits that survive an interruption, durability, input order, odd file names,
and the summary reading its covering index."""

from __future__ import annotations

import copy
import gzip
import os
import sqlite3
from pathlib import Path

import pytest
from reports_factory import detail, dumps, email_report, gz, report

from wizard.reports import ReportStore, import_paths


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


def test_an_interrupted_import_keeps_its_commits_and_its_indexes(tmp_path: Path) -> None:
    def stop(outcome: object) -> None:
        raise KeyboardInterrupt

    with ReportStore(tmp_path / "s.sqlite3") as store:
        with pytest.raises(KeyboardInterrupt):
            import_paths(store, [_corpus(tmp_path / "in")], commit_every=7, progress=stop)
        assert store.report_count() == 7  # the first commit stays


def test_summary_reads_the_covering_index_and_matches_an_older_index_layout(tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "in", 20)
    two = report(report_id="two-policies", day="2025-03-02", failure=1, details=[detail("starttls-not-supported", 1)])
    two["policies"].append(copy.deepcopy(two["policies"][0]))  # one report, two rows for the domain
    (folder / "9999.json").write_bytes(dumps(two))
    path = tmp_path / "s.sqlite3"
    with ReportStore(path) as store:
        import_paths(store, [folder])
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


def test_an_import_ends_durable_with_its_log_checkpointed(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with ReportStore(path) as store:
        import_paths(store, [_corpus(tmp_path / "in", 12)], commit_every=5)
        # the store is still open, so nothing has been checkpointed by a close: the main file
        # alone (without its -wal log) must already hold every report
        copy_path = tmp_path / "copy.sqlite3"
        copy_path.write_bytes(path.read_bytes())
        raw = sqlite3.connect(copy_path)
        assert raw.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 12
        raw.close()


@pytest.mark.usefixtures("dkim_dns")
def test_an_email_among_listed_files_keeps_its_place_in_input_order(tmp_path: Path) -> None:
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
        outcome = import_paths(store, [folder])
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


def test_a_file_name_that_is_not_utf8_imports_and_is_shown_escaped(tmp_path: Path) -> None:
    """Linux allows any bytes in a file name; the report imports, its source is stored and printed
    with the odd byte as \\xff, and the next import in the same process works (nothing left broken)."""
    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(b"sender!example.com!1!2!caf\xff.json")
    (folder / odd).write_bytes(dumps(report(report_id="odd")))
    (folder / "bad\xe9.json".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(b"{}")
    with ReportStore(tmp_path / "s.sqlite3") as store:
        outcome = import_paths(store, [folder])
        assert outcome.imported == 1
        assert [r.render() for r in outcome.rejected] == [
            f"skipped {folder}/bad\\xe9.json: " + outcome.rejected[0].reason
        ]
        outcome.render().encode("utf-8")  # printable on a UTF-8 terminal
        assert store.conn.execute("SELECT source FROM reports").fetchone() == (f"{folder}/{odd[:-9]}caf\\xff.json",)
        (folder / "ok.json").write_bytes(dumps(report(report_id="after")))
        assert import_paths(store, [folder / "ok.json"]).imported == 1


def test_one_report_body_is_stored_once_with_the_import_checks(tmp_path: Path) -> None:
    """store_report_bytes, what `reports serve` calls per POST: gzip or JSON, deduplicated, reasons."""
    from wizard.reports import store_report_bytes

    with ReportStore(tmp_path / "s.sqlite3") as store:
        body = gz(report(report_id="posted", failure=1, details=[detail("starttls-not-supported", 1, ip="x")]))
        first = store_report_bytes(store, body, "https POST from 192.0.2.1")
        assert (first.status, first.reason) == ("stored", None)
        assert first.notes == (
            "policies[0].failure-details[0].sending-mta-ip 'x' is not an IP address; stored without it",
        )
        assert store_report_bytes(store, dumps(report(report_id="posted")), "again").status == "duplicate"
        bad = store_report_bytes(store, b'{"organization-name": 5}', "bad")
        assert (bad.status, bad.reason) == ("rejected", "organization-name must be a string, got a number")
        bomb = store_report_bytes(store, gzip.compress(b"{" + b" " * (21 * 1024 * 1024)), "bomb")
        assert bomb.status == "rejected" and "decompresses to more than 20 MB" in (bomb.reason or "")
        assert store_report_bytes(store, b"", "empty").reason == "is empty"
        assert store.report_count() == 1
        assert store.conn.execute("SELECT source FROM reports").fetchone() == ("https POST from 192.0.2.1",)
