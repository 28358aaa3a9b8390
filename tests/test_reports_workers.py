"""The import's worker processes: answers read in order by the asking process, deaths turned into WorkerLost."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizard.reports.workers import WorkerLost, Workers


def _square(n: int) -> int:
    return n * n


def _slow_square(n: int) -> int:
    time.sleep(0.002 * (n % 3))  # answers finish out of submission order across workers
    return n * n


def _fail(text: str) -> None:
    raise ValueError(text)


def _pid(_: object) -> int:
    return os.getpid()


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.fixture(params=["fork", "spawn"])
def context(request: pytest.FixtureRequest) -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context(request.param)


def test_answers_come_back_in_order_and_done_never_waits(context: multiprocessing.context.BaseContext) -> None:
    pool = Workers(2, context)
    try:
        jobs = [pool.submit(_slow_square, n) for n in range(40)]
        assert [job.result() for job in jobs] == [n * n for n in range(40)]
        assert all(job.done() for job in jobs)
        late = pool.submit(_sleep, 0.3)
        assert late.done() is False  # still sleeping in the worker: done() reads, it does not wait
        assert late.result() == 0.3
    finally:
        pool.shutdown()
    assert not any(w.process.is_alive() for w in pool._workers)


def test_an_exception_in_the_worker_is_raised_by_result() -> None:
    pool = Workers(1, multiprocessing.get_context("fork"))
    try:
        failing = pool.submit(_fail, "bad chunk")
        after = pool.submit(_square, 7)
        with pytest.raises(ValueError, match="bad chunk"):
            failing.result()
        assert after.result() == 49  # the worker lives on
    finally:
        pool.shutdown()


def test_a_killed_worker_fails_its_jobs_and_the_others_answer() -> None:
    pool = Workers(2, multiprocessing.get_context("fork"))
    try:
        first, second = pool.submit(_pid, None), pool.submit(_pid, None)
        assert len({first.result(), second.result()}) == 2  # the least busy worker gets each job
        victim = pool._workers[0]
        doomed = victim.submit(_sleep, 30)
        fine = pool._workers[1].submit(_square, 5)
        os.kill(victim.process.pid, signal.SIGKILL)
        with pytest.raises(WorkerLost):
            doomed.result()
        assert fine.result() == 25
    finally:
        started = time.monotonic()
        pool.shutdown()
    assert time.monotonic() - started < 5  # nothing waits on the dead worker


def test_shutdown_with_unread_work_does_not_wait_for_it() -> None:
    pool = Workers(1, multiprocessing.get_context("fork"))
    pool.submit(_sleep, 30)
    started = time.monotonic()
    pool.shutdown()
    assert time.monotonic() - started < 5
    assert not pool._workers[0].process.is_alive()


def test_workers_leave_when_the_process_that_started_them_is_gone(tmp_path: Path) -> None:
    """An importing process killed without a shutdown leaves no worker behind (each checks its parent)."""
    script = tmp_path / "orphan.py"
    script.write_text(
        "import multiprocessing, os, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from wizard.reports.workers import Workers\n"
        "pool = Workers(2, multiprocessing.get_context('fork'))\n"
        "print(' '.join(str(w.process.pid) for w in pool._workers), flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.05)
    assert not any(_running(pid) for pid in pids)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"  # a zombie has left; only its entry remains
    except FileNotFoundError:
        return False


def test_ctrl_c_is_left_to_the_importing_process() -> None:
    """A terminal's Ctrl-C reaches every process of the group; a worker ignores it (no traceback on
    the terminal) and the importing process, which gets KeyboardInterrupt, shuts it down."""
    pool = Workers(1, multiprocessing.get_context("fork"))
    try:
        assert pool.submit(_square, 2).result() == 4  # started and waiting for work
        os.kill(pool._workers[0].process.pid, signal.SIGINT)
        time.sleep(0.1)
        assert pool.submit(_square, 3).result() == 9
    finally:
        pool.shutdown()


def test_a_dead_worker_gets_no_more_work_and_with_none_left_jobs_fail_at_once() -> None:
    pool = Workers(2, multiprocessing.get_context("fork"))
    try:
        dead, alive = pool._workers
        assert {pool.submit(_pid, None).result() for _ in range(2)} <= {dead.process.pid, alive.process.pid}
        os.kill(dead.process.pid, signal.SIGKILL)
        dead.process.join(5)
        assert [pool.submit(_pid, None).result() for _ in range(6)] == [alive.process.pid] * 6
        os.kill(alive.process.pid, signal.SIGKILL)
        alive.process.join(5)
        with pytest.raises(WorkerLost, match="every worker"):
            pool.submit(_square, 2).result()
    finally:
        pool.shutdown()


class _Unreadable(Exception):
    """Pickles, but cannot be rebuilt in the process that reads it (its __init__ needs two arguments)."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(a)


def _raise_unreadable(_: object) -> None:
    raise _Unreadable("one", "two")


def test_an_unreadable_answer_fails_its_own_job_only() -> None:
    pool = Workers(1, multiprocessing.get_context("fork"))
    try:
        bad, good = pool.submit(_raise_unreadable, None), pool.submit(_square, 6)
        with pytest.raises(WorkerLost, match="unreadable answer"):
            bad.result()
        assert good.result() == 36  # answers still line up with their jobs
    finally:
        pool.shutdown()
