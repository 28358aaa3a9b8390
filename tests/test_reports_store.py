"""The SQLite store (schema version, indexes, refusal of foreign files, dedup) and the step-6 summary."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from reports_factory import detail, dumps, report, spec_example

from wizard.reports import ReportStore, StoreError, parse_report
from wizard.reports.store import SCHEMA_VERSION, store_path


def _add(store: ReportStore, doc: dict, hint: str | None = None) -> bool:
    return store.add(parse_report(dumps(doc)), source="test", domain_hint=hint)


def test_store_path_is_in_the_state_dir(tmp_path: Path) -> None:
    assert store_path(tmp_path) == tmp_path / "reports.sqlite3"


def test_schema_is_versioned_and_indexed(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "s.sqlite3") as store:
        assert store.schema_version == SCHEMA_VERSION == 1
        indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"policies_domain_day", "failures_domain_day"} <= indexes
        plan = " ".join(
            str(r)
            for r in store.conn.execute(
                "EXPLAIN QUERY PLAN SELECT SUM(success) FROM policies WHERE domain = ? AND day >= ?",
                ("example.com", "2025-01-01"),
            )
        )
        assert "policies_domain_day" in plan
    with ReportStore(tmp_path / "s.sqlite3") as again:  # reopening does not migrate twice
        assert again.schema_version == 1


def test_store_from_a_newer_program_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer mta-sts-wizard"):
        ReportStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 99


def test_a_file_that_is_not_a_database_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="move it aside"):
        ReportStore(path)


def test_dedup_on_organisation_and_report_id(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "s.sqlite3") as store:
        assert _add(store, report(report_id="x", success=5)) is True
        assert _add(store, report(report_id="x", success=999)) is False  # same key: the first one stays
        assert _add(store, report(report_id="x", org="Other", success=1)) is True
        assert store.report_count() == 2
        assert store.summary("example.com").success == 6


def test_one_batch_mixing_stored_new_and_repeated_reports(tmp_path: Path) -> None:
    """add_many keeps exactly the new reports' rows when some are stored already or repeated in the batch."""
    failing = [detail("certificate-expired", 3, mx="mx1.example.com")]
    with ReportStore(tmp_path / "s.sqlite3") as store:
        assert _add(store, report(report_id="old", failure=3, details=failing)) is True
        batch = [
            report(report_id="old", success=999, failure=3, details=failing),  # stored already
            report(report_id="new", success=7, failure=3, details=failing),
            report(report_id="new", success=500),  # repeated in this batch: the first one wins
            report(report_id="other", success=11),
        ]
        added = store.add_many([(parse_report(dumps(d)), "test", None) for d in batch])
        assert added == [False, True, False, True]
        assert store.report_count() == 3
        summary = store.summary("example.com")
        assert (summary.success, summary.failure) == (100 + 7 + 11, 6)
        assert [(c.key, c.count) for c in summary.by_result_type] == [("certificate-expired", 6)]
        orphans = (
            store.conn.execute("SELECT COUNT(*) FROM policies WHERE report NOT IN (SELECT id FROM reports)").fetchone()[
                0
            ]
            + store.conn.execute(
                "SELECT COUNT(*) FROM failures WHERE report NOT IN (SELECT id FROM reports)"
            ).fetchone()[0]
        )
        assert orphans == 0
        assert store.add_many([(parse_report(dumps(d)), "test", None) for d in batch]) == [False] * 4
        assert store.report_count() == 3
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_tlsa_results_count_for_the_report_domain(tmp_path: Path) -> None:
    doc = spec_example()
    doc["policies"][0]["policy"] = {
        "policy-type": "tlsa",
        "policy-string": ["3 1 1 ab"],
        "policy-domain": "mx.example.net",
    }
    with ReportStore(tmp_path / "s.sqlite3") as store:
        _add(store, doc, hint="Example.COM.")
        assert store.domains() == ["example.com"]
        assert store.summary("example.com").success == 4210


