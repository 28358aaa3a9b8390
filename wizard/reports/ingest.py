"""Store reports: an import of files and mailboxes, and one report body at a time.

Both go the same way: bounded bytes, one validator (wizard.reports.parse), rows
(wizard.reports.rows) inserted into the store, which keeps (organisation, report-id) unique.
An import streams its inputs in one process and writes them in short transactions, every
`commit_every` inputs (or sooner when the pending reports are large), so an interrupted import
keeps what it did, memory stays bounded, and another program writing to the same store waits
only for one transaction.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from wizard.reports.fields import printable_path
from wizard.reports.inputs import iter_candidates
from wizard.reports.model import Candidate, ReportRejected
from wizard.reports.parse import MAX_REPORT_BYTES, parse_report
from wizard.reports.rows import ReportRows, report_rows
from wizard.reports.store import ReportStore
from wizard.text import shown

#: Memory the parsed but not yet written reports may take, roughly: a commit comes sooner past this.
PENDING_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Rejection:
    """An input that gave no report, and why."""

    source: str
    reason: str

    def render(self) -> str:
        return f"skipped {shown(self.source)}: {shown(self.reason)}"


@dataclass(frozen=True)
class Note:
    """Something dropped from a report that was stored (a field that did not hold what it should)."""

    source: str
    text: str

    def render(self) -> str:
        return f"note {shown(self.source)}: {shown(self.text)}"


@dataclass
class ImportOutcome:
    """What an import did: new reports, reports already stored, and every input that gave none."""

    imported: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.imported + self.duplicates + len(self.rejected)

    def render(self) -> str:
        lines = [r.render() for r in self.rejected]
        lines += [n.render() for n in self.notes]
        lines.append(
            f"imported {self.imported} new reports ({self.duplicates} already in the store,"
            f" {len(self.rejected)} inputs skipped)"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class StoreOutcome:
    """What `store_report_bytes` did with one report body."""

    status: Literal["stored", "duplicate", "rejected"]
    #: Why it was rejected (one line), or None.
    reason: str | None = None
    #: What was dropped from a stored report (one line each).
    notes: tuple[str, ...] = ()
    #: The report's organisation and id when it parsed (stored or duplicate), else "".
    organisation: str = ""
    report_id: str = ""


def store_report_bytes(store: ReportStore, data: bytes, source: str, *, domain_hint: str | None = None) -> StoreOutcome:
    """Validate one report body (gzip or JSON bytes, as POSTed to a rua=https: endpoint or read
    from a file) and store it, with the limits and deduplication of an import.

    `source` is recorded as where the report came from; `domain_hint` is the report's own
    domain when the transport names it. Raises StoreError when the store cannot be written.
    """
    if len(data) > MAX_REPORT_BYTES:
        return StoreOutcome("rejected", f"report is larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB; not imported")
    if not data.strip():
        return StoreOutcome("rejected", "is empty")
    try:
        report = parse_report(data)
    except ReportRejected as exc:
        return StoreOutcome("rejected", str(exc))
    (new,) = store.add_rows([report_rows(report, printable_path(source), domain_hint)])
    status: Literal["stored", "duplicate"] = "stored" if new else "duplicate"
    return StoreOutcome(status, None, report.notes if new else (), report.organisation, report.report_id)


def import_paths(
    store: ReportStore,
    paths: Iterable[str | os.PathLike[str]],
    *,
    progress: Callable[[ImportOutcome], None] | None = None,
    commit_every: int = 1000,
) -> ImportOutcome:
    """Parse and store every report under `paths`; list every input that gave none, with a reason.

    Work is committed every `commit_every` inputs, so an interrupted import keeps what it did;
    `progress` is called after each commit.
    """
    return import_candidates(store, iter_candidates(paths), progress=progress, commit_every=commit_every)


def import_candidates(
    store: ReportStore,
    candidates: Iterable[Candidate],
    *,
    progress: Callable[[ImportOutcome], None] | None = None,
    commit_every: int = 1000,
) -> ImportOutcome:
    """`import_paths` for candidates from elsewhere (an IMAP mailbox: `message_candidates` per email)."""
    outcome = ImportOutcome()
    pending: list[tuple[ReportRows, tuple[str, ...]]] = []
    pending_bytes = taken = 0
    for cand in candidates:
        taken += 1
        if cand.reason is not None:
            outcome.rejected.append(Rejection(cand.source, cand.reason))
        else:
            try:
                report = cand.report or parse_report(cand.data or b"")
            except ReportRejected as exc:
                outcome.rejected.append(Rejection(cand.source, str(exc)))
            else:
                rows = report_rows(report, cand.source, cand.domain_hint)
                pending.append((rows, report.notes))
                pending_bytes += _weight(rows)
        if taken >= commit_every or pending_bytes >= PENDING_BYTES:
            _flush(store, pending, outcome, progress)
            pending_bytes = taken = 0
    if taken:
        _flush(store, pending, outcome, progress)
    if outcome.imported:
        store.make_durable()
    return outcome


def _weight(rows: ReportRows) -> int:
    """Roughly the bytes `rows` take as Python objects (a few hundred per row)."""
    return 512 * (1 + sum(1 + len(p.failures) for p in rows.policies))


def _flush(
    store: ReportStore,
    pending: list[tuple[ReportRows, tuple[str, ...]]],
    outcome: ImportOutcome,
    progress: Callable[[ImportOutcome], None] | None,
) -> None:
    added = store.add_rows([rows for rows, _ in pending]) if pending else []
    for (rows, notes), new in zip(pending, added, strict=True):
        if new:
            outcome.imported += 1
            outcome.notes.extend(Note(rows.source, note) for note in notes)
        else:
            outcome.duplicates += 1
    pending.clear()
    if progress:
        progress(outcome)
