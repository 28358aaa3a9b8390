"""Two wizards on one domain: the second is read-only and told who holds it; no update is lost."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wizard.state import ReadOnlyError, StateStore, first_unverified_step, set_step

DOMAIN = "example.com"

WINDOW = textwrap.dedent(
    """
    import sys
    from wizard.state import StateStore, set_step
    session = StateStore(sys.argv[1]).open("example.com")
    print("read-only" if session.read_only else "writable", flush=True)
    sys.stdin.readline()
    session.state.notes = "written by the first window"
    set_step(session.state, 1, "verified")
    session.save()
    print("saved", flush=True)
    sys.stdin.readline()
    session.close()
    print("closed", flush=True)
    sys.stdin.readline()
    """
)

COUNTER = textwrap.dedent(
    """
    import sys
    from wizard.state import StateStore
    store = StateStore(sys.argv[1])
    def bump(state):
        state.hosting_options["count"] = str(int(state.hosting_options.get("count", "0")) + 1)
        state.hosting_options[sys.argv[2]] = str(int(state.hosting_options.get(sys.argv[2], "0")) + 1)
    for _ in range(int(sys.argv[3])):
        store.update("example.com", bump, timeout=20)
    print("done", flush=True)
    """
)


def expect(proc: subprocess.Popen[str], wanted: str, timeout: float = 15.0) -> None:
    """Read one line from the child, waiting at most `timeout` seconds."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"child said nothing within {timeout}s (waiting for {wanted!r})"
    line = proc.stdout.readline().strip()
    assert line == wanted, f"child said {line!r}, expected {wanted!r}"


def tell(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def start(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_second_window_is_read_only_and_catches_up_without_losing_updates(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    first = start(WINDOW, str(tmp_path))
    try:
        expect(first, "writable")
        second = store.open(DOMAIN)
        assert second.read_only
        assert second.messages == [f"example.com is open in another window (pid {first.pid}); opened read-only"]
        assert second.read_only_reason == f"example.com is open in another window (pid {first.pid}); opened read-only"
        second.state.rua = ["mailto:lost@example.com"]
        with pytest.raises(ReadOnlyError, match=rf"open in another window \(pid {first.pid}\)"):
            second.save()
        assert not store.path_for(DOMAIN).exists()

        tell(first)
        expect(first, "saved")
        assert second.refresh().notes == "written by the first window"
        assert second.try_upgrade() is False and second.read_only

        tell(first)
        expect(first, "closed")
        assert second.try_upgrade() is True and not second.read_only
        assert second.state.notes == "written by the first window"  # re-read, not the stale copy
        assert second.state.rua == []  # the read-only edit was never saved, and is not resurrected
        second.state.rua = ["mailto:tls@example.com"]
        set_step(second.state, 2, "verified")
        second.save()
        second.close()
        tell(first)
        assert first.wait(timeout=15) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=15)
    final = store.read(DOMAIN).state
    assert final is not None
    assert final.notes == "written by the first window" and final.rua == ["mailto:tls@example.com"]
    assert first_unverified_step(final) == 3


def test_a_killed_window_does_not_keep_the_domain_locked(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    first = start(WINDOW, str(tmp_path))
    try:
        expect(first, "writable")
        with store.open(DOMAIN) as blocked:
            assert blocked.read_only and blocked.holder_pid == first.pid
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=15)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=15)
    with store.open(DOMAIN) as session:
        assert not session.read_only and session.messages == []


def test_two_processes_updating_at_once_lose_nothing(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    rounds = 100
    procs = [start(COUNTER, str(tmp_path), name, str(rounds)) for name in ("a", "b")]
    try:
        for proc in procs:
            expect(proc, "done", timeout=60)
            assert proc.wait(timeout=15) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=15)
    state = store.read(DOMAIN).state
    assert state is not None
    assert state.hosting_options == {"count": str(2 * rounds), "a": str(rounds), "b": str(rounds)}
