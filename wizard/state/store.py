"""Saved progress on disk: one JSON file per domain, written so that it survives crashes.

Layout, inside the state dir (`wizard.commands.common.state_dir`):

    progress/<a-label>.json                    the domain's state (human-readable JSON)
    progress/<a-label>.json.bak                the previous version, kept at every save
    progress/<a-label>.json.corrupt-<time>     a damaged file, moved aside (never deleted)
    progress/<a-label>.lock                    the advisory lock, holding the owner's pid

Writes go to a temp file in the same folder, are fsync'd, renamed over the old file
with `os.replace` (atomic) and the folder is fsync'd, so a crash or SIGKILL at any
moment leaves either the old or the new version, never a mix. Before the rename the
old version is hard-linked to `.bak` (also by atomic rename).

Reading a damaged file (truncated, not JSON, wrong shape) reports it in one line,
moves it aside and continues from the backup. A file from a newer schema is opened
read-only (see wizard/state/migrate.py).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from wizard.state.files import (
    FileTooLargeError,
    NotRegularFileError,
    open_private,
    private_dir,
    read_bounded,
)
from wizard.state.lock import DomainLock
from wizard.state.migrate import migrate
from wizard.state.model import SCHEMA_VERSION, STEP_NAMES, DomainState, StateFormatError, as_utc, utc_now
from wizard.state.progress import first_unverified_step

PROGRESS_DIR = "progress"
#: The largest progress file read (a real one is a few KiB; a long id history tens of KiB).
MAX_STATE_BYTES = 4 << 20
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_NAME_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


class StateError(Exception):
    """A problem with saved progress that the user must be told about in one line."""


class ReadOnlyError(StateError):
    """A save was attempted through a read-only handle (another window, or a newer file)."""


class LockedError(StateError):
    """The domain is open for writing in another process."""


class NewerSchemaError(StateError):
    """The file comes from a newer program and cannot even be read by this one."""


@contextlib.contextmanager
def disk_errors(action: str, where: Path) -> Iterator[None]:
    """Turn an OS error (permissions, full disk, a file where a folder should be) into one line."""
    try:
        yield
    except StateError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ELOOP:
            reason = "it is a symbolic link, which this program never writes through; remove the link"
        raise StateError(
            f"could not {action} {where}: {reason}; check the folder's permissions and free space "
            "(or choose another with --state-dir)"
        ) from None


class _Damaged(Exception):
    """Internal: a file that is present but unusable, with the reason in a few words."""


def check_name(domain: str) -> str:
    """Refuse anything that is not a lowercase A-label name (it becomes a file name)."""
    if len(domain) > 253 or not _NAME_RE.match(domain):
        raise ValueError(f"{domain!r} is not a domain name in A-label form (e.g. example.com or xn--bcher-kva.example)")
    return domain


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (POSIX needs the folder itself fsync'd)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def durable_write(path: Path, data: bytes, *, backup: Path | None = None) -> None:
    """Replace `path` with `data` atomically and durably; keep the old version at `backup`.

    At every instant `path` holds either the complete old or the complete new bytes.
    """
    directory = path.parent
    # A unique name, not a secret (O_EXCL refuses a clash): os.urandom spares importing `secrets`
    # (and hmac, hashlib) on the way to the wizard's first screen.
    token = f"{os.getpid()}-{os.urandom(4).hex()}"
    tmp = directory / f".{path.name}.tmp-{token}"
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.close(fd)
    if backup is not None and path.exists():
        bak_tmp = directory / f".{backup.name}.tmp-{token}"
        try:
            os.link(path, bak_tmp)  # same inode: no copy, and the old bytes are already durable
        except OSError:
            _copy_private(path, bak_tmp)
        os.replace(bak_tmp, backup)
    os.replace(tmp, path)
    fsync_dir(directory)


def _copy_private(source: Path, target: Path) -> None:
    """Copy `source` to a new 0600 file `target` (not through a symlink) and fsync it."""
    data = read_bounded(source, MAX_STATE_BYTES)
    fd = open_private(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def encode_state(state: DomainState) -> bytes:
    """The file's bytes: indented, key order as in the model, UTF-8, final newline.

    The content is read back before it is written: a state this program could not load
    again (a None where text belongs, a mode that does not exist) raises StateFormatError
    here, instead of becoming a "damaged" file that the next run moves aside.
    """
    data = state.to_json()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    check_name(state.domain)
    DomainState.from_json(json.loads(text))
    return text.encode("utf-8")


@dataclass
class LoadResult:
    """What reading a domain's files gave."""

    domain: str
    """The A-label name asked for."""
    state: DomainState | None
    """The state read, or None when nothing usable is saved for the domain."""
    source: Literal["file", "backup", "none"]
    """Where `state` came from."""
    newer: bool = False
    """True when the file comes from a newer program (open it read-only)."""
    messages: list[str] = field(default_factory=list)
    """One-line notes for the user (a damaged file moved aside, a backup used, ...)."""


