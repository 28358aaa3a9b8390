"""Find reports in what the user points at: files, emails, mailboxes and folders of them.

Each path becomes a stream of `Candidate`s: report bytes with where they came from, or a
one-line reason why that input holds no report. Files are recognised by content, not only
by name (gzip magic, `{`, `From `, mail headers), so oddly named downloads still import.
Every read is bounded, and an unreadable or hostile file becomes a reason, never a stop:
one bad file never ends an import.
"""

from __future__ import annotations

import binascii
import email.message
import mailbox
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path

from wizard.reports.dkim import Verdict, check_email, contact_problem, current_key_lookup
from wizard.reports.fields import filename_domain, printable_path
from wizard.reports.model import ReportRejected
from wizard.reports.parse import GZIP_MAGIC, MAX_REPORT_BYTES, exc_text, read_bounded
from wizard.reports.pipeline import PARALLEL_AFTER, Parsed, resolved
from wizard.reports.store import ReportStore

#: Largest email accepted: a 20 MB report base64-encoded plus headers and a text part.
MAX_MESSAGE_BYTES = 28 * 1024 * 1024

REPORT_TYPES = ("application/tlsrpt+gzip", "application/tlsrpt+json")
#: Generic types some senders use; accepted only with a .json/.json.gz/.gz filename.
_GENERIC_TYPES = ("application/gzip", "application/x-gzip", "application/json", "application/octet-stream")
_HEADER_LINE = re.compile(rb"[!-9;-~]+:")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One report's bytes (`data`) from `source`, or the reason (`reason`) the source gave none."""

    source: str
    data: bytes | None = None
    reason: str | None = None
    domain_hint: str | None = None
    #: A file not read yet (a lazy listing): whoever parses it reads it (pipeline.read_small).
    path: str | None = None

    def __post_init__(self) -> None:
        if not self.source.isascii():  # a file name that is not UTF-8: shown, never stored as is
            object.__setattr__(self, "source", printable_path(self.source))


@dataclass(frozen=True)
class Rejection:
    source: str
    reason: str

    def render(self) -> str:
        return f"skipped {self.source}: {self.reason}"


@dataclass
class ImportOutcome:
    """What an import did: new reports, reports already stored, and every input that gave none."""

    imported: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.imported + self.duplicates + len(self.rejected)

    def render(self) -> str:
        lines = [r.render() for r in self.rejected]
        lines.append(
            f"imported {self.imported} new reports ({self.duplicates} already in the store,"
            f" {len(self.rejected)} inputs skipped)"
        )
        return "\n".join(lines)


def _sniff(head: bytes) -> str:
    if not head:
        return "empty"
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "json"
    if head.startswith(b"From "):
        return "mbox"
    if _HEADER_LINE.match(head):
        return "email"
    return "unknown"


def iter_candidates(paths: Iterable[str | os.PathLike[str]], *, lazy: bool = False) -> Iterator[Candidate | Listed]:
    """Every report candidate under `paths`, in a stable order, recursing into folders.

    With `lazy`, files are listed, not read (Candidate.path): an import's worker processes read
    them, and `file_candidates` expands one that turns out not to be a plain report file.
    """
    visited: set[str] = set()
    for raw in paths:
        path = Path(raw)
        try:
            if path.is_dir():
                yield from _folder(path, visited, lazy)
            elif path.is_file():
                yield from (_lazy(str(path)) if lazy and _report_name(path.name) else _file(path))
            elif path.exists():
                yield Candidate(str(path), reason=_NOT_REGULAR)
            else:
                yield Candidate(str(path), reason="no such file or folder")
        except OSError as exc:
            yield Candidate(str(path), reason=f"cannot be read ({exc_text(exc)})")


_NOT_REGULAR = "is not a regular file or folder (a dangling link, device or pipe); ignored"


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _report_name(name: str) -> bool:
    """Named like a report file: listed lazily. Anything else (emails, mailboxes) is read here, so
    the messages of a mailbox still flow to the workers one by one."""
    return name.endswith((".json.gz", ".json", ".gz"))


class Listed:
    """A report-named file listed, not read: the process that parses it reads it and takes the
    domain hint from its name (a plain slotted object: ~10x cheaper to make than a Candidate)."""

    __slots__ = ("path", "source")
    data = None
    reason = None
    domain_hint = None

    def __init__(self, source: str) -> None:
        self.path = source
        self.source = printable_path(source)  # the same object unless the name is not UTF-8


