"""Importing reports from step 6: the same entry points `reports import` and `reports fetch-imap` use.

The screen calls these in a thread worker; `progress` is called from that thread after each
commit with the running outcome. DKIM keys of report emails are looked up through the wizard's
own name servers, as the commands do with --nameserver. The IMAP password is an argument and
is dropped here as soon as the login is done; nothing here saves it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.reports import ImportOutcome, import_paths
from wizard.reports.dkim import DnsKeyLookup, use_key_lookup
from wizard.reports.store import ReportStore, StoreError, store_path
from wizard.state import DomainState

Progress = Callable[[ImportOutcome], None]
#: Commit (and report progress) this often, so a folder of a few hundred reports shows movement.
COMMIT_EVERY = 100


@dataclass(frozen=True)
class ImportResult:
    """What an import from the wizard did, or why it could not run."""

    outcome: ImportOutcome | None
    error: str | None = None

    def lines(self) -> list[str]:
        if self.outcome is None:
            return [f"import failed: {self.error}"]
        o = self.outcome
        out = [f"import stopped: {self.error}"] if self.error else []
        out += [
            f"imported {o.imported} new report(s); {o.duplicates} already in the store; "
            f"{len(o.rejected)} input(s) skipped"
        ]
        out += [r.render() for r in o.rejected]  # the same escaped line `reports import` prints
        return out


def split_paths(text: str) -> list[str]:
    """Paths typed in one field: separated by commas or new lines (a path may hold spaces)."""
    parts = [p.strip() for chunk in text.splitlines() for p in chunk.split(",")]
    return [str(Path(p).expanduser()) for p in parts if p]


def path_problem(paths: Sequence[str]) -> str | None:
    """A one-line reason the paths cannot be imported, or None."""
    if not paths:
        return "type a file, mailbox or folder (several: separate them with commas)"
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        return f"no such file or folder: {missing[0]}"
    return None


def import_from_paths(
    state_dir: Path | str,
    paths: Sequence[str],
    nameservers: Sequence[str],
    timeout: float,
    progress: Progress | None = None,
) -> ImportResult:
    """`reports import PATH...` into the state dir's store (blocking: call it in a thread)."""
    try:
        with ReportStore(store_path(state_dir)) as store, use_key_lookup(DnsKeyLookup(tuple(nameservers), timeout)):
            outcome = import_paths(store, list(paths), progress=progress, commit_every=COMMIT_EVERY)
    except StoreError as exc:
        return ImportResult(None, str(exc))
    except OSError as exc:
        return ImportResult(None, f"{exc.strerror or exc}")
    return ImportResult(outcome)


@dataclass(frozen=True)
class ImapRequest:
    host: str
    user: str
    folder: str = "INBOX"
    port: int = 993


def remember_source(state: DomainState, paths: Sequence[str], imap: ImapRequest | None) -> list[str]:
    """Save where reports were imported from, so each `monitor` pass imports new ones from there
    too (folders as absolute paths; the IMAP mailbox without its password). Lines to show."""
    if imap is not None:
        saved = {"host": imap.host.strip(), "user": imap.user.strip(), "port": imap.port, "folder": imap.folder.strip()}
        if state.report_imap == saved:
            return []
        state.report_imap = saved
        return [
            f"monitor will read new reports from {saved['user']}@{saved['host']} ({saved['folder']}) on each pass, "
            "with the password from MTA_STS_WIZARD_IMAP_PASSWORD"
        ]
    folders = [str(Path(p).expanduser().resolve()) for p in paths if Path(p).expanduser().is_dir()]
    new = [f for f in dict.fromkeys(folders) if f not in state.report_folders]
    state.report_folders.extend(new)
    return [f"monitor will import new reports from {folder} on each pass" for folder in new]


def imap_problem(request: ImapRequest) -> str | None:
    if not request.host.strip():
        return "type the IMAP server's name"
    if not request.user.strip():
        return "type the login name"
    if not request.folder.isascii() or not request.folder.strip():
        return "give the folder's ASCII name as the server lists it (e.g. INBOX)"
    return None


def import_from_imap(
    state_dir: Path | str,
    request: ImapRequest,
    password: str,
    nameservers: Sequence[str],
    timeout: float,
    ca_bundle: str | None,
    progress: Progress | None = None,
) -> ImportResult:
    """`reports fetch-imap` into the state dir's store (blocking: call it in a thread)."""
    from wizard.reports.imap import ImapError, ImapSession, ImapSettings
    from wizard.reports.ingest import import_candidates

    settings = ImapSettings(
        host=request.host.strip(),
        user=request.user.strip(),
        port=request.port,
        folder=request.folder.strip(),
        ca_bundle=ca_bundle,
        timeout=timeout,
    )
    try:
        session = ImapSession(settings, password)
    except ImapError as exc:
        return ImportResult(None, str(exc))
    finally:
        del password
    try:
        with (
            session,
            ReportStore(store_path(state_dir)) as store,
            use_key_lookup(DnsKeyLookup(tuple(nameservers), timeout)),
        ):
            outcome = import_candidates(store, session.candidates(), progress=progress, commit_every=COMMIT_EVERY)
    except StoreError as exc:
        return ImportResult(None, str(exc))
    if session.error:
        return ImportResult(outcome, str(session.error))  # what was read before the failure is kept
    return ImportResult(outcome)
