"""The report store: one SQLite file in the state dir, deduplicated, versioned, indexed by domain and day.

Reports are unique on (organisation, report-id) (RFC 8460 §4: the id is unique per sender), so
importing the same mailbox twice changes nothing. Per-policy and per-failure rows carry the
domain, the UTC day and the organisation they speak for, which is all the summary queries
filter and group on. The schema version lives in `PRAGMA user_version`; a newer file is
refused, not damaged. Several programs may write at once (two imports, an import and the HTTPS
receiver): each write is one short `BEGIN IMMEDIATE` transaction, and a writer waits up to
BUSY_TIMEOUT seconds for another to finish.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType

from wizard.reports.model import Report
from wizard.reports.rows import ReportRows, iso, report_rows
from wizard.reports.summary import Summary, build_summary
from wizard.state.files import private_file

STORE_FILENAME = "reports.sqlite3"
SCHEMA_VERSION = 1
#: Seconds a write waits for another program's write to the same store before giving up.
BUSY_TIMEOUT = 60.0

#: Schema 1. policies_domain_day also holds the counts, the report id and the organisation, so the
#: summary's per-day and per-organisation queries read the index alone.
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
    organisation TEXT NOT NULL,
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
    organisation TEXT NOT NULL,
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
CREATE INDEX policies_domain_day ON policies (domain, day, failure, success, report, organisation);
CREATE INDEX failures_domain_day ON failures (domain, day);
"""

#: version -> SQL that brings a store from version-1 to version. Only ever append.
_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1}

_INSERT_REPORT = (
    "INSERT OR IGNORE INTO reports (organisation, report_id, contact_info, start_utc, end_utc, day, source,"
    " imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_POLICY = (
    "INSERT INTO policies (report, organisation, domain, day, policy_type, policy_domain, policy_string, mx_host,"
    " success, failure) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_FAILURE = (
    "INSERT INTO failures (policy, report, organisation, domain, day, result_type, count, sending_ip, receiving_mx,"
    " receiving_helo, receiving_ip, reason_code, additional_information) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class StoreError(Exception):
    """The store cannot be opened or written; the message says what to do."""


def store_path(state_dir: Path | str) -> Path:
    """Where the store lives: `<state_dir>/reports.sqlite3`."""
    return Path(state_dir) / STORE_FILENAME


def _code(exc: BaseException) -> int:
    """SQLite's primary result code of `exc` (0 when it has none)."""
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return _code(exc) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


class ReportStore:
    """The SQLite store of imported reports. Use as a context manager, or call close()."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            private_file(self.path)  # 0600 in a 0700 folder, not a symlink; SQLite gives -wal/-shm its mode
            self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc, f"cannot open the report store {self.path}: {exc}; check --state-dir") from None
        try:
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except StoreError:
            self.conn.close()
            raise
        except (OSError, sqlite3.Error) as exc:
            self.conn.close()
            raise self._error(
                exc, f"{self.path} is not a usable report store ({exc}); move it aside and import again"
            ) from None

    def _error(self, exc: BaseException, otherwise: str) -> StoreError:
        """The StoreError for `exc`: a full disk and a busy store are said as such, else `otherwise`."""
        if _disk_full(exc):
            return StoreError(
                f"the disk holding {self.path} is full; free some space and run the import again"
                " (reports stored before this are kept)"
            )
        if _code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return StoreError(
                f"the report store {self.path} stayed busy for {BUSY_TIMEOUT:.0f} s (another import or"
                " `reports serve` writing to it); try again when it is done"
            )
        return StoreError(otherwise)

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer mta-sts-wizard (schema {version}); upgrade the program"
            )
        if version == SCHEMA_VERSION:
            return
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                if self.conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                    continue  # another program migrated it while this one waited
                for statement in _MIGRATIONS[target].split(";\n"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {target}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, taken at its start (so a concurrent writer is waited for)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def make_durable(self) -> None:
        """Make every committed import durable now: a WAL checkpoint syncs the log first.

        In WAL mode with synchronous=NORMAL a commit is atomic but reaches the disk only at the
        next checkpoint; an import ends here so a power cut after "imported N" loses nothing.
        """
        try:
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc, f"cannot write the report store {self.path}: {exc}") from None

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

    def add(self, report: Report, *, source: str = "", domain_hint: str | None = None) -> bool:
        """Store a report; False when (organisation, report-id) is already stored (nothing changes)."""
        return self.add_many([(report, source, domain_hint)])[0]

    def add_many(self, items: Sequence[tuple[Report, str, str | None]]) -> list[bool]:
        """Store (report, source, domain hint) triples in one transaction; for each, whether it was new."""
        return self.add_rows([report_rows(report, source, hint) for report, source, hint in items])

    def add_rows(self, items: Sequence[ReportRows]) -> list[bool]:
        """Store reports built by `report_rows` in one transaction; for each, whether it was new.
        A report repeated in `items` is stored once: the first one wins."""
        conn = self.conn
        now = iso(datetime.now(UTC))
        added: list[bool] = []
        try:
            with self._transaction():
                for r in items:
                    cursor = conn.execute(_INSERT_REPORT, (*r[:7], now))
                    if cursor.rowcount != 1:
                        added.append(False)
                        continue
                    added.append(True)
                    report = cursor.lastrowid
                    for p in r.policies:
                        policy = conn.execute(
                            _INSERT_POLICY, (report, r.organisation, p.domain, r.day, *p[1:7])
                        ).lastrowid
                        if p.failures:
                            head = (policy, report, r.organisation, p.domain, r.day)
                            conn.executemany(_INSERT_FAILURE, [head + f for f in p.failures])
        except sqlite3.Error as exc:
            raise self._error(exc, f"cannot write the report store {self.path}: {exc}") from None
        return added

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
        return build_summary(
            self.conn, _domain(domain), since=since, days=days, policy_patterns=policy_patterns, today=today
        )


def _domain(domain: str) -> str:
    return domain.strip().rstrip(".").lower()