def _lazy(source: str) -> Iterator[Listed]:
    yield Listed(source)


def file_candidates(source: str) -> Iterator[Candidate]:
    """The candidates of one file, read here: what a lazily listed file expands to when it is not
    a plain report (an email, a mailbox, a big file), or when reading it failed in a worker."""
    try:
        yield from _file_any(source)
    except OSError as exc:
        yield Candidate(source, reason=f"cannot be read ({exc_text(exc)})")


def _folder(path: Path, visited: set[str], lazy: bool = False) -> Iterator[Candidate | Listed]:
    real = os.path.realpath(path)
    if real in visited:
        return  # a symlink loop, or the same folder given twice
    visited.add(real)
    if _is_maildir(path):
        yield from _maildir(path)
        return
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        yield Candidate(str(path), reason=f"cannot be listed ({exc_text(exc)})")
        return
    for entry in entries:
        try:
            if entry.is_dir():
                yield from _folder(Path(entry.path), visited, lazy)
            elif entry.is_file():
                if lazy and _report_name(entry.name):
                    yield Listed(entry.path)  # the bulk of a big import: no generator per file
                else:
                    yield from _file(entry.path)
            else:
                yield Candidate(entry.path, reason=_NOT_REGULAR)
        except OSError as exc:
            yield Candidate(entry.path, reason=f"cannot be read ({exc_text(exc)})")


#: First read of every file: a report is a few KB, so one read usually gets all of it.
_FIRST_READ = 64 * 1024
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def _file(path: Path | str) -> Iterator[Candidate]:
    """One file's candidates. A small report file costs open, one read and close, nothing more."""
    source = str(path)
    fd = os.open(source, _OPEN_FLAGS)
    try:
        data = os.read(fd, _FIRST_READ)
    finally:
        os.close(fd)
    if len(data) < _FIRST_READ:  # a short read is the whole regular file
        kind = "gzip" if data[:2] == GZIP_MAGIC else _sniff(data[:256])
        if kind in ("gzip", "json"):
            yield Candidate(source, data=data, domain_hint=filename_domain(source))
            return
        if kind == "empty":
            yield Candidate(source, reason="is empty")
            return
    yield from _file_any(source)


