"""Parse report candidates in chunks, in worker processes when an import is large, results in input order.

An import spends most of its time parsing and validating (CPU-bound Python), so a large one
hands chunks to `workers` processes (wizard.reports.workers: no thread in this process reads
their answers, so none takes the GIL from its own parsing), which return each chunk's reports
as one batch file (wizard.reports.batch: one bytes object to send, which the store copies from
inside SQLite); the calling process keeps listing files, storing, and parsing in between.
Small imports (under `parallel_after` candidates) never start a process. Results always come
back in input order, so duplicates, rejections and progress are exactly those of a serial run.

Memory stays bounded whatever the input: a chunk holds at most CHUNK_BYTES of report data,
at most MAX_IN_FLIGHT chunks are in flight (waiting, parsing, or parsed and waiting for their
turn), and a report bigger than BIG_REPORT is parsed in this process rather than copied to a worker.
This process parses too, whenever the workers have enough waiting (STEAL_AFTER).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Protocol

from wizard.reports.batch import build_batch
from wizard.reports.model import ReportRejected
from wizard.reports.parse import GZIP_MAGIC, parse_rows
from wizard.reports.store import ReportRows
from wizard.reports.workers import Job, Workers

#: Candidates per chunk, and report bytes per chunk.
CHUNK_SIZE = 250
CHUNK_BYTES = 2 * 1024 * 1024
#: Reports larger than this are parsed in the calling process (never copied to a worker).
BIG_REPORT = 1024 * 1024
#: Candidates an import must reach before worker processes are worth starting: the first full
#: chunk goes to them (forking costs well under a chunk's ~5 ms of parsing), so an import smaller
#: than one chunk never starts a process, and a larger one has every core parsing from the start.
PARALLEL_AFTER = 250
#: Chunks in flight per worker process: enough that workers keep parsing while this process
#: stores a commit's worth of reports (at 2, they ran dry and a core idled; 12 measured no better).
IN_FLIGHT_PER_WORKER = 8
#: Chunks in flight at most, however many workers: 16 chunks of at most CHUNK_BYTES is 32 MB.
MAX_IN_FLIGHT = 16
#: This process parses a chunk itself whenever the workers already have this many each waiting or
#: in progress: a chunk parsed here is never sent twice, and the store's process would otherwise
#: sit waiting on results (2 cores, 20,000 reports: one worker plus this process beats two
#: workers; 3 and 5 measure the same as 4, 6 is 10% slower).
STEAL_AFTER = 4

#: A parsed chunk: its batch file (b"" when no report parsed) and, per candidate parsed, None
#: (the next report in the batch), the one-line reason it gave none, or NOT_PLAIN.
Batch = tuple[bytes, list[str | None]]
#: The entry of a lazily listed file that is not a plain report file (the caller expands it).
NOT_PLAIN = ""
#: First read of a lazily listed file: a report is a few KB, so one read usually gets all of it.
FIRST_READ = 64 * 1024
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


class Parsed:
    """Reports `first`..`last` of a batch file, in input order, and the inputs among them that gave none."""

    __slots__ = ("first", "last", "rejected", "table")

    def __init__(self, table: bytes, first: int) -> None:
        self.table = table
        self.first = first
        self.last = first - 1
        #: (source, one-line reason) of each input that gave no report, in input order.
        self.rejected: list[tuple[str, str]] = []

    @property
    def reports(self) -> int:
        return self.last - self.first + 1

    @property
    def inputs(self) -> int:
        """Candidates this stands for: its reports and its rejections."""
        return self.reports + len(self.rejected)


class CandidateLike(Protocol):
    """A report's bytes (`data`), a file to read (`path`), or why there is none (`reason`)."""

    @property
    def source(self) -> str: ...
    @property
    def data(self) -> bytes | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def domain_hint(self) -> str | None: ...
    @property
    def path(self) -> str | None: ...


