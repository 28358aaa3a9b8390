"""Find reports in what the user points at: files, emails, mailboxes and folders of them.

Each path becomes a stream of `Candidate`s: report bytes with where they came from, or a
one-line reason why that input holds no report. Files are recognised by content, not only
by name (gzip magic, `{`, `From `, mail headers), so oddly named downloads still import.
Only regular files are read (a FIFO would block forever, a device never end), every read is
bounded (an mbox line, a message, a report), folders are visited once each (a symlink loop
ends), and an unreadable or hostile file becomes a reason, never a stop.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from wizard.reports.emails import MAX_MESSAGE_BYTES, message_candidates
from wizard.reports.fields import filename_domain, printable_path
from wizard.reports.model import Candidate, ReportRejected
from wizard.reports.parse import GZIP_MAGIC, MAX_REPORT_BYTES, exc_text, read_bounded

__all__ = ["Candidate", "filename_domain", "iter_candidates"]

_HEADER_LINE = re.compile(rb"[!-9;-~]+:")
_NOT_REGULAR = "is not a regular file or folder (a dangling link, device or pipe); ignored"
#: Opened without blocking (a FIFO that appears between the listing and the open) and never as a terminal.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
#: First read of every file: a report is a few KB, so one read usually gets all of it.
_FIRST_READ = 64 * 1024
#: mbox is read this many bytes of a line at a time.
_MBOX_CHUNK = 1024 * 1024


def _sniff(head: bytes) -> str:
    if not head:
        return "empty"
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return "json"
    if head.startswith(b"From "):
        return "mbox"
    if _HEADER_LINE.match(head):
        return "email"
    return "unknown"


def _candidate(
    source: str, *, data: bytes | None = None, reason: str | None = None, domain_hint: str | None = None
) -> Candidate:
    """A candidate from a file: its name as text that can be stored and printed (printable_path)."""
    return Candidate(printable_path(source), data=data, reason=reason, domain_hint=domain_hint)


def iter_candidates(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Candidate]:
    """Every report candidate under `paths`, in a stable order, recursing into folders."""
    visited: set[str] = set()
    for raw in paths:
        path = str(raw)
        try:
            if os.path.isdir(path):
                yield from _folder(path, visited)
            elif os.path.exists(path):
                yield from _file(path)
            else:
                yield _candidate(path, reason="no such file or folder")
        except OSError as exc:
            yield _candidate(path, reason=f"cannot be read ({exc_text(exc)})")


def _is_maildir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "cur")) and os.path.isdir(os.path.join(path, "new"))


def _first_visit(path: str, visited: set[str]) -> bool:
    """False for a folder seen before (a symlink loop, or the same folder given twice)."""
    real = os.path.realpath(path)
    if real in visited:
        return False
    visited.add(real)
    return True


def _folder(path: str, visited: set[str]) -> Iterator[Candidate]:
    if not _first_visit(path, visited):
        return
    if _is_maildir(path):
        yield from _maildir(path, visited)
        return
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        yield _candidate(path, reason=f"cannot be listed ({exc_text(exc)})")
        return
    for entry in entries:
        try:
            if entry.is_dir():
                yield from _folder(entry.path, visited)
            else:
                yield from _file(entry.path)
        except OSError as exc:
            yield _candidate(entry.path, reason=f"cannot be read ({exc_text(exc)})")


def _open_regular(path: str) -> int | None:
    """A read descriptor for `path` when it is a regular file (after following links), else None."""
    fd = os.open(path, _OPEN_FLAGS)
    if stat.S_ISREG(os.fstat(fd).st_mode):
        os.set_blocking(fd, True)
        return fd
    os.close(fd)
    return None


def _file(path: str) -> Iterator[Candidate]:
    """One file's candidates, recognised by content. A small report file costs one open and read."""
    try:
        fd = _open_regular(path)
    except FileNotFoundError:  # a dangling link
        yield _candidate(path, reason=_NOT_REGULAR)
        return
    if fd is None:
        yield _candidate(path, reason=_NOT_REGULAR)
        return
    with os.fdopen(fd, "rb") as f:
        data = f.read(_FIRST_READ)
        kind = _sniff(data[:256])
        if kind == "empty":
            yield _candidate(path, reason="is empty")
            return
        if kind in ("gzip", "json", "email"):
            if len(data) == _FIRST_READ:  # more to read: all of it, up to the cap
                f.seek(0)
                try:
                    if kind == "email":
                        data = read_bounded(f, MAX_MESSAGE_BYTES, "email")
                    else:
                        data = read_bounded(f, MAX_REPORT_BYTES, "file")
                except ReportRejected as exc:
                    yield _candidate(path, reason=str(exc))
                    return
            if kind == "email":
                yield from message_candidates(data, printable_path(path))
            else:
                yield _candidate(path, data=data, domain_hint=filename_domain(path))
            return
        if kind != "mbox":
            yield _candidate(path, reason="is not a TLS report (.json/.json.gz), an email (.eml) or a mailbox; ignored")
            return
        f.seek(0)
        yield from _mbox(f, printable_path(path))