def _file_any(source: str) -> Iterator[Candidate]:
    """Any file, recognised by content: JSON, gzip, an email or a mailbox; reads bounded by the caps."""
    with open(source, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size <= MAX_REPORT_BYTES:
            data = f.read()  # one read for the common, small file
            head = data[:256]
        else:
            head = f.read(256)
        kind = _sniff(head)
        if kind == "empty":
            yield Candidate(source, reason="is empty")
        elif kind in ("gzip", "json"):
            if size > MAX_REPORT_BYTES or len(data) > MAX_REPORT_BYTES:
                yield Candidate(
                    source, reason=f"file is larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB; not imported"
                )
                return
            yield Candidate(source, data=data, domain_hint=filename_domain(source))
        elif kind == "email":
            if size > MAX_REPORT_BYTES:
                f.seek(0)
                try:
                    data = read_bounded(f, MAX_MESSAGE_BYTES, "email")
                except ReportRejected as exc:
                    yield Candidate(source, reason=str(exc))
                    return
            yield from message_candidates(data, source)
        elif kind != "mbox":  # mailbox.mbox opens an mbox itself, below
            yield Candidate(
                source, reason="is not a TLS report (.json/.json.gz), an email (.eml) or a mailbox; ignored"
            )
    if kind == "mbox":
        yield from _mbox(Path(source))


def _mbox(path: Path) -> Iterator[Candidate]:
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        yield from _mailbox_messages(box, lambda key, n: f"{path} (message {n})")
    finally:
        box.close()


def _maildir(path: Path) -> Iterator[Candidate]:
    box = mailbox.Maildir(path, factory=None, create=False)
    yield from _mailbox_messages(box, lambda key, n: f"{path} (message {key})")
    try:
        folders = sorted(box.list_folders())
    except OSError:
        folders = []
    for name in folders:
        yield from _maildir(path / f".{name}")


def _mailbox_messages(box: mailbox.Mailbox, label: Callable[[str, int], str]) -> Iterator[Candidate]:
    try:
        keys = sorted(box.keys()) if isinstance(box, mailbox.Maildir) else list(box.keys())
    except (OSError, mailbox.Error) as exc:
        yield Candidate(str(getattr(box, "_path", "mailbox")), reason=f"cannot be read as a mailbox ({exc_text(exc)})")
        return
    for n, key in enumerate(keys, 1):
        source = label(str(key), n)
        try:
            f = box.get_file(key)
            try:
                data = read_bounded(f, MAX_MESSAGE_BYTES, "email")  # type: ignore[arg-type]
            finally:
                f.close()
        except ReportRejected as exc:
            yield Candidate(source, reason=str(exc))
            continue
        except (OSError, KeyError, mailbox.Error) as exc:
            yield Candidate(source, reason=f"cannot be read ({exc_text(exc)})")
            continue
        yield from message_candidates(data, source)


class _Part:
    """One leaf MIME part: its headers, a view of its still-encoded body, and the message it is in
    (the email itself, or a report email forwarded inside it: whose DKIM signature vouches for it)."""

    __slots__ = ("body", "headers", "message")

    def __init__(self, headers: email.message.Message, body: memoryview, message: memoryview) -> None:
        self.headers = headers
        self.body = body
        self.message = message


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MAX_MIME_DEPTH = 8


def _split_headers(data: memoryview) -> tuple[email.message.Message, memoryview]:
    """Headers parsed by the email package (small), body kept as a view (no copy of a big attachment)."""
    m = _HEADER_END.search(data)
    if data[:1] in (b"\n", b"\r") and not (m and m.start() == 0):
        head_end = body_start = 0
    elif m:
        head_end, body_start = m.start(), m.end()
    else:
        head_end = body_start = len(data)
    headers = BytesHeaderParser().parsebytes(bytes(data[:head_end]))
    return headers, data[body_start:]


def _mime_leaves(data: memoryview, depth: int = 0, message: memoryview | None = None) -> Iterator[_Part]:
    """Walk a MIME entity without building the whole tree in memory.

    The stdlib parser keeps every line of a message as its own object (about ten times the
    message size); splitting on the boundary with a regex over a memoryview keeps one copy.
    """
    message = data if message is None else message
    headers, body = _split_headers(data)
    ctype = headers.get_content_type()
    if depth < _MAX_MIME_DEPTH and ctype == "message/rfc822":
        yield from _mime_leaves(body, depth + 1, body)  # a forwarded report
        return
    boundary = headers.get_param("boundary") if ctype.startswith("multipart/") else None
    if not boundary or depth >= _MAX_MIME_DEPTH:
        yield _Part(headers, body, message)
        return
    delimiter = re.compile(
        rb"(?:\r?\n|\A)--" + re.escape(str(boundary).encode("ascii", "replace")) + rb"(--)?[ \t]*(?:\r?\n|\Z)"
    )
    previous: int | None = None
    for m in delimiter.finditer(body):
        if previous is not None:
            yield from _mime_leaves(body[previous : m.start()], depth + 1, message)
        if m.group(1):
            return
        previous = m.end()
    if previous is not None:  # no closing delimiter: take the rest, as mail clients do
        yield from _mime_leaves(body[previous:], depth + 1, message)


def _is_report_part(part: _Part) -> bool:
    ctype = part.headers.get_content_type()
    if ctype in REPORT_TYPES:
        return True
    if ctype in _GENERIC_TYPES:
        name = (part.headers.get_filename() or "").lower()
        return name.endswith((".json", ".json.gz", ".gz"))
    return False


def _decode_body(part: _Part) -> bytes:
    cte = str(part.headers.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte == "base64":
        try:
            return binascii.a2b_base64(part.body)
        except binascii.Error as exc:
            raise ReportRejected(f"the report attachment has broken base64 ({exc_text(exc)})") from None
    if cte == "quoted-printable":
        return binascii.a2b_qp(part.body)
    return bytes(part.body)


def message_candidates(data: bytes, source: str) -> Iterator[Candidate]:
    """The report attachments of one email (RFC 8460 §5.3: multipart/report, tlsrpt+gzip or +json).

    Only an email with the report headers and a valid DKIM signature from the reporting domain
    counts (wizard.reports.dkim, SPEC.md §8); any other is listed with the reason.
    """
    try:
        view = memoryview(data)
        top, _ = _split_headers(view)
        hint = top.get("TLS-Report-Domain")
        hint = str(hint).strip().rstrip(".").lower() if hint else None
        parts = [p for p in _mime_leaves(view) if _is_report_part(p)]
        if not parts:
            yield Candidate(
                source, reason="email has no TLS report attached (no application/tlsrpt+gzip or +json part)"
            )
            return
        verdicts: dict[int, Verdict] = {}
        lookup = current_key_lookup()
        for part in parts:  # one check per email: this one, or a report email forwarded inside it
            if id(part.message) not in verdicts:
                if part.message is view:
                    verdicts[id(view)] = check_email(data, top, lookup)
                else:
                    inner = _split_headers(part.message)[0]
                    verdicts[id(part.message)] = check_email(bytes(part.message), inner, lookup)
        if len(verdicts) == 1 and (only := next(iter(verdicts.values()))).reason:
            yield Candidate(source, reason=only.reason)
            return
        for i, part in enumerate(parts, 1):
            label = source if len(parts) == 1 else f"{source} (attachment {i})"
            verdict = verdicts[id(part.message)]
            if verdict.reason:
                yield Candidate(label, reason=verdict.reason)
                continue
            try:
                payload = _decode_body(part)
            except ReportRejected as exc:
                yield Candidate(label, reason=str(exc))
                continue
            if not payload.strip():
                yield Candidate(label, reason="the report attachment is empty")
                continue
            problem = contact_problem(payload, verdict.submitter)
            if problem:
                yield Candidate(label, reason=problem)
                continue
            name = part.headers.get_filename() or ""
            yield Candidate(label, data=payload, domain_hint=hint or filename_domain(name))
    except Exception as exc:  # header parsing is lenient, but a reason beats a traceback
        yield Candidate(source, reason=f"email cannot be parsed ({type(exc).__name__}: {exc_text(exc)})")


def import_paths(
    store: ReportStore,
    paths: Iterable[str | os.PathLike[str]],
    *,
    progress: Callable[[ImportOutcome], None] | None = None,
    commit_every: int = 1000,
    workers: int | None = None,
    parallel_after: int = PARALLEL_AFTER,
) -> ImportOutcome:
    """Parse and store every report under `paths`; list every input that gave none, with a reason.

    Work is stored and committed every `commit_every` candidates, so an interrupted import keeps
    what it did; `progress` is called after each commit. An import larger than one commit builds
    the store's secondary indexes once at its end (ReportStore.deferred_indexes). Past `parallel_after` candidates,
    parsing moves to `workers` processes (default: one per core; 0 keeps it in this process);
    the outcome is the same either way (wizard.reports.pipeline).
    """
    return import_candidates(
        store,
        iter_candidates(paths, lazy=True),
        progress=progress,
        commit_every=commit_every,
        workers=workers,
        parallel_after=parallel_after,
    )


def import_candidates(
    store: ReportStore,
    candidates: Iterable[Candidate | Listed],
    *,
    progress: Callable[[ImportOutcome], None] | None = None,
    commit_every: int = 1000,
    workers: int | None = None,
    parallel_after: int = PARALLEL_AFTER,
) -> ImportOutcome:
    """`import_paths` for candidates from elsewhere (an IMAP mailbox: `message_candidates` per email)."""
    outcome = ImportOutcome()
    pending: list[Parsed] = []
    taken = 0
    rejected = outcome.rejected
    with ExitStack() as bulk:
        for parsed in resolved(
            candidates,
            workers=workers,
            parallel_after=parallel_after,
            expand=file_candidates,
            most=commit_every,  # so a commit comes after every commit_every inputs
        ):
            taken += parsed.inputs
            rejected.extend(Rejection(source, reason) for source, reason in parsed.rejected)
            if parsed.reports:
                pending.append(parsed)
            if taken >= commit_every:
                if not outcome.seen:  # a large import: index once at its end, not per row
                    bulk.enter_context(store.deferred_indexes())
                _flush(store, pending, outcome, progress)
                taken = 0
        if taken:
            _flush(store, pending, outcome, progress)
    if outcome.imported:
        store.make_durable()
    return outcome


def _flush(
    store: ReportStore,
    pending: list[Parsed],
    outcome: ImportOutcome,
    progress: Callable[[ImportOutcome], None] | None,
) -> None:
    added = store.add_tables([(p.table, p.first, p.last) for p in pending])
    new = sum(added)
    outcome.imported += new
    outcome.duplicates += len(added) - new
    pending.clear()
    if progress:
        progress(outcome)
