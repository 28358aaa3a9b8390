"""The report store: one SQLite file in the state dir, deduplicated, versioned, indexed by domain and day.

Reports are keyed by (organisation, report-id) (RFC 8460 §4: the id is unique per sender),
so importing the same mailbox twice changes nothing. Per-policy and per-failure rows carry
the domain and the UTC day they speak for, which is all the summary queries filter on.
The schema version lives in `PRAGMA user_version`; a newer file is refused, not damaged.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import orjson

from wizard.reports.keys import report_key
from wizard.reports.model import Report
from wizard.state.files import private_file

if TYPE_CHECKING:
    from wizard.reports.summary import Summary

STORE_FILENAME = "reports.sqlite3"
PAGE_SIZE = 16384
SCHEMA_VERSION = 3

_SCHEMA_V1 = """
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    organisation TEXT NOT NULL,
    report_id TEXT NOT NULL,
    contact_info TEXT NOT NULL,
    start_utc TEXT NOT NULL,
    end_utc TEXT NOT NULL,
    day TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (organisation, report_id)
);
CREATE TABLE policies (
    id INTEGER PRIMARY KEY,
    report INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    day TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    policy_string TEXT NOT NULL,
    mx_host TEXT NOT NULL,
    success INTEGER NOT NULL,
    failure INTEGER NOT NULL
);
CREATE TABLE failures (
    policy INTEGER NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    report INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    day TEXT NOT NULL,
    result_type TEXT NOT NULL,
    count INTEGER NOT NULL,
    sending_ip TEXT,
    receiving_mx TEXT,
    receiving_helo TEXT,
    receiving_ip TEXT,
    reason_code TEXT,
    additional_information TEXT
);
"""

#: The secondary indexes (name, table and columns). A large import drops them and builds them
#: once at its end (one sort instead of a B-tree update per row); a store found without them,
#: an import killed before its end, gets them back when next opened.
#: policies_domain_day also holds the counts, the report id and (schema 2) the organisation, so
#: the summary's per-day and per-organisation queries read the index alone (summary of 20,000
#: reports: 79 -> 40 ms); older files have it on (domain, day) only, which answers the same
#: queries more slowly.
SECONDARY_INDEXES: tuple[tuple[str, str], ...] = (
    ("policies_domain_day", "policies (domain, day, failure, success, report, organisation)"),
    ("failures_domain_day", "failures (domain, day)"),
)
#: Indexes older schemas built that no query uses any more: policies_report served the joins from
#: policies to reports that schema 2 made unneeded (reports are never deleted, so the foreign key
#: needs no child index either). Dropped by the schema-3 migration and by any bulk import.
OBSOLETE_INDEXES = ("policies_report",)
#: A bulk import defers the indexes only into a store holding at most this many reports, so the
#: rebuild at its end (~1 µs a row, existing rows included) stays cheaper than per-row upkeep.
DEFER_INDEXES_MAX_STORED = 20_000

_SCHEMA_V1 += "".join(
    f"CREATE INDEX {name} ON {target};\n"
    for name, target in (
        ("policies_domain_day", "policies (domain, day, failure, success, report)"),
        ("policies_report", "policies (report)"),
        ("failures_domain_day", "failures (domain, day)"),
    )
)

#: Schema 2, the compact one. Every policy row repeated its policy-string and mx-host JSON
#: (~200 bytes; a domain has a handful of distinct policies), so those texts move to `strings`
#: and policies keep their ids: the store shrinks by a third, which an import writes twice
#: (log, then checkpoint). Policy and failure rows also carry the report's organisation, so the
#: summary's per-organisation and per-sender breakdowns need no join with reports.
#: The old policies table is copied, not altered (a column changes type); run with foreign keys
#: off, as SQLite's own recipe for table changes says, and checked before the commit.
_SCHEMA_V2 = """
CREATE TABLE strings (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);
INSERT OR IGNORE INTO strings (text) SELECT policy_string FROM policies ORDER BY id;
INSERT OR IGNORE INTO strings (text) SELECT mx_host FROM policies ORDER BY id;
CREATE TABLE policies_v2 (
    id INTEGER PRIMARY KEY,
    report INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    organisation TEXT NOT NULL,
    domain TEXT NOT NULL,
    day TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    policy_domain TEXT NOT NULL,
    policy_string INTEGER NOT NULL REFERENCES strings(id),
    mx_host INTEGER NOT NULL REFERENCES strings(id),
    success INTEGER NOT NULL,
    failure INTEGER NOT NULL
);
INSERT INTO policies_v2
    SELECT p.id, p.report, r.organisation, p.domain, p.day, p.policy_type, p.policy_domain, s.id, m.id,
        p.success, p.failure
    FROM policies p
    JOIN reports r ON r.id = p.report
    JOIN strings s ON s.text = p.policy_string
    JOIN strings m ON m.text = p.mx_host
    ORDER BY p.id;
