"""The failure details behind one row of step 6's failure tables: reason codes and additional-info URIs.

The Summary counts failures by result type, receiving MX, organisation and sending IP; a user who
selects one of those rows wants what the senders said about it (RFC 8460 §4.4: the
failure-reason-code and additional-information fields). Read here, next to
wizard.lifecycle.evidence's own query of the same table, so the reports package stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from wizard.reports.store import ReportStore, store_path
from wizard.reports.summary import NOT_REPORTED

#: Breakdown kind -> the failures column it groups by.
_COLUMNS = {"result": "result_type", "mx": "receiving_mx", "org": "organisation", "ip": "sending_ip"}
#: At most this many distinct detail rows are shown for one selection (biggest first).
MAX_ROWS = 50


@dataclass(frozen=True)
class DetailRow:
    """Failed sessions sharing a result type, receiving MX, reason code and additional information."""

    result_type: str
    receiving_mx: str
    reason_code: str
    additional_information: str
    count: int
    first: date
    last: date


def failure_details(store: ReportStore, domain: str, kind: str, key: str, since: date | None = None) -> list[DetailRow]:
    """The failures of one breakdown row (`kind` one of result, mx, org, ip), biggest first."""
    column = _COLUMNS[kind]
    sql = (
        "SELECT result_type, COALESCE(receiving_mx, ''), COALESCE(reason_code, ''), "
        "COALESCE(additional_information, ''), SUM(count), MIN(day), MAX(day) FROM failures WHERE domain = ?"
    )
    params: list[str] = [domain.strip().rstrip(".").lower()]
    if key == NOT_REPORTED:
        sql += f" AND ({column} IS NULL OR {column} = '')"
    else:
        sql += f" AND {column} = ?"
        params.append(key)
    if since is not None:
        sql += " AND day >= ?"
        params.append(since.isoformat())
    sql += f" GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, 1, 2, 3, 4 LIMIT {MAX_ROWS}"
    return [
        DetailRow(rt, mx.rstrip(".").lower(), code, info, int(n), date.fromisoformat(lo), date.fromisoformat(hi))
        for rt, mx, code, info, n, lo, hi in store.conn.execute(sql, params)
    ]


def load_failure_details(
    state_dir: Path | str, domain: str, kind: str, key: str, since: date | None = None
) -> list[DetailRow]:
    """The same from the store in a state dir (none when nothing was imported); raises StoreError."""
    path = store_path(state_dir)
    if not path.exists():
        return []
    with ReportStore(path) as store:
        return failure_details(store, domain, kind, key, since)
