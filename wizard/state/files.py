"""Opening files in the state dir safely: private, never through a symlink, read bounded.

The state dir holds a user's progress and the reports their mail servers' peers sent, so it is
created 0700 and every file in it 0600, whatever the umask (issue 14, item 13). Nothing is
ever written through a symbolic link: a `progress/<domain>.lock` pointing at another file would
otherwise have that file truncated and overwritten with a pid (item 7). Reads take regular
files only, and at most a given size: a progress file that is a FIFO would block forever, one
that is `/dev/zero` or a huge file would exhaust memory (items 4 and 5).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

#: Directories this program creates in the state dir: the owner only.
DIR_MODE = 0o700
#: Files it creates there: the owner only.
FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class NotRegularFileError(OSError):
    """The path is a FIFO, device, socket or folder where a file was expected."""


class FileTooLargeError(OSError):
    """The file is larger than its reader accepts."""


def private_dir(path: Path) -> None:
    """Create `path` (0700, umask or not) when missing; its parents get the usual mode.

    An existing folder keeps its mode: it may be one the user chose (`--state-dir ~`).
    """
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        if not path.is_dir():
            raise
        return
    os.chmod(path, DIR_MODE)


def open_private(path: Path, flags: int) -> int:
    """`os.open` for writing in the state dir: never through a symlink, created 0600.

    A file that already exists is brought to 0600 too (one an older version made 0644).
    Raises OSError (ELOOP for a symlink) like `os.open`, and NotRegularFileError for a FIFO,
    device or socket (opened non-blocking, so a FIFO does not wait for a reader).
    """
    fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC | _NONBLOCK, FILE_MODE)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device planted under the file's name
            raise NotRegularFileError(errno.EINVAL, "it is not a regular file; remove it", str(path))
        if stat.S_IMODE(info.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def private_file(path: Path) -> None:
    """Make sure `path` exists as a 0600 regular file (not a symlink) in a 0700 folder, without
    changing its content: what a file another library then opens (SQLite) needs beforehand."""
    private_dir(path.parent)
    os.close(open_private(path, os.O_RDWR | os.O_CREAT))


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Opened non-blocking, so a FIFO does not wait for a writer; raises NotRegularFileError
    for anything but a regular file, FileTooLargeError past `limit`, and OSError
    (FileNotFoundError included) as `open` does.
    """
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(f"{path} is not a regular file")
        if info.st_size > limit:
            raise FileTooLargeError(f"{path} is {info.st_size} bytes, more than {limit}")
        chunks: list[bytes] = []
        left = limit + 1  # one byte more tells a file that grew past the limit while read
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise FileTooLargeError(f"{path} is more than {limit} bytes")
        return data
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
