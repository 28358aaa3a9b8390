"""SIGKILL a process in the middle of saves, again and again: the files always stay readable.

A forked child opens the domain (taking the lock like a real wizard) and saves as fast as it
can, each version internally consistent; the parent kills it at a random moment and then reads
the file and its backup strictly (no fallback): each must be one complete version, never a mix,
and versions only move forward.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from wizard.state import DomainState, StateStore, set_step

DOMAIN = "crash.example"
ROUNDS = 200
TIME_BUDGET = 15.0  # seconds; the loop stops early rather than run long


def write_version(state: DomainState, n: int) -> None:
    """Version n: several fields all derived from n, so a mixed file would be caught."""
    state.notes = f"version {n}\n" + ("x" * 64 + "\n") * 200
    state.rua = [f"mailto:tlsrpt+{n}@crash.example"]
    state.hosting_options = {"version": str(n)}
    set_step(state, 1 + n % 6, "verified" if n % 2 else "waiting", detail=f"v{n}")


def version_of(path: Path) -> int:
    """Parse one file strictly and return its version; fail the test on any inconsistency."""
    data = json.loads(path.read_bytes().decode("utf-8"))
    state = DomainState.from_json(data)
    n = int(state.hosting_options["version"])
    assert state.notes.startswith(f"version {n}\n") and len(state.notes) == len(f"version {n}\n") + 65 * 200
    assert state.rua == [f"mailto:tlsrpt+{n}@crash.example"]
    assert state.steps[1 + n % 6].detail == f"v{n}"
    return n


def child_saves_forever(store: StateStore, ready_fd: int) -> None:
    """Runs in the forked child; never returns."""
    try:
        session = store.open(DOMAIN)
        assert not session.read_only
        n = int(session.state.hosting_options.get("version", "0"))
        os.write(ready_fd, b"r")
        deadline = time.monotonic() + 10  # bounded even if the parent never kills us
        while time.monotonic() < deadline:
            n += 1
            write_version(session.state, n)
            session.save()
    finally:
        os._exit(0)


@pytest.mark.skipif(sys.platform != "linux", reason="fork + SIGKILL semantics checked on Linux")
def test_sigkill_during_saves_always_leaves_old_or_new_version(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    with store.open(DOMAIN) as session:
        write_version(session.state, 0)
        session.save()
    main, backup = store.path_for(DOMAIN), store.backup_for(DOMAIN)
    rng = random.Random(8461)
    last_seen = 0
    rounds = killed_mid_write = 0
    started = time.monotonic()
    while rounds < ROUNDS and time.monotonic() - started < TIME_BUDGET:
        rounds += 1
        read_fd, ready_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            child_saves_forever(store, ready_fd)
        os.close(ready_fd)
        try:
            ready, _, _ = select.select([read_fd], [], [], 10.0)
            assert ready and os.read(read_fd, 1) == b"r", "the child could not open the domain for writing"
            time.sleep(rng.uniform(0, 0.006))
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_fd)
        if list(main.parent.glob(".crash.example.json*.tmp-*")):
            killed_mid_write += 1
        current = version_of(main)
        assert current >= last_seen, "the file went back to an older version"
        if backup.exists():
            assert version_of(backup) <= current
        result = store.read(DOMAIN)
        assert result.source == "file" and result.messages == []
        last_seen = current
    assert rounds >= 50, f"only {rounds} rounds fitted in the time budget"
    assert last_seen > 0, "the children never managed to save"
    # Evidence that kills landed inside a save (a temp file was left), not only between saves.
    assert killed_mid_write > 0
    with store.open(DOMAIN) as session:  # the next real run cleans up and carries on
        assert not list(main.parent.glob(".crash.example.json*.tmp-*"))
        assert int(session.state.hosting_options["version"]) == last_seen
