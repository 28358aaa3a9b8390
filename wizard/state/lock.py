"""One writer per domain: an advisory lock file holding the owner's pid.

Two wizards open on the same domain would overwrite each other's progress. The first
one takes `fcntl.flock(LOCK_EX)` on `<domain>.lock` and writes its pid there; the
second sees the lock taken, reads the pid, and opens the domain read-only ("open in
another window (pid N)"). The kernel drops the lock when the owner exits, even on
SIGKILL, so a crashed wizard never leaves a domain locked; the pid left in the file is
only a hint for the message. The lock file is never deleted: deleting it would let two
processes lock two different files of the same name.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

from wizard.state.files import open_private, private_dir, read_bounded


class DomainLock:
    """An exclusive advisory lock on one lock file, held until `release()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock without waiting; True on success. Writes our pid into the file."""
        if self._fd is not None:
            return True
        private_dir(self.path.parent.parent)  # the state dir, then its progress/ folder
        private_dir(self.path.parent)
        fd = open_private(self.path, os.O_RDWR | os.O_CREAT)  # never through a symlink (ELOOP)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def acquire(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the lock (polling, so it is bounded); True on success."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self.try_acquire():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def release(self) -> None:
        """Give the lock up (the pid stays in the file; it is only a hint)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holder_pid(self) -> int | None:
        """The pid written by the current holder, when it can be read.

        The holder writes its pid just after taking the lock, so a reader racing it
        may see an empty file; it retries briefly (bounded) before giving up.
        """
        for _ in range(10):
            try:
                text = read_bounded(self.path, 64).decode("ascii", errors="replace").strip()
            except OSError:  # gone, or not a small regular file: no pid to show
                return None
            if text.isdigit():
                return int(text)
            time.sleep(0.01)
        return None

    def __enter__(self) -> DomainLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