def read_small(path: str) -> bytes | None:
    """A plain report file's bytes in one open + read + close, or None when it is anything else
    (bigger than FIRST_READ, not gzip or JSON: an email, a mailbox) or cannot be read."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
        try:
            data = os.read(fd, FIRST_READ)
        finally:
            os.close(fd)
    except OSError:
        return None  # the caller reads it again and words the reason
    if len(data) >= FIRST_READ:
        return None
    if data[:2] == GZIP_MAGIC or data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return data
    return None


def parse_batch(items: list[tuple[str, bytes | None, str | None, str | None]]) -> Batch:
    """Parse (source, bytes, domain hint, path to read) items into one batch file; in a worker or here."""
    rows: list[ReportRows] = []
    entries: list[str | None] = []
    for source, data, hint, path in items:
        if data is None and path is not None:
            data = read_small(path)
            if data is None:
                entries.append(NOT_PLAIN)  # not a plain report file: expanded by the caller
                continue
        try:
            rows.append(parse_rows(data, source, hint, path))  # type: ignore[arg-type]
            entries.append(None)
        except ReportRejected as exc:
            entries.append(str(exc))
    return (build_batch(rows)[0] if rows else b""), entries


def parse_paths(paths: str) -> Batch:
    """parse_batch of listed files given as their paths joined by NUL (one string to send, not 4-tuples)."""
    return parse_batch([(path, None, None, path) for path in paths.split("\0")])


def default_workers() -> int:
    """Worker processes for a large import: one per core but the one this process parses and stores on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores - 1 if cores > 1 else 0


def _pool(workers: int) -> Workers:
    # fork is cheap and safe while this process has one thread (the CLI); with threads (a UI),
    # forking could copy a held lock, so start fresh interpreters instead.
    method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return Workers(workers, multiprocessing.get_context(method))


class _Chunk:
    """Candidates in input order; those with bytes are parsed together (in a worker or here).

    `plain` while every candidate is a listed file and nothing else (the bulk of a folder
    import): the chunk then travels as its paths in one string and, when all of them parse,
    comes back as one Parsed without a pass over its candidates.
    """

    __slots__ = ("candidates", "future", "local", "plain", "size")

    def __init__(self, candidates: list[CandidateLike] | None = None) -> None:
        self.candidates: list[CandidateLike] = candidates or []
        self.plain = not candidates
        self.size = 0
        self.future: Job | None = None
        self.local: Batch | None = None

    def add(self, cand: CandidateLike) -> None:
        self.candidates.append(cand)
        if cand.data is not None:
            self.size += len(cand.data)
            self.plain = False
        elif self.plain and (cand.path is None or cand.source is not cand.path or cand.domain_hint is not None):
            self.plain = False

    def items(self) -> list[tuple[str, bytes | None, str | None, str | None]]:
        return [(c.source, c.data, c.domain_hint, c.path) for c in self.candidates if _parsable(c)]

    def submit(self, pool: Workers) -> None:
        if self.plain:
            self.future = pool.submit(parse_paths, "\0".join([c.path for c in self.candidates]))  # type: ignore[misc]
        else:
            self.future = pool.submit(parse_batch, self.items())

    def parse_here(self) -> _Chunk:
        enabled = gc.isenabled()
        gc.disable()  # as in a worker (workers._worker_main): parsed JSON holds no cycles to collect
        try:
            self.local = parse_batch(self.items())
        finally:
            if enabled:
                gc.enable()
        return self

    def results(
        self, expand: Callable[[str], Iterable[CandidateLike]] | None = None, size: int = CHUNK_SIZE
    ) -> Iterator[Parsed]:
        """The chunk's reports and rejections in input order: one Parsed, or more where a listed
        file turned out to be an email or mailbox (`expand`ed and parsed here, in its place)."""
        batch: Batch | None = self.local
        if batch is None and self.future is not None:
            try:
                batch = self.future.result()
            except Exception:  # a worker died (killed, out of memory): parse this chunk here instead
                batch = None
        if batch is None:
            batch = self.parse_here().local
        assert batch is not None
        table, entries = batch
        run = Parsed(table, 1)
        if self.plain and entries.count(None) == len(entries) == len(self.candidates):
            run.last = len(entries)  # every file parsed: one run, nothing to look at one by one
            yield run
            return
        done = iter(entries)
        for c in self.candidates:
            entry = next(done) if _parsable(c) else c.reason or "no report found"
            if entry is None:
                run.last += 1
            elif entry != NOT_PLAIN:
                run.rejected.append((c.source, entry))
            elif c.path is None or expand is None:
                run.rejected.append((c.source, "no report found"))
            else:
                if run.inputs:
                    yield run
                yield from _parse_here(expand(c.path), size)
                run = Parsed(table, run.last + 1)
        if run.inputs:
            yield run