@dataclass
class DomainSummary:
    """One line of the saved-domains list (resume menu and `status`)."""

    domain: str
    """The A-label name."""
    unicode_name: str
    """The Unicode name for display (same as `domain` when ASCII)."""
    step_reached: int
    """The first step not yet verified (where resuming opens)."""
    step_name: str
    """That step's name."""
    mode: str | None
    """The saved policy's mode, None before step 1."""
    policy_id: str | None
    """The current TXT id."""
    created_at: datetime | None
    """When the domain was first saved."""
    updated_at: datetime | None
    """When it was last saved."""
    newer: bool
    """True when saved by a newer program (read-only here)."""
    messages: list[str]
    """One-line notes from reading it (damaged file, backup used)."""
    state: DomainState
    """The full state, for callers that want more (empty when not `readable`)."""

    @property
    def readable(self) -> bool:
        """False when nothing usable could be read (the messages say why); step_reached is then 0."""
        return self.step_reached > 0


class StateStore:
    """The saved progress of every domain under one state dir."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.dir = self.root / PROGRESS_DIR

    # ------------------------------------------------------------ paths

    def path_for(self, domain: str) -> Path:
        return self.dir / f"{check_name(domain)}.json"

    def backup_for(self, domain: str) -> Path:
        return self.dir / f"{check_name(domain)}.json.bak"

    def lock_for(self, domain: str) -> DomainLock:
        return DomainLock(self.dir / f"{check_name(domain)}.lock")

    def domains(self) -> list[str]:
        """The A-label names with saved progress (a file or at least a backup), sorted."""
        if not self.dir.is_dir():
            return []
        names = set()
        with disk_errors("list", self.dir):
            entries = list(self.dir.iterdir())
        for entry in entries:
            for suffix in (".json", ".json.bak"):
                if entry.name.endswith(suffix) and not entry.name.startswith("."):
                    name = entry.name[: -len(suffix)]
                    if _NAME_RE.match(name):
                        names.add(name)
        return sorted(names)

    # ------------------------------------------------------------ reading

    def _parse(self, path: Path, domain: str) -> tuple[DomainState, bool]:
        try:
            raw = read_bounded(path, MAX_STATE_BYTES)
        except FileNotFoundError:
            raise
        except NotRegularFileError:
            raise _Damaged("it is not a regular file (a FIFO, device or folder)") from None
        except FileTooLargeError:
            raise _Damaged(f"it is larger than {MAX_STATE_BYTES >> 20} MiB, far more than progress takes") from None
        except OSError as exc:
            raise StateError(f"could not read {path}: {exc.strerror or exc}; check its permissions") from None
        if not raw.strip():
            raise _Damaged("the file is empty")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise _Damaged("the file is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise _Damaged(f"not valid JSON, probably cut short: {exc.msg} at line {exc.lineno}") from None
        except RecursionError:
            raise _Damaged("its JSON is nested far too deeply to be progress") from None
        try:
            migrated = migrate(data)
        except StateFormatError as exc:
            raise _Damaged(str(exc)) from None
        try:
            state = DomainState.from_json(migrated.data)
        except StateFormatError as exc:
            if migrated.newer:
                raise NewerSchemaError(
                    f"{path} was saved by a newer mta-sts-wizard (schema {migrated.found_version}; this one "
                    f"reads up to {SCHEMA_VERSION}) and cannot be read here; upgrade mta-sts-wizard"
                ) from None
            raise _Damaged(str(exc)) from None
        if state.domain != domain:
            raise _Damaged(f"it holds progress for {state.domain!r}, not {domain!r}")
        return state, migrated.newer

    def _move_aside(self, path: Path) -> Path:
        stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        n = 2
        while target.exists():
            target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
            n += 1
        os.replace(path, target)
        fsync_dir(path.parent)
        return target

    def read(self, domain: str, *, repair: bool = False) -> LoadResult:
        """Read a domain's state, falling back to the backup when the file is damaged.

        With `repair=False` nothing on disk changes (safe without the lock: `status`,
        the domain list, read-only windows). With `repair=True` (only under the lock) a
        damaged file is moved aside to `<name>.corrupt-<time>` and the backup is copied
        back into place. Raises NewerSchemaError for a newer file this program cannot read.
        """
        check_name(domain)
        main, bak = self.path_for(domain), self.backup_for(domain)
        try:
            state, newer = self._parse(main, domain)
            return LoadResult(domain, state, "file", newer)
        except FileNotFoundError:
            problem = f"the progress file {main} is missing"
        except _Damaged as exc:
            problem = f"the progress file {main} is damaged ({exc})"
            if repair:
                with disk_errors("move aside", main):
                    problem += f"; moved it aside to {self._move_aside(main).name}"
        try:
            state, newer = self._parse(bak, domain)
        except FileNotFoundError:
            if problem.endswith("is missing"):
                return LoadResult(domain, None, "none")  # a domain never saved: nothing to say
            return LoadResult(domain, None, "none", messages=[f"{problem}; there is no backup, so starting afresh"])
        except _Damaged as exc:
            note = f"{problem}; the backup is damaged too ({exc})"
            if repair:
                with disk_errors("move aside", bak):
                    note += f"; moved it aside to {self._move_aside(bak).name}"
            return LoadResult(domain, None, "none", messages=[note + "; starting afresh"])
        saved = state.updated_at.strftime("%Y-%m-%d %H:%M UTC") if state.updated_at else "earlier"
        note = f"{problem}; continuing from the backup saved {saved}"
        if repair and not newer:
            with disk_errors("restore the backup to", main):
                durable_write(main, read_bounded(bak, MAX_STATE_BYTES))
        return LoadResult(domain, state, "backup", newer, [note])

    # ------------------------------------------------------------ writing

    def write(self, state: DomainState, now: datetime | None = None) -> None:
        """Save a state durably, keeping the previous file as `.bak`.

        Callers must hold the domain's lock (DomainSession and `update` do); a state
        from a newer schema is refused, because this program would drop what it
        cannot represent in a field it does not know.
        """
        if state.schema_version > SCHEMA_VERSION:
            raise ReadOnlyError(
                f"{state.domain} was saved by a newer mta-sts-wizard (schema {state.schema_version}); "
                "it is read-only here; upgrade mta-sts-wizard to change it"
            )
        moment = as_utc(now) if now else utc_now()
        state.schema_version = SCHEMA_VERSION
        state.created_at = state.created_at or moment
        state.updated_at = moment
        path = self.path_for(state.domain)
        with disk_errors("save progress to", path):
            private_dir(self.root)
            private_dir(self.dir)
            durable_write(path, encode_state(state), backup=self.backup_for(state.domain))

    def remove_stale_temps(self, domain: str) -> int:
        """Delete temp files a killed writer left behind (call only under the lock)."""
        count = 0
        for prefix in (f".{domain}.json.tmp-", f".{domain}.json.bak.tmp-"):
            for entry in self.dir.glob(f"{prefix}*"):
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    count += 1
        return count

    # ------------------------------------------------------------ sessions

    def open(self, domain: str, unicode_name: str = "") -> DomainSession:
        """Open a domain for the wizard: writable if no other process has it, else read-only.

        A new domain gets a fresh state (not written until the first save).
        """
        check_name(domain)
        lock = self.lock_for(domain)
        with disk_errors("lock", lock.path):
            acquired = lock.try_acquire()
        if acquired:
            try:
                self.remove_stale_temps(domain)
                result = self.read(domain, repair=True)
            except BaseException:
                lock.release()
                raise
            session = DomainSession(self, domain, result, lock=lock, unicode_name=unicode_name)
            if result.newer:
                lock.release()  # a newer program in another window may write it; we never do
            return session
        pid = lock.holder_pid()
        result = self.read(domain)
        return DomainSession(self, domain, result, lock=None, holder_pid=pid, unicode_name=unicode_name)

    def update(
        self,
        domain: str,
        change: Callable[[DomainState], None],
        *,
        timeout: float = 5.0,
        now: datetime | None = None,
    ) -> DomainState:
        """Apply `change` to a domain's state under the lock and save it (for short-lived commands).

        Waits at most `timeout` seconds for the lock, then raises LockedError naming the
        pid that holds it. The state is re-read under the lock, so nothing saved by
        others in the meantime is lost.
        """
        lock = self.lock_for(domain)
        with disk_errors("lock", lock.path):
            acquired = lock.acquire(timeout)
        if not acquired:
            raise LockedError(locked_message(domain, lock.holder_pid()))
        try:
            self.remove_stale_temps(domain)
            result = self.read(domain, repair=True)
            state = result.state or new_state(domain, now)
            change(state)
            self.write(state, now)
            return state
        finally:
            lock.release()

    def list_domains(self) -> list[DomainSummary]:
        """Every saved domain with its step reached and mode, for the resume menu and `status`.

        Reads only; a damaged file shows its one-line message and the backup's content.
        A domain with nothing readable is listed with `readable` False and its messages.
        """
        out = []
        for name in self.domains():
            try:
                result = self.read(name)
            except NewerSchemaError as exc:
                out.append(_summary(DomainState(domain=name), True, [str(exc)], step=0))
                continue
            if result.state is None:
                out.append(_summary(DomainState(domain=name), False, result.messages, step=0))
                continue
            step = first_unverified_step(result.state)
            summary = _summary(result.state, result.newer, result.messages, step=step)
            summary.step_name = STEP_NAMES[step]
            out.append(summary)
        return out


def _summary(state: DomainState, newer: bool, messages: list[str], *, step: int) -> DomainSummary:
    return DomainSummary(
        domain=state.domain,
        unicode_name=state.unicode_name or state.domain,
        step_reached=step,
        step_name="",
        mode=state.mode,
        policy_id=state.policy_id,
        created_at=state.created_at,
        updated_at=state.updated_at,
        newer=newer,
        messages=messages,
        state=state,
    )


def new_state(domain: str, now: datetime | None = None, unicode_name: str = "") -> DomainState:
    """A fresh state for a domain seen for the first time."""
    return DomainState(
        domain=check_name(domain),
        unicode_name="" if unicode_name == domain else unicode_name,
        created_at=as_utc(now) if now else utc_now(),
    )


def locked_message(domain: str, pid: int | None) -> str:
    """The one line shown when another process holds the domain."""
    who = f"pid {pid}" if pid is not None else "pid unknown"
    return f"{domain} is open in another window ({who}); opened read-only"


class DomainSession:
    """A domain opened by the wizard: the state, and whether this process may save it.

    The App keeps one session per domain and calls `save()` after each accepted step.
    A read-only session (another window holds the lock, or the file is from a newer
    program) never writes: `save()` raises ReadOnlyError. It can `refresh()` to see
    what the other window saved, and `try_upgrade()` once that window has closed.
    """

    def __init__(
        self,
        store: StateStore,
        domain: str,
        result: LoadResult,
        *,
        lock: DomainLock | None,
        holder_pid: int | None = None,
        unicode_name: str = "",
    ) -> None:
        self.store = store
        self.domain = domain
        self._lock = lock
        self._unicode_name = unicode_name
        self.holder_pid = holder_pid
        self.messages: list[str] = []
        self.state: DomainState = new_state(domain)
        self.newer = False
        self.source: str = "none"
        self._take(result)
        if lock is None:
            self.messages.insert(0, locked_message(domain, holder_pid))

    def _take(self, result: LoadResult) -> None:
        self.state = result.state or new_state(self.domain, unicode_name=self._unicode_name)
        if self._unicode_name and self._unicode_name != self.domain and not self.state.unicode_name:
            self.state.unicode_name = self._unicode_name
        self.newer = result.newer
        self.source = result.source
        self.messages.extend(result.messages)
        if result.newer:
            self.messages.append(
                f"{self.domain} was saved by a newer mta-sts-wizard (schema {self.state.schema_version}); "
                "opened read-only; upgrade mta-sts-wizard to change it"
            )

    @property
    def read_only(self) -> bool:
        """True when this session must not write (see the class docstring)."""
        return self.newer or self._lock is None or not self._lock.held

    @property
    def read_only_reason(self) -> str | None:
        """The one line that explains why the session is read-only, or None when writable."""
        if not self.read_only:
            return None
        if self.newer:
            return (
                f"{self.domain} was saved by a newer mta-sts-wizard (schema {self.state.schema_version}); "
                "upgrade mta-sts-wizard to change it"
            )
        if self._lock is None:
            return locked_message(self.domain, self.holder_pid)
        return f"{self.domain} is closed"

    def save(self, now: datetime | None = None) -> None:
        """Write the state durably. Raises ReadOnlyError on a read-only session."""
        reason = self.read_only_reason
        if reason is not None:
            raise ReadOnlyError(reason)
        self.store.write(self.state, now)

    def refresh(self) -> DomainState:
        """Re-read the saved state from disk (a read-only window following the writer)."""
        if not self.read_only:
            return self.state
        self.messages = []
        self._take(self.store.read(self.domain))
        return self.state

    def try_upgrade(self) -> bool:
        """Become writable if the other window has let go; re-reads the state first, so the
        in-memory copy of a read-only session (never saved) is replaced by what is on disk."""
        if not self.read_only:
            return True
        if self.newer:
            return False
        lock = self.store.lock_for(self.domain)
        with disk_errors("lock", lock.path):
            acquired = lock.try_acquire()
        if not acquired:
            self.holder_pid = lock.holder_pid()
            return False
        try:
            self.store.remove_stale_temps(self.domain)
            result = self.store.read(self.domain, repair=True)
        except BaseException:
            lock.release()
            raise
        self._lock = lock
        self.holder_pid = None
        self.messages = []
        self._take(result)
        if result.newer:
            lock.release()
            return False
        return True

    def close(self) -> None:
        """Let go of the lock (safe to call twice)."""
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> DomainSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
