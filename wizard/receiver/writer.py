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
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wizard.reports.ingest import store_report_bytes
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
    """Store one report body (JSON or gzip) exactly as `reports import` stores a file
    (wizard.reports.ingest.store_report_bytes: the same bounds, validation and deduplication).
    Raises StoreError when the store cannot be written; a body that is no report is a Received.
    """
    outcome = store_report_bytes(store, data, source)
    return Received(outcome.status, outcome.organisation, outcome.report_id, outcome.reason or "")


#: Bodies stored between two syncs at most: a burst of senders shares one sync (group commit),
#: and the first of them waits for no more than this many stores.
GROUP_MOST = 64

_Job = tuple[bytes, str, "Future[Received]"]


class StoreWriter:
    """Opens the store on its own thread and stores bodies there, one at a time, in arrival order.

    Each body is its own transaction (nothing half-stored, whatever stops the process); the bodies
    that arrived together are made durable with one sync (`make_durable`, a WAL checkpoint),
    and only then answered: one sync a report cost 8x the throughput (100 vs 800 reports/s with 50
    senders, serve_bench.py). Raises StoreError from the constructor when the store cannot be
    opened (before anything listens), and from `store` when it cannot be written.
    """

    def __init__(self, path: Path) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        opened: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(path, opened), name="report-store")
        self._thread.start()
        try:
            opened.result()
        except BaseException:
            self._thread.join()
            raise
        self._closed = False

    def _run(self, path: Path, opened: Future[None]) -> None:
        try:
            store = ReportStore(path)
        except BaseException as exc:
            opened.set_exception(exc)
            return
        opened.set_result(None)
        try:
            closing = False
            while not closing:
                job = self._jobs.get()
                group: list[_Job] = []
                while True:  # this job and those queued behind it, up to GROUP_MOST
                    if job is None:
                        closing = True
                        break
                    group.append(job)
                    if len(group) >= GROUP_MOST:
                        break
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                if group:
                    self._store_group(store, group)
            while True:  # handed over after close(): refused, never left waiting
                try:
                    late = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if late is not None and late[2].set_running_or_notify_cancel():
                    late[2].set_exception(RuntimeError("the server is shutting down"))
        finally:
            store.close()

    @staticmethod
    def _store_group(store: ReportStore, group: list[_Job]) -> None:
        answers: list[tuple[Future[Received], Received]] = []
        for data, source, future in group:
            if not future.set_running_or_notify_cancel():
                continue  # its request was cancelled before its turn: nothing stored, nobody waits
            try:
                answers.append((future, _store_body(store, data, source)))
            except BaseException as exc:
                future.set_exception(exc)
        try:
            if any(received.status == "stored" for _, received in answers):
                store.make_durable()
        except BaseException as exc:
            for future, _ in answers:
                future.set_exception(exc)
            return
        for future, received in answers:
            future.set_result(received)

    async def store(self, data: bytes, source: str) -> Received:
        """Store one body on the writer thread; the event loop keeps serving meanwhile.

        Raises RuntimeError once the writer is closed (the server is shutting down)."""
        if self._closed:
            raise RuntimeError("the server is shutting down")
        future: Future[Received] = Future()
        self._jobs.put((data, source, future))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Finish every body already handed over, then close the store (idempotent)."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
        self._thread.join()