def _parsable(c: CandidateLike) -> bool:
    return c.data is not None or c.path is not None


def _parse_here(candidates: Iterable[CandidateLike], size: int) -> Iterator[Parsed]:
    """Candidates parsed in this process, in order, `size` at a time (an email or mailbox found in
    a file listing); they hold their bytes, so none needs expanding."""
    found = iter(candidates)
    while chunk := list(islice(found, size)):
        yield from _Chunk(chunk).parse_here().results()


def resolved(
    candidates: Iterable[CandidateLike],
    *,
    workers: int | None = None,
    parallel_after: int = PARALLEL_AFTER,
    expand: Callable[[str], Iterable[CandidateLike]] | None = None,
    most: int | None = None,
) -> Iterator[Parsed]:
    """Every candidate's report or reason, in input order, a chunk at a time; parsing moves to
    `workers` processes past `parallel_after` candidates.

    A lazily listed file (Candidate.path) is read where it is parsed; one that is not a plain
    report file is handed to `expand` here and its candidates parsed in this process. Each
    Parsed stands for at most CHUNK_SIZE candidates, or `most` if fewer.
    """
    workers = default_workers() if workers is None else workers
    size = CHUNK_SIZE if most is None else max(1, min(CHUNK_SIZE, most))
    pool: Workers | None = None
    in_flight: deque[_Chunk] = deque()
    chunk = _Chunk()
    seen = 0
    depth = min(IN_FLIGHT_PER_WORKER * max(workers, 1), MAX_IN_FLIGHT)
    try:
        for cand in candidates:
            seen += 1
            if cand.data is not None and len(cand.data) > BIG_REPORT:
                if chunk.candidates:
                    in_flight.append(_submit(chunk, pool))
                in_flight.append(_Chunk([cand]).parse_here())  # parsed here: never pickled to a worker
                chunk = _Chunk()
            else:
                chunk.add(cand)
                if len(chunk.candidates) >= size or chunk.size >= CHUNK_BYTES:
                    if pool is None and workers > 0 and seen >= parallel_after:
                        pool = _pool(workers)
                    if pool is not None and _busy(in_flight) >= STEAL_AFTER * workers:
                        in_flight.append(chunk.parse_here())  # the workers have enough queued: parse here
                    else:
                        in_flight.append(_submit(chunk, pool))
                    chunk = _Chunk()
            while in_flight and (len(in_flight) > depth or in_flight[0].local is not None):
                yield from in_flight.popleft().results(expand, size)
        if chunk.candidates:
            in_flight.append(_submit(chunk, pool))
        while in_flight:
            yield from in_flight.popleft().results(expand, size)
    finally:
        if pool is not None:
            pool.shutdown()


def _busy(in_flight: deque[_Chunk]) -> int:
    """Chunks sent to workers and not answered yet."""
    return sum(1 for c in in_flight if c.future is not None and not c.future.done())


def _submit(chunk: _Chunk, pool: Workers | None) -> _Chunk:
    if pool is None:
        return chunk.parse_here()
    chunk.submit(pool)
    return chunk
