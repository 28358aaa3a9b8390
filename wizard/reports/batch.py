"""A batch of parsed reports as one small SQLite file in memory, for the store to take in one go.

An import's worker processes parse reports into store rows; sending those back as Python
tuples cost the importing process as much as building them (unpickling ~45k small tuples per
20,000 reports, then a Python loop giving each row its id and string ids, then binding every
value again in executemany). Instead a worker writes the rows into an in-memory SQLite
database with the store's columns and sends its bytes (`Connection.serialize`): one bytes
object to pickle, and the importing process copies the rows with INSERT ... SELECT, inside
SQLite (ReportStore.add_table). Ids here are local (reports numbered 1.. in input order,
`seq`); the store shifts them past its own. Texts that repeat across policies (policy-string
and mx-host JSON) are listed once in `s`, under the id the store keeps them by (text_key: a
hash of the text, so no process needs to ask the store); the store checks each before use.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from wizard.reports.keys import text_key

if TYPE_CHECKING:
    from wizard.reports.store import ReportRows

#: The batch file: the store's columns without constraints or indexes (nothing is looked up here).
BATCH_SCHEMA = """
CREATE TABLE r (seq INTEGER PRIMARY KEY, key, organisation, report_id, contact_info, start_utc, end_utc, day, source);
CREATE TABLE s (id INTEGER PRIMARY KEY, text);
CREATE TABLE m (old INTEGER PRIMARY KEY, new);
CREATE TABLE p (id INTEGER PRIMARY KEY, report, organisation, domain, day, policy_type, policy_domain, policy_string,
    mx_host, success, failure);
CREATE TABLE f (policy, report, domain, day, result_type, count, sending_ip, receiving_mx, receiving_helo, receiving_ip,
    reason_code, additional_information, organisation);
"""

_local = threading.local()
#: A scratch database grown past this by one large batch is dropped after it, not emptied: DELETE
#: keeps the pages, and serialize() would send them with every later batch of the thread.
KEEP_SCRATCH_BYTES = 1024 * 1024


def _scratch() -> sqlite3.Connection:
    """This thread's in-memory batch database, emptied: made once, reused for every batch."""
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.execute("PRAGMA journal_mode = OFF")
        conn.executescript(BATCH_SCHEMA)
    else:
        for table in ("r", "s", "m", "p", "f"):
            conn.execute(f"DELETE FROM {table}")
    return conn


def build_batch(items: Iterable[ReportRows]) -> tuple[bytes, int]:
    """(the batch file's bytes, reports in it): `items` numbered 1.. in order, ready for add_table."""
    reports: list[tuple[object, ...]] = []
    policies: list[tuple[object, ...]] = []
    failures: list[tuple[object, ...]] = []
    strings: dict[str, int] = {}  # text -> its id in this batch
    owners: dict[int, str] = {}  # id -> its text
    add_report, add_policy, add_failure = reports.append, policies.append, failures.append
    policy_id = 0
    for seq, (org, report_id, contact, start, end, day, source, rows, key) in enumerate(items, 1):
        add_report((seq, key, org, report_id, contact, start, end, day, source))
        for domain, policy_type, policy_domain, policy_string, mx_host, success, failure, details in rows:
            policy_id += 1
            string_id = strings.get(policy_string)
            if string_id is None:
                string_id = _string_id(strings, owners, policy_string)
            mx_id = strings.get(mx_host)
            if mx_id is None:
                mx_id = _string_id(strings, owners, mx_host)
            add_policy(
                (policy_id, seq, org, domain, day, policy_type, policy_domain, string_id, mx_id, success, failure)
            )
            for detail in details:
                add_failure((policy_id, seq, domain, day, *detail, org))
    conn = _scratch()
    try:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", reports)
        conn.executemany("INSERT INTO s (id, text) VALUES (?, ?)", [(i, text) for text, i in strings.items()])
        conn.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", policies)
        conn.executemany("INSERT INTO f VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", failures)
        conn.execute("COMMIT")
        table = conn.serialize()
    except BaseException:
        _drop_scratch()  # never left mid-transaction for the next batch
        raise
    if len(table) > KEEP_SCRATCH_BYTES:
        _drop_scratch()
    return table, len(reports)


def _drop_scratch() -> None:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        conn.close()


def _string_id(strings: dict[str, int], owners: dict[int, str], text: str) -> int:
    """A new text's id in this batch: its text_key, or (another text of the batch has that key, a
    64-bit hash collision, which the store resolves anyway) the next key not taken here."""
    key = text_key(text)
    while key in owners:
        key = key + 1 if key < 2**63 - 1 else -(2**63)
    strings[text] = key
    owners[key] = text
    return key