def _week(store: ReportStore) -> None:
    _add(store, report(org="Google Inc.", report_id="g1", day="2025-03-10", success=1000, failure=0))
    _add(
        store,
        report(
            org="Google Inc.",
            report_id="g2",
            day="2025-03-11",
            success=900,
            failure=100,
            details=[
                detail("certificate-expired", 60, mx="mx2.example.com", ip="209.85.1.1"),
                detail("starttls-not-supported", 40, mx="mx1.example.com", ip="209.85.1.2"),
            ],
        ),
    )
    _add(
        store,
        report(
            org="Microsoft Corporation",
            report_id="m1",
            day="2025-03-11",
            success=100,
            failure=0,
        ),
    )
    _add(
        store,
        report(
            org="Mail.Ru",
            report_id="r1",
            day="2025-03-13",
            success=0,
            failure=5,
            details=[detail("sts-policy-fetch-error", 5, mx=None, ip=None)],
        ),
    )
    _add(store, report(org="Other", report_id="o1", domain="example.org", day="2025-03-11", success=7))


def test_summary_per_day_and_breakdowns(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "s.sqlite3") as store:
        _week(store)
        s = store.summary("example.com", policy_patterns=["mx1.example.com"])
    assert s.report_count == 4
    assert [(d.date.isoformat(), d.success, d.failure, d.rate) for d in s.daily] == [
        ("2025-03-10", 1000, 0, 0.0),
        ("2025-03-11", 1000, 100, 100 / 1100),
        ("2025-03-13", 0, 5, 1.0),
    ]
    assert (s.first, s.last) == (date(2025, 3, 10), date(2025, 3, 13))
    assert (s.success, s.failure) == (2000, 105)
    assert [(c.key, c.count) for c in s.by_result_type] == [
        ("certificate-expired", 60),
        ("starttls-not-supported", 40),
        ("sts-policy-fetch-error", 5),
    ]
    assert [(c.key, c.count) for c in s.by_mx] == [
        ("mx2.example.com", 60),
        ("mx1.example.com", 40),
        ("(not reported)", 5),
    ]
    assert [(c.key, c.count) for c in s.by_organisation] == [("Google Inc.", 100), ("Mail.Ru", 5)]
    assert [(x.organisation, x.sending_ip, x.count) for x in s.by_sender] == [
        ("Google Inc.", "209.85.1.1", 60),
        ("Google Inc.", "209.85.1.2", 40),
        ("Mail.Ru", "(not reported)", 5),
    ]
    assert s.mx_seen == ["mx1.example.com", "mx2.example.com"]
    assert s.uncovered_mx == ["mx2.example.com"]
    assert s.latest_policy_patterns == ["mx1.example.com"]


def test_summary_window_by_days_and_since(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "s.sqlite3") as store:
        _week(store)
        last3 = store.summary("example.com", days=3, today=date(2025, 3, 13))
        since = store.summary("example.com", since=date(2025, 3, 12))
        nothing = store.summary("example.com", days=1, today=date(2025, 3, 12))
    assert [d.date.day for d in last3.daily] == [11, 13]
    assert (last3.since, last3.until) == (date(2025, 3, 11), date(2025, 3, 13))
    assert last3.report_count == 3
    assert [d.date.day for d in since.daily] == [13]
    assert (nothing.report_count, nothing.daily, nothing.first, nothing.rate) == (0, [], None, None)
    assert "no reports stored for this window" in nothing.render()


def test_uncovered_mx_uses_rfc8461_wildcard_rules(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "s.sqlite3") as store:
        _add(
            store,
            report(
                failure=3,
                details=[
                    detail("certificate-host-mismatch", 1, mx="a.mx.example.com"),
                    detail("certificate-host-mismatch", 1, mx="deep.a.mx.example.com"),  # one label only
                    detail("certificate-host-mismatch", 1, mx="MX.EXAMPLE.COM."),
                ],
            ),
        )
        covered = store.summary("example.com", policy_patterns=["*.mx.example.com"])
        unknown = store.summary("example.com")
    assert covered.uncovered_mx == ["deep.a.mx.example.com", "mx.example.com"]
    assert unknown.policy_patterns is None and unknown.uncovered_mx == []


