"""A program in a real pseudo-terminal, read the way a terminal would get it, for timing what a user sees.

The program runs with a pty (100x30) as its terminal. A thread reads everything it writes
as soon as it is written and keeps it with the time it arrived; escape sequences (cursor
moves, colours) are dropped, so text that a screen paints on one line is found as is.
`wait_for(marker, since)` then tells when the marker was first written after `since`:
that is the moment a terminal would have shown it. No polling is involved, so the
measurement adds no delay of its own and takes no CPU from the program being measured.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


class PtyProgram:
    """`argv` running in its own pty; `.started` is the perf_counter() just before it was launched."""

    def __init__(self, argv: list[str], cwd: Path, size: tuple[int, int] = (100, 30)) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(size[0]), LINES=str(size[1]))
        env.pop("TMUX", None)
        self.master = master
        self._text = bytearray()  # what was written, escape sequences removed
        self._marks: list[tuple[int, float]] = []  # (length of _text after a read, when that read returned)
        self._pending = b""  # an escape sequence cut in two by a read
        self._cond = threading.Condition()
        self._closed = False
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            now = time.perf_counter()
            if not data:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            data = self._pending + data
            cut = data.rfind(b"\x1b")
            if cut != -1 and cut > len(data) - 32 and not _ESCAPES.match(data, cut):
                data, self._pending = data[:cut], data[cut:]  # finish the sequence with the next read
            else:
                self._pending = b""
            with self._cond:
                self._text += _ESCAPES.sub(b"", data)
                self._marks.append((len(self._text), now))
                self._cond.notify_all()

    def position(self) -> int:
        """Where the text written so far ends (pass it to wait_for as `since`)."""
        with self._cond:
            return len(self._text)

    def wait_for(self, marker: str, since: int = 0, timeout: float = 20.0) -> float:
        """perf_counter() of the read that completed `marker` (written after offset `since`)."""
        needle = marker.encode()
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._text.find(needle, since)
                if found != -1:
                    end = found + len(needle)
                    return next(t for length, t in self._marks if length >= end)
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    tail = self._text[-600:].decode(errors="replace")
                    raise RuntimeError(f"{marker!r} did not appear within {timeout} s; the last text was:\n{tail}")
                self._cond.wait(left)

    def seen_at(self, marker: str, since: int = 0) -> float | None:
        """perf_counter() when `marker` was first written after `since`, or None if it has not been."""
        with self._cond:
            found = self._text.find(marker.encode(), since)
            if found == -1:
                return None
            end = found + len(marker.encode())
            return next(t for length, t in self._marks if length >= end)

    def send(self, keys: bytes) -> float:
        """Type `keys`; returns perf_counter() just before they were written to the terminal."""
        now = time.perf_counter()
        os.write(self.master, keys)
        return now

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(2)
        os.close(self.master)