def _mbox(f: BinaryIO, source: str) -> Iterator[Candidate]:
    """The messages of an mbox, read a bounded piece of a line at a time: a message (a line
    included) past MAX_MESSAGE_BYTES is listed with the reason and skipped, never held whole.

    A line starting with "From " begins the next message, as Python's mailbox module reads mbox;
    the blank line before it ends the previous one and is not part of it.
    """
    readline = f.readline
    n = 0
    lines: list[bytes] | None = None  # the message so far; None: too large, being skipped
    size = 0
    at_start = True  # the next piece starts a line
    while True:
        piece: bytes = readline(_MBOX_CHUNK)
        if not piece or (at_start and piece.startswith(b"From ")):
            if n:
                yield from _mbox_message(lines, f"{source} (message {n})")
            if not piece:
                return
            n += 1
            lines, size = [], 0
        elif lines is not None:
            size += len(piece)
            if size > MAX_MESSAGE_BYTES:
                lines = None
            else:
                lines.append(piece)
        at_start = piece.endswith(b"\n")


def _mbox_message(lines: list[bytes] | None, source: str) -> Iterator[Candidate]:
    if lines is None:
        yield Candidate(source, reason=f"email is larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB; not imported")
        return
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines.pop()  # the separator's blank line
    yield from message_candidates(b"".join(lines), source)


def _maildir(path: str, visited: set[str]) -> Iterator[Candidate]:
    """A Maildir's messages (new/ and cur/, by name), then its subfolders (`.name`), each visited once."""
    messages: list[tuple[str, str]] = []
    for sub in ("new", "cur"):
        try:
            names = os.listdir(os.path.join(path, sub))
        except OSError as exc:
            yield _candidate(os.path.join(path, sub), reason=f"cannot be listed ({exc_text(exc)})")
            continue
        messages += [(name.split(":")[0], os.path.join(path, sub, name)) for name in names if not name.startswith(".")]
    for key, file in sorted(messages):
        source = printable_path(f"{path} (message {key})")
        try:
            fd = _open_regular(file)
            if fd is None:
                yield Candidate(source, reason=_NOT_REGULAR)
                continue
            with os.fdopen(fd, "rb") as f:
                data = read_bounded(f, MAX_MESSAGE_BYTES, "email")
        except ReportRejected as exc:
            yield Candidate(source, reason=str(exc))
            continue
        except OSError as exc:
            yield Candidate(source, reason=f"cannot be read ({exc_text(exc)})")
            continue
        yield from message_candidates(data, source)
    try:
        folders = sorted(e.path for e in os.scandir(path) if e.name.startswith(".") and e.name not in (".", ".."))
    except OSError:
        folders = []
    for folder in folders:
        if os.path.isdir(folder) and _is_maildir(folder) and _first_visit(folder, visited):
            yield from _maildir(folder, visited)
