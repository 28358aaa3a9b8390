"""Worker processes for an import, with no thread reading their answers: the importing process reads
each answer itself, when it wants it, in the order it asked.

concurrent.futures' process pool runs a manager thread that reads every result as it arrives and
a feeder thread per queue; both take the GIL from the importing process's own parsing (measured:
its chunks parsed ~15% slower than with no pool). Here a worker's answers wait in its result pipe
(widened where the OS allows, so a worker rarely waits on a busy reader) until `Job.result()` or
`Job.done()` reads them. Only sending stays on a thread: a send may block while the worker is
busy, and the reader must never wait on a blocked sender.

A worker that dies (killed, out of memory) fails its jobs with WorkerLost; the caller decides
what to do (the import parses those chunks itself). Workers leave when asked, or when the
process that started them is gone.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import signal
import threading
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any

#: Result pipes are widened to this (Linux F_SETPIPE_SZ; the system cap allows 1 MB by default),
#: so several chunks' answers fit while the importing process is busy storing or parsing.
PIPE_BYTES = 1024 * 1024
#: How often an idle worker checks that the process that started it is still there, in seconds.
ORPHAN_CHECK = 1.0
#: How long shutdown waits for a worker to leave before it is terminated, in seconds.
LEAVE_WAIT = 5.0

_STOP = b""


class WorkerLost(Exception):
    """The worker that had this job died before answering it."""


class Job:
    """A call sent to a worker; its answer is read when asked for."""

    __slots__ = ("_error", "_outcome", "_worker")

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self._outcome: Any = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        """Whether the answer is in (reading what has arrived, never waiting)."""
        if self._worker is not None:
            self._worker.drain(wait=False)
        return self._worker is None

    def result(self) -> Any:
        """The answer, waiting for it; raises WorkerLost, or what the call raised in the worker."""
        while self._worker is not None:
            self._worker.drain(wait=True)
        if self._error is not None:
            raise self._error
        return self._outcome

    def _settle(self, outcome: Any, error: BaseException | None) -> None:
        self._worker = None  # type: ignore[assignment]
        self._outcome, self._error = outcome, error


class _Worker:
    def __init__(self, context: BaseContext) -> None:
        task_reader, self.tasks = context.Pipe(duplex=False)
        self.results, result_writer = context.Pipe(duplex=False)
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(task_reader, result_writer, os.getpid()), daemon=True
        )
        self.process.start()
        task_reader.close()  # the worker holds these ends now: a dead worker reads as EOF here
        result_writer.close()
        _widen(self.results)
        self.sender: _Sender | None = None
        self.waiting: deque[Job] = deque()
        #: Its result pipe ended (the process died): it gets no more work.
        self.lost = False

    def submit(self, fn: Callable[[Any], Any], payload: Any) -> Job:
        job = Job(self)
        self.waiting.append(job)
        assert self.sender is not None
        self.sender.send(self.tasks, pickle.dumps((fn, payload), protocol=pickle.HIGHEST_PROTOCOL))
        return job

    def drain(self, *, wait: bool) -> None:
        """Read answers that have arrived (with `wait`, at least one) and settle their jobs in order."""
        try:
            while self.waiting and (wait or self.results.poll()):
                message = self.results.recv_bytes()
                job = self.waiting.popleft()  # this answer is this job's, whatever it holds
                try:
                    ok, value = pickle.loads(message)
                except Exception as exc:  # e.g. an exception class that cannot be rebuilt here
                    job._settle(None, WorkerLost(f"worker {self.process.pid} sent an unreadable answer: {exc}"))
                else:
                    job._settle(value if ok else None, None if ok else value)
                wait = False
        except (EOFError, OSError):
            self.lost = True
            while self.waiting:
                self.waiting.popleft()._settle(None, WorkerLost(f"worker {self.process.pid} died"))

    def close(self) -> None:
        for conn in (self.tasks, self.results):
            conn.close()


class _Sender:
    """One thread that writes tasks to workers' pipes, so a full pipe never blocks the reader."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[tuple[Connection, bytes] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="import-task-sender", daemon=True)
        self.thread.start()

    def send(self, conn: Connection, message: bytes) -> None:
        self.queue.put((conn, message))

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            conn, message = item
            with suppress(OSError):  # the worker is gone: its result pipe reads as EOF, its jobs fail
                conn.send_bytes(message)

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join()


class Workers:
    """`count` worker processes started with `context`; submit() goes to the least busy one."""

    def __init__(self, count: int, context: BaseContext) -> None:
        self._workers = [_Worker(context) for _ in range(count)]
        self._sender = _Sender()  # started after the forks: a child never inherits its thread's state
        for worker in self._workers:
            worker.sender = self._sender

    def submit(self, fn: Callable[[Any], Any], payload: Any) -> Job:
        """Call fn(payload) in the least busy live worker; fn must be importable by name (it is
        pickled by reference). With every worker dead, the job fails at once with WorkerLost."""
        live = [w for w in self._workers if not w.lost and w.process.is_alive()]
        if not live:
            job = Job(self._workers[0])
            job._settle(None, WorkerLost("every worker process has died"))
            return job
        return min(live, key=lambda w: len(w.waiting)).submit(fn, payload)

    def shutdown(self) -> None:
        """Ask every worker to leave once its work is done and wait for it; a worker still busy after
        LEAVE_WAIT, or whose answers nobody will read, is terminated."""
        for worker in self._workers:
            if worker.waiting:
                worker.process.terminate()  # unfinished work nobody will read: do not wait for it
            else:
                self._sender.send(worker.tasks, _STOP)
        self._sender.stop()
        for worker in self._workers:
            worker.process.join(LEAVE_WAIT)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.close()


def _widen(conn: Connection) -> None:
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):
        pass  # not Linux, or over the system's cap: the default size works, a little slower


def _worker_main(tasks: Connection, results: Connection, parent: int) -> None:
    """A worker: answer (ok, value) to each task in order until told to stop or orphaned.

    It runs with the cyclic collector off: a parsed chunk's objects die by reference count
    (parsed JSON holds no cycles), so collections would only rescan live chunk data. Ctrl-C in
    the terminal reaches it too; it leaves that to the importing process, which stops it.
    """
    gc.disable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importing process's to handle: it ends us
    while True:
        if not tasks.poll(ORPHAN_CHECK):
            if os.getppid() != parent:
                return
            continue
        try:
            message = tasks.recv_bytes()
        except (EOFError, OSError):
            return
        if message == _STOP:
            return
        fn, payload = pickle.loads(message)
        try:
            answer: tuple[bool, Any] = (True, fn(payload))
        except Exception as exc:  # the caller re-raises it from Job.result()
            answer = (False, exc)
        try:
            results.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
        except (OSError, pickle.PicklingError):
            return