DROP TABLE policies;
ALTER TABLE policies_v2 RENAME TO policies;
ALTER TABLE failures ADD COLUMN organisation TEXT NOT NULL DEFAULT '';
UPDATE failures SET organisation = (SELECT organisation FROM reports WHERE reports.id = failures.report);
"""
_SCHEMA_V2 += "".join(f"CREATE INDEX IF NOT EXISTS {name} ON {target};\n" for name, target in SECONDARY_INDEXES)

#: Schema 3: deduplication on a 64-bit hash of (organisation, report-id) (`report_key`) instead of
#: a UNIQUE index over the two texts. Report ids arrive in no order, so every commit of an import
#: rewrote pages all over that ~70-byte-a-row index; the 8-byte key halves the cost of storing a
#: report row (20,000 rows, 1,000 a commit: 68 -> 44 ms). It stays exact: a report whose key is
#: taken by a different report (a hash collision, ~1e-8 at a million reports) is stored with no
#: key, and reports_unkeyed keeps those unique on the texts themselves.
_SCHEMA_V3 = """
CREATE TABLE reports_v3 (
    id INTEGER PRIMARY KEY,
    key INTEGER UNIQUE,
    organisation TEXT NOT NULL,
    report_id TEXT NOT NULL,
    contact_info TEXT NOT NULL,
    start_utc TEXT NOT NULL,
    end_utc TEXT NOT NULL,
    day TEXT NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
INSERT OR IGNORE INTO reports_v3
    SELECT id, report_key(organisation, report_id), organisation, report_id, contact_info, start_utc, end_utc, day,
        source, imported_at
    FROM reports ORDER BY id;
INSERT INTO reports_v3
    SELECT id, NULL, organisation, report_id, contact_info, start_utc, end_utc, day, source, imported_at
    FROM reports WHERE id NOT IN (SELECT id FROM reports_v3) ORDER BY id;
DROP TABLE reports;
ALTER TABLE reports_v3 RENAME TO reports;
CREATE UNIQUE INDEX reports_unkeyed ON reports (organisation, report_id) WHERE key IS NULL;
DROP INDEX IF EXISTS policies_report;
"""

#: version -> SQL that brings a store from version-1 to version. Only ever append.
_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3}


class StoreError(Exception):
    """The store cannot be opened or written; the message says what to do."""


def store_path(state_dir: Path | str) -> Path:
    """Where the store lives: `<state_dir>/reports.sqlite3`."""
    return Path(state_dir) / STORE_FILENAME


def report_domain(report: Report, index: int, hint: str | None) -> str:
    """The domain a policy result counts for.

    STS and no-policy-found results name the recipient domain in `policy-domain`. For TLSA the
    field is the TLSA base domain (the MX host, SPEC §7), so the report's own domain is taken
    from the transport (TLS-Report-Domain header, filename) or from a sibling STS result.
    """
    policy = report.policies[index]
    if policy.policy_type != "tlsa":
        return policy.policy_domain
    if hint:
        return hint
    others = {p.policy_domain for p in report.policies if p.policy_type != "tlsa"}
    return others.pop() if len(others) == 1 else policy.policy_domain


#: One failure-details row: result type, count, sending IP, receiving MX, HELO, receiving IP, reason, info.
FailureRow = tuple[str, int, str | None, str | None, str | None, str | None, str | None, str | None]
#: One policy row: domain, type, policy domain, policy-string JSON, mx-host JSON, successes, failures, details.
PolicyRow = tuple[str, str, str, str, str, int, int, tuple[FailureRow, ...]]
#: One report as plain tuples (cheap to pickle between processes): organisation, report-id, contact,
#: start, end, day, source, policies, report_key. Ids are given when stored.
ReportRows = tuple[str, str, str, str, str, str, str, tuple[PolicyRow, ...], int]


def report_rows(report: Report, source: str, hint: str | None) -> ReportRows:
    """A parsed report as the rows the store writes, without ids: pure, so any process can build them."""
    hint = hint.rstrip(".").lower() if hint else None
    day = report.day.isoformat()
    policies = tuple(
        (
            report_domain(report, index, hint),
            policy.policy_type,
            policy.policy_domain,
            json_list(policy.policy_string),
            json_list(policy.mx_host),
            policy.successful_sessions,
            policy.failed_sessions,
            tuple(
                (
                    d.result_type,
                    d.failed_session_count,
                    d.sending_mta_ip,
                    d.receiving_mx_hostname,
                    d.receiving_mx_helo,
                    d.receiving_ip,
                    d.failure_reason_code,
                    d.additional_information,
                )
                for d in policy.failure_details
            ),
        )
        for index, policy in enumerate(report.policies)
    )
    return (
        report.organisation,
        report.report_id,
        report.contact_info,
        iso(report.start),
        iso(report.end),
        day,
        source,
        policies,
        report_key(report.organisation, report.report_id),
    )


def json_list(values: tuple[str, ...]) -> str:
    """A JSON array of strings (orjson: about ten times json.dumps on these short lists)."""
    if not values:
        return "[]"
    try:
        return orjson.dumps(values).decode()
    except orjson.JSONEncodeError:  # a lone surrogate ("\\ud800"), which the stdlib encoder escapes
        return json.dumps(values)


#: add_table's statements; :first..:last are the batch's reports (seq) being stored, :shift and
#: :policy_shift move batch ids past the store's. A batch's texts come keyed by text_key; those
#: stored under another id (an older store's, or a hash collision) are moved to it (_move_strings).
_ADD_STRINGS = "INSERT OR IGNORE INTO strings (id, text) SELECT id, text FROM batch.s"
_MOVED_STRINGS = (
    "SELECT s.id, s.text FROM batch.s AS s LEFT JOIN strings AS t ON t.id = s.id WHERE t.text IS NOT s.text"
)
_INSERT_REPORTS = """
INSERT OR IGNORE INTO reports (id, key, organisation, report_id, contact_info, start_utc, end_utc, day, source,
    imported_at)
SELECT seq + :shift, key, organisation, report_id, contact_info, start_utc, end_utc, day, source, :now
FROM batch.r WHERE seq BETWEEN :first AND :last ORDER BY seq"""
_INSERT_POLICIES = """
INSERT INTO policies (id, report, organisation, domain, day, policy_type, policy_domain, policy_string, mx_host,
    success, failure)
SELECT p.id + :policy_shift, p.report + :shift, p.organisation, p.domain, p.day, p.policy_type, p.policy_domain,
    p.policy_string, p.mx_host, p.success, p.failure
FROM batch.p AS p WHERE p.report BETWEEN :first AND :last{kept} ORDER BY p.id"""
_INSERT_FAILURES = """
INSERT INTO failures (policy, report, domain, day, result_type, count, sending_ip, receiving_mx, receiving_helo,
    receiving_ip, reason_code, additional_information, organisation)
SELECT policy + :policy_shift, report + :shift, domain, day, result_type, count, sending_ip, receiving_mx,
    receiving_helo, receiving_ip, reason_code, additional_information, organisation
FROM batch.f WHERE report BETWEEN :first AND :last{kept} ORDER BY rowid"""
#: The filter when some reports of the batch were not new: only children of those stored now.
_KEPT = " AND report + :shift IN (SELECT id FROM reports WHERE id > :stored)"


class ReportStore:
    """The SQLite store of imported reports. Use as a context manager, or call close()."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            private_file(self.path)  # 0600 in a 0700 folder, not a symlink; SQLite gives -wal/-shm its mode
            self.conn = sqlite3.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the report store {self.path}: {exc}; check --state-dir") from None
        self._in_batch = False
        try:
            self.conn.execute("PRAGMA foreign_keys = ON")
            # 16 KiB pages for a new store (an existing file keeps its own): a bulk import writes
            # ~700 bytes a report, and fewer, larger pages cut its write cost by ~15%.
            self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.create_function("report_key", 2, report_key, deterministic=True)
            self._migrate()
            self._restore_indexes(wait=False)
            self.conn.execute("ATTACH ':memory:' AS batch")  # where add_table opens a batch file
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(
                f"{self.path} is not a usable report store ({exc}); move it aside and import again"
            ) from None

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer mta-sts-wizard (schema {version}); upgrade the program"
            )
        if version == SCHEMA_VERSION:
            return
        # A migration may copy a table others refer to: foreign keys stay off until it is
        # committed (the pragma is a no-op inside a transaction), and are checked before that.
        self.conn.execute("PRAGMA foreign_keys = OFF")
        try:
            for target in range(version + 1, SCHEMA_VERSION + 1):
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _MIGRATIONS[target].split(";\n"):
                        if statement.strip():
                            self.conn.execute(statement)
                    if self.conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                        raise sqlite3.DatabaseError(f"migration to schema {target} broke a reference")
                    self.conn.execute(f"PRAGMA user_version = {target}")
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
        finally:
            self.conn.execute("PRAGMA foreign_keys = ON")

    def missing_indexes(self) -> list[str]:
        """Secondary indexes that are not in the file (deferred by a running or interrupted import)."""
        present = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        return [name for name, _ in SECONDARY_INDEXES if name not in present]

    def _restore_indexes(self, *, wait: bool = True) -> bool:
        """Build any missing secondary index in one transaction; True when all are present after.

        Without `wait`, a store another process is writing (an import that will build them
        itself) is left alone rather than blocking this open for the busy timeout.
        """
        if not self.missing_indexes():
            return True
        if not wait:
            self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False  # locked by a writer
        finally:
            if not wait:
                self.conn.execute("PRAGMA busy_timeout = 5000")
        try:
            for name, target in SECONDARY_INDEXES:
                self.conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return True

    @contextmanager
    def deferred_indexes(self) -> Iterator[bool]:
        """Drop the secondary indexes for a bulk import and build them once when it ends.

        Yields whether they were deferred: only into a store holding at most
        DEFER_INDEXES_MAX_STORED reports (else per-row upkeep is cheaper than a rebuild).
        The drop is its own committed transaction and the rebuild runs on the way out, even
        after an error; a process killed in between leaves a store without them, which the
        next open rebuilds (missing_indexes). Queries stay correct meanwhile, only slower.
        Deduplication never depends on them: it uses the UNIQUE (organisation, report_id) key.
        """
        try:
            defer = not self._in_batch and self.report_count() <= DEFER_INDEXES_MAX_STORED
            if defer:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    for name in (*(name for name, _ in SECONDARY_INDEXES), *OBSOLETE_INDEXES):
                        self.conn.execute(f"DROP INDEX IF EXISTS {name}")
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the report store {self.path}: {exc}") from None
        if not defer:
            yield False
            return
        try:
            yield True
        except BaseException:
            with suppress(sqlite3.Error):  # the original error matters more; the next open rebuilds them
                self._restore_indexes()
            raise
        try:
            self._restore_indexes()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot index the report store {self.path}: {exc}; open it again to retry") from None

    def make_durable(self) -> tuple[int, int]:
        """Make every committed import durable now: a WAL checkpoint syncs the log first.

        In WAL mode with synchronous=NORMAL a commit is atomic but reaches the disk only at the
        next checkpoint; an import ends here so a power cut after "imported N" loses nothing.
        Returns (frames in the log, frames checkpointed). Costs what closing the store would.
        """
        try:
            _, log, done = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the report store {self.path}: {exc}") from None
        return int(log), int(done)

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> ReportStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction around many add() calls: imports run at thousands of reports a second."""
        if self._in_batch:
            yield
            return
        self.conn.execute("BEGIN")
        self._in_batch = True
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._in_batch = False

    def add(self, report: Report, *, source: str = "", domain_hint: str | None = None) -> bool:
        """Store a report; False when (organisation, report-id) is already stored (nothing changes)."""
        return self.add_many([(report, source, domain_hint)])[0]

    def add_many(self, items: Sequence[tuple[Report, str, str | None]]) -> list[bool]:
        """Store (report, source, domain hint) triples in one go; for each, whether it was new."""
        return self.add_rows([report_rows(report, source, hint) for report, source, hint in items])

    def add_rows(self, items: Sequence[ReportRows]) -> list[bool]:
        """Store reports already turned into rows by `report_rows`; for each, whether it was new."""
        from wizard.reports.batch import build_batch

        table, count = build_batch(items)
        return self.add_tables([(table, 1, count)])

    def add_tables(self, runs: Sequence[tuple[bytes, int, int]]) -> list[bool]:
        """Store reports `first`..`last` of each (batch file, first, last) (wizard.reports.batch), in
        one transaction; for each report, whether it was new. Rows are copied inside SQLite.

        Foreign keys are not checked row by row here (SQLite's pragma can only change outside a
        transaction, so a call inside an open batch() keeps them on): every reference is made
        consistent by construction (children of new reports only, texts stored first), and the
        tests run PRAGMA foreign_key_check after every kind of import. Checking cost ~15% of storing.
        """
        off = not self._in_batch
        try:
            if off:
                self.conn.execute("PRAGMA foreign_keys = OFF")
            try:
                with self.batch():
                    return [new for table, first, last in runs for new in self._add_table(table, first, last)]
            finally:
                if off:
                    self.conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the report store {self.path}: {exc}") from None

    def _add_table(self, table: bytes, first: int, last: int) -> list[bool]:
        """INSERT OR IGNORE against the UNIQUE report key, with the batch's ids shifted past the stored ones.

        Every report gets an id above the stored ones, so when the insert changed fewer rows
        than it was given (a report stored already, or repeated in the batch: the first one
        wins), the ids it kept are exactly those now above the old maximum, and only then are
        the others looked at and the policy and failure rows filtered. A plain import of new
        reports costs a handful of statements a batch, none per report.
        """
        conn = self.conn
        if last < first:
            return []
        conn.deserialize(table, name="batch")
        stored = conn.execute("SELECT COALESCE(MAX(id), 0) FROM reports").fetchone()[0]
        first_policy = conn.execute("SELECT MIN(id) FROM batch.p WHERE report >= ?", (first,)).fetchone()[0] or 1
        run = {
            "first": first,
            "last": last,
            "stored": stored,
            "shift": stored + 1 - first,
            "policy_shift": conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM policies").fetchone()[0] - first_policy,
            "now": iso(datetime.now(UTC)),
        }
        conn.execute(_ADD_STRINGS)
        moved = conn.execute(_MOVED_STRINGS).fetchall()
        if moved:
            self._move_strings(moved)
        inserted = conn.execute(_INSERT_REPORTS, run).rowcount
        count = last - first + 1
        if inserted == count:
            conn.execute(_INSERT_POLICIES.format(kept=""), run)
            conn.execute(_INSERT_FAILURES.format(kept=""), run)
            return [True] * count
        kept = {row[0] for row in conn.execute("SELECT id - :shift FROM reports WHERE id > :stored", run)}
        for row in conn.execute("SELECT * FROM batch.r WHERE seq BETWEEN :first AND :last", run).fetchall():
            if row[0] not in kept and self._store_unkeyed((row[0] + run["shift"], *row[1:], run["now"])):
                kept.add(row[0])
        conn.execute(_INSERT_POLICIES.format(kept=_KEPT), run)
        conn.execute(_INSERT_FAILURES.format(kept=_KEPT), run)
        return [seq in kept for seq in range(first, last + 1)]

    def _move_strings(self, moved: list[tuple[int, str]]) -> None:
        """Point the batch's policies at the stored id of each text not stored under its text_key:
        the id it already has (a store from before text keys), or a new one (its key was taken by
        another text: a 64-bit hash collision). Rare, so done text by text."""
        conn = self.conn
        for key, text in moved:
            found = conn.execute("SELECT id FROM strings WHERE text = ?", (text,)).fetchone()
            if found is None:
                found = (conn.execute("INSERT INTO strings (text) VALUES (?)", (text,)).lastrowid,)
            conn.execute("INSERT INTO batch.m (old, new) VALUES (?, ?)", (key, found[0]))
        conn.execute(
            "UPDATE batch.p SET policy_string = COALESCE((SELECT new FROM batch.m WHERE old = policy_string),"
            " policy_string), mx_host = COALESCE((SELECT new FROM batch.m WHERE old = mx_host), mx_host)"
        )

    def _store_unkeyed(self, row: tuple[object, ...]) -> bool:
        """A report whose key was taken: False when by the same (organisation, report-id) (a
        duplicate); else a hash collision, and it goes in without a key unless stored so already."""
        stored = self.conn.execute("SELECT organisation, report_id FROM reports WHERE key = ?", (row[1],)).fetchone()
        if stored is None or tuple(stored) == row[2:4]:
            return False
        return (
            self.conn.execute(
                "INSERT OR IGNORE INTO reports (id, key, organisation, report_id, contact_info, start_utc, end_utc,"
                " day, source, imported_at) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row[0], *row[2:]),
            ).rowcount
            == 1
        )

    def report_count(self, domain: str | None = None) -> int:
        """Reports stored (for one domain: reports with at least one policy result for it)."""
        if domain is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0])
        return int(
            self.conn.execute(
                "SELECT COUNT(DISTINCT report) FROM policies WHERE domain = ?", (_domain(domain),)
            ).fetchone()[0]
        )

    def domains(self) -> list[str]:
        """Every domain with stored results, for pickers."""
        return [row[0] for row in self.conn.execute("SELECT DISTINCT domain FROM policies ORDER BY domain")]

    def summary(
        self,
        domain: str,
        since: date | None = None,
        days: int | None = None,
        policy_patterns: list[str] | tuple[str, ...] | None = None,
        *,
        today: date | None = None,
    ) -> Summary:
        """The step-6 evidence for `domain`; see wizard.reports.summary.build_summary."""
        from wizard.reports.summary import build_summary

        return build_summary(
            self.conn, _domain(domain), since=since, days=days, policy_patterns=policy_patterns, today=today
        )


def _domain(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


_isos: dict[datetime, str] = {}


def iso(value: datetime) -> str:
    """UTC, whole seconds, `Z`: the stored form of every date-time (memoised: reports share a few)."""
    text = _isos.get(value)
    if text is None:
        text = value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
        if len(_isos) >= 4096:
            _isos.clear()
        _isos[value] = text
    return text
