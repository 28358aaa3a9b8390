"""Hostile files in the state dir (issue 14, items 4, 5, 7, 9, 13): a progress file that is a FIFO,
/dev/zero, huge or nested 100,000 deep is refused in one line and in bounded time; a symlinked lock
file is never written through; the state dir is private (0700, files 0600) whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_runner import CliResult, run_cli
from tests.reports_factory import spec_example
from wizard.policy import PolicyFile
from wizard.reports import ReportStore, parse_report
from wizard.reports.store import store_path
from wizard.state import StateError, StateStore, record_policy, set_step

DOMAIN = "example.com"
T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def saved_twice(root: Path) -> StateStore:
    """A domain saved twice, so a backup exists to fall back on."""
    store = StateStore(root)
    with store.open(DOMAIN) as s:
        record_policy(s.state, PolicyFile("testing", 86400, ("mail.example.com",)), T0)
        s.save(T0)
        set_step(s.state, 1, "verified", T0)
        s.save(T0)
    return store


def status(root: Path, *args: str) -> CliResult:
    # A FIFO used to block here forever: pytest's timeout ends such a test.
    return run_cli("status", *args, "--state-dir", str(root))


def replace_progress(store: StateStore, how: str) -> None:
    path = store.path_for(DOMAIN)
    path.unlink()
    if how == "fifo":
        os.mkfifo(path)
    elif how == "zero":
        path.symlink_to("/dev/zero")
    elif how == "huge":
        with open(path, "wb") as fh:
            fh.truncate(64 << 20)  # sparse: 64 MiB of NULs without using the disk
    elif how == "nested":
        path.write_bytes(b"[" * 100_000)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("fifo", "not a regular file"),
        ("zero", "not a regular file"),
        ("huge", "larger than 4 MiB"),
        ("nested", "nested far too deeply"),
    ],
)
def test_a_hostile_progress_file_is_refused_in_one_line(tmp_path: Path, how: str, reason: str) -> None:
    if how == "zero" and not Path("/dev/zero").exists():
        pytest.skip("needs /dev/zero")
    store = saved_twice(tmp_path)
    replace_progress(store, how)
    for args in ((DOMAIN,), ()):
        result = status(tmp_path, *args)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and reason in lines[0] and "continuing from the backup" in lines[0]
        assert DOMAIN in result.stdout
    loaded = store.read(DOMAIN)  # in-process too, as `check` and the wizard read it
    assert loaded.source == "backup" and loaded.state is not None


def test_a_hostile_progress_file_without_backup_is_one_line_per_problem(tmp_path: Path) -> None:
    store = saved_twice(tmp_path)
    store.backup_for(DOMAIN).unlink()
    replace_progress(store, "nested")
    result = status(tmp_path)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "nested far too deeply" in result.stderr


def test_a_symlinked_lock_file_is_not_written_through(tmp_path: Path) -> None:
    store = saved_twice(tmp_path / "state")
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    lock = store.dir / f"{DOMAIN}.lock"
    lock.unlink()
    lock.symlink_to(victim)
    with pytest.raises(StateError, match="symbolic link"):
        store.open(DOMAIN)
    with pytest.raises(StateError, match="symbolic link"):
        store.update(DOMAIN, lambda state: None, timeout=0.1)
    assert victim.read_text() == "keep me\n"


def test_a_symlinked_progress_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    store = saved_twice(tmp_path / "state")
    victim = tmp_path / "precious.json"
    victim.write_bytes(store.path_for(DOMAIN).read_bytes())
    before = victim.read_bytes()
    store.path_for(DOMAIN).unlink()
    store.path_for(DOMAIN).symlink_to(victim)
    store.update(DOMAIN, lambda state: setattr(state, "notes", "new"))
    assert victim.read_bytes() == before
    assert not store.path_for(DOMAIN).is_symlink()


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)  # the worst case: nothing masked
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_state_dir_is_private_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    root = tmp_path / "state"
    store = saved_twice(root)
    with ReportStore(store_path(root)) as reports:
        reports.add(parse_report(__import__("json").dumps(spec_example()).encode()), source="t")
        files = sorted(p.name for p in root.iterdir())
        assert {"reports.sqlite3-wal", "reports.sqlite3-shm"} <= set(files)  # still open: WAL files exist
        for name in files:
            if (root / name).is_file():
                assert mode(root / name) == 0o600, name
    assert mode(root) == 0o700
    assert mode(store.dir) == 0o700
    for path in store.dir.iterdir():
        assert mode(path) == 0o600, path.name
    assert {p.name for p in store.dir.iterdir()} >= {f"{DOMAIN}.json", f"{DOMAIN}.json.bak", f"{DOMAIN}.lock"}


def test_a_lock_file_left_readable_by_an_older_version_is_made_private(tmp_path: Path) -> None:
    store = saved_twice(tmp_path)
    lock = store.dir / f"{DOMAIN}.lock"
    lock.chmod(0o644)
    with store.open(DOMAIN):
        assert mode(lock) == 0o600


def test_a_fifo_as_lock_file_is_refused_without_waiting(tmp_path: Path) -> None:
    store = saved_twice(tmp_path)
    lock = store.dir / f"{DOMAIN}.lock"
    lock.unlink()
    os.mkfifo(lock)
    with pytest.raises(StateError, match="not a regular file"):
        store.open(DOMAIN)
    assert stat.S_ISFIFO(lock.lstat().st_mode)  # left as it was
