"""The one thread that writes the report store for `reports serve`.

SQLite work blocks, so it never runs on the event loop: every received body goes to a single
thread (one writer at a time, the store's own connection lives there), which parses it, stores
it in one transaction and makes it durable before the request is answered. A sender deletes a
report once it gets a 2xx, so "stored" must survive a power cut, not only a crash.

A request cancelled while its body is being stored (a forced shutdown) does not stop that store:
it completes or rolls back as one transaction, and the sender, left without an answer, sends
again and is told "already stored".
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wizard.reports.model import ReportRejected
from wizard.reports.parse import parse_rows
from wizard.reports.store import ReportStore

Status = Literal["stored", "duplicate", "rejected"]


@dataclass(frozen=True, slots=True)
class Received:
    """What became of one body: stored, already stored, or rejected with a one-line reason."""

    status: Status
    org: str = ""
    report_id: str = ""
    reason: str = ""


def _store_body(store: ReportStore, data: bytes, source: str) -> Received:
    """Parse one report body (JSON or gzip) and store it the way `reports import` stores a file:
    the same bounds (gzip bomb, size, nesting), validation and deduplication on (org, report-id).

    The adapter to today's parse + store API; swap it for the reports package's one-body function.
    Raises StoreError when the store cannot be written; a body that is no report is a Received.
    """
    try:
        rows = parse_rows(data, source, None)
    except ReportRejected as exc:
        return Received("rejected", reason=str(exc))
    new = store.add_rows([rows])[0]
    return Received("stored" if new else "duplicate", org=rows[0], report_id=rows[1])


class StoreWriter:
    """Opens the store on its own thread and stores bodies there, one at a time, in arrival order.

    Raises StoreError from the constructor when the store cannot be opened (before anything
    listens), and from `store` when it cannot be written.
    """

    def __init__(self, path: Path) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-store")
        self._store: ReportStore | None = None
        try:
            self._pool.submit(self._open, path).result()
        except BaseException:
            self._pool.shutdown(wait=True)
            raise

    def _open(self, path: Path) -> None:
        self._store = ReportStore(path)

    def _store_one(self, data: bytes, source: str) -> Received:
        assert self._store is not None, "the writer is closed"
        received = _store_body(self._store, data, source)
        if received.status == "stored":
            self._store.make_durable()
        return received

    async def store(self, data: bytes, source: str) -> Received:
        """Store one body on the writer thread; the event loop keeps serving meanwhile."""
        return await asyncio.wrap_future(self._pool.submit(self._store_one, data, source))

    def close(self) -> None:
        """Finish every body already handed over, then close the store (idempotent)."""
        if self._store is not None:
            self._pool.submit(self._close).result()
        self._pool.shutdown(wait=True)

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