def test_to_json_is_json_and_complete(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "s.sqlite3") as store:
        _week(store)
        doc = json.loads(json.dumps(store.summary("example.com", policy_patterns=["mx1.example.com"]).to_json()))
    assert doc["version"] == 1
    assert doc["totals"] == {"success": 2000, "failure": 105, "rate": 105 / 2105}
    assert doc["daily"][1] == {"date": "2025-03-11", "success": 1000, "failure": 100, "rate": 100 / 1100}
    assert doc["failures_by_result_type"][0] == {"result_type": "certificate-expired", "count": 60}
    assert doc["failures_by_mx"][0] == {"mx": "mx2.example.com", "count": 60}
    assert doc["failures_by_organisation"][0] == {"organisation": "Google Inc.", "count": 100}
    assert doc["failures_by_sending_ip"][0] == {"organisation": "Google Inc.", "sending_ip": "209.85.1.1", "count": 60}
    assert (doc["first"], doc["last"], doc["report_count"]) == ("2025-03-10", "2025-03-13", 4)
    assert doc["uncovered_mx"] == ["mx2.example.com"]


def test_summary_domain_is_normalised(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "s.sqlite3") as store:
        _week(store)
        assert store.summary("Example.COM.").report_count == 4
        assert store.report_count("example.org") == 1


def test_failure_breakdowns_order_exactly_as_sql_would(tmp_path: Path) -> None:
    """The breakdowns are added up in Python from one pass; ties, missing fields and non-ASCII keys
    come out in the order of the SQL GROUP BY ... ORDER BY n DESC, key (NULL first) they replaced."""
    docs = []
    for i, (org, mx, ip, rt) in enumerate(
        [
            ("Zeta", None, None, "sts-policy-fetch-error"),
            ("Älpha", "mx2.example.com", "192.0.2.1", "certificate-expired"),
            ("alpha", "mx1.example.com", "192.0.2.1", "certificate-expired"),
            ("Alpha", "mx1.example.com", None, "validation-failure"),
            ("Alpha", "mx10.example.com", "2001:db8::1", "dane-required"),
            ("Zeta", None, "192.0.2.2", "sts-policy-fetch-error"),
            ("Ωmega", "mx2.example.com", "192.0.2.3", "starttls-not-supported"),
        ]
    ):
        docs.append(report(org=org, report_id=f"r{i}", failure=2, details=[detail(rt, 1 + i % 2, mx=mx, ip=ip)]))
    with ReportStore(tmp_path / "s.sqlite3") as store:
        for doc in docs:
            _add(store, doc)
        got = store.summary("example.com")

        def sql(query: str) -> list[tuple]:
            return store.conn.execute(query).fetchall()

        where = "WHERE domain = 'example.com'"
        assert [(c.key, c.count) for c in got.by_result_type] == sql(
            f"SELECT result_type, SUM(count) AS n FROM failures {where} GROUP BY 1 ORDER BY n DESC, 1"
        )
        assert [(c.key, c.count) for c in got.by_mx] == [
            (k or "(not reported)", n)
            for k, n in sql(f"SELECT receiving_mx, SUM(count) AS n FROM failures {where} GROUP BY 1 ORDER BY n DESC, 1")
        ]
        assert [(s.organisation, s.sending_ip, s.count) for s in got.by_sender] == [
            (o, ip or "(not reported)", n)
            for o, ip, n in sql(
                f"SELECT organisation, sending_ip, SUM(count) AS n FROM failures {where}"
                " GROUP BY 1, 2 ORDER BY n DESC, 1, 2"
            )
        ]
        seen = sql(f"SELECT DISTINCT receiving_mx FROM failures {where} AND receiving_mx IS NOT NULL ORDER BY 1")
        assert got.mx_seen == [r[0] for r in seen]
        assert len(got.by_sender) == 7 and got.by_mx[0].key == "(not reported)"  # ties and NULLs were exercised
