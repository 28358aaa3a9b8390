"""Step 6's dialogs: import reports (paths with completion, or an IMAP mailbox) and a failure row's details.

The import dialog only collects what to read; the step 6 screen runs the import in a thread
worker (wizard.lifecycle.importing) and shows its progress and outcome. The IMAP password is
typed into a masked field, handed to that one import and never saved.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label, Static

from wizard.lifecycle.failure_details import DetailRow
from wizard.lifecycle.importing import ImapRequest, imap_problem, path_problem, split_paths
from wizard.text import shown


class PathSuggester(Suggester):
    """Completes the last path typed in the field from the folder it names (Right arrow accepts)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        head, sep, last = value.rpartition(",")
        typed = last.lstrip()
        if not typed:
            return None
        lead = value[: len(value) - len(typed)] if not sep else head + sep + last[: len(last) - len(typed)]
        expanded = os.path.expanduser(typed)
        folder, prefix = os.path.split(expanded)
        try:
            names = sorted(n for n in os.listdir(folder or ".") if n.startswith(prefix) and n != prefix)
        except OSError:
            return None
        if not names:
            return None
        name = names[0]
        done = typed[: len(typed) - len(prefix)] + name
        if os.path.isdir(os.path.join(folder or ".", name)):
            done += "/"
        return lead + done


@dataclass(frozen=True)
class ImportRequest:
    """What to import: paths, or an IMAP mailbox with the password typed for this import only."""

    paths: tuple[str, ...] = ()
    imap: ImapRequest | None = None
    password: str = ""

    def __repr__(self) -> str:  # the password never reaches a log or a traceback
        return f"ImportRequest(paths={self.paths!r}, imap={self.imap!r})"


class ImportDialog(ModalScreen[ImportRequest | None]):
    """Paths (files, folders, mbox, Maildir; several separated by commas) or IMAP over TLS."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, start: str = "") -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="import-dialog", classes="dialog"):
            yield Label(Content.styled("Import TLS reports", "bold"))
            yield Label("Files, folders, mbox or Maildir (commas between several; → completes):")
            yield Input(
                self.start, id="import-paths", suggester=PathSuggester(), placeholder="~/Downloads/tlsrpt", compact=True
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import files", id="import-files", variant="primary", compact=True)
            yield Label("Or an IMAP mailbox over TLS (the password is used once, never saved):")
            with Horizontal(classes="dialog-row"):
                yield Input(id="imap-host", placeholder="IMAP server", compact=True)
                yield Input(id="imap-user", placeholder="login name", compact=True)
            with Horizontal(classes="dialog-row"):
                yield Input("INBOX", id="imap-folder", placeholder="folder", compact=True)
                yield Input(id="imap-password", password=True, placeholder="password (masked)", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import from IMAP", id="import-imap", compact=True)
                yield Button("Cancel (Esc)", id="import-cancel", compact=True)
            yield Static(id="import-error", classes="error-line")

    def on_mount(self) -> None:
        self.query_one("#import-paths", Input).focus()

    def _error(self, text: str) -> None:
        self.query_one("#import-error", Static).update(Content(text))

    @on(Input.Submitted, "#import-paths")
    @on(Button.Pressed, "#import-files")
    def _files(self) -> None:
        paths = split_paths(self.query_one("#import-paths", Input).value)
        problem = path_problem(paths)
        if problem:
            self._error(shown(problem))
            return
        self.dismiss(ImportRequest(paths=tuple(paths)))

    @on(Input.Submitted, "#imap-password")
    @on(Button.Pressed, "#import-imap")
    def _imap(self) -> None:
        request = ImapRequest(
            host=self.query_one("#imap-host", Input).value,
            user=self.query_one("#imap-user", Input).value,
            folder=self.query_one("#imap-folder", Input).value or "INBOX",
        )
        problem = imap_problem(request)
        password_field = self.query_one("#imap-password", Input)
        if problem is None and not password_field.value:
            problem = "type the password (it is not saved)"
        if problem:
            self._error(problem)
            return
        password = password_field.value
        password_field.value = ""
        self.dismiss(ImportRequest(imap=request, password=password))

    @on(Button.Pressed, "#import-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class FailureDetails:
    """One failure row's details, read in a thread: the rows, and the patterns covering each MX."""

    kind: str
    key: str
    rows: Sequence[DetailRow]
    coverage: dict[str, list[str]]
    problem: str | None = None


_KIND_WORDS = {"result": "result type", "mx": "receiving MX", "org": "sending organisation", "ip": "sending IP"}


def details_content(details: FailureDetails) -> Content:
    parts: list[Content | str | tuple[str, str]] = [
        (f"Failures with {_KIND_WORDS.get(details.kind, details.kind)} ", "bold"),
        (shown(details.key), "bold"),
        "\n",
    ]
    if details.problem:
        parts += [(details.problem, "$error"), "\n"]
    if not details.rows:
        parts.append(("The reports gave no failure details for this row.", "$text-muted"))
    for row in details.rows:
        parts += [
            "\n",
            (f"{row.count} session(s) ", "bold"),
            (shown(row.result_type), "bold"),
            (f"  {row.first} to {row.last}" if row.first != row.last else f"  {row.first}", "$text-muted"),
            "\n  receiving MX: ",
            shown(row.receiving_mx) or "(not reported)",
            "\n  reason code: ",
            shown(row.reason_code) or "(none given)",
            "\n  additional information: ",
            shown(row.additional_information) or "(none given)",
            "\n",
        ]
    if details.coverage:
        parts += ["\n", ("Policy mx patterns covering each MX", "bold"), "\n"]
        for host, patterns in details.coverage.items():
            covered = ", ".join(patterns) if patterns else "NONE: this MX is not in the policy"
            parts += [f"  {shown(host)}: ", (covered, "bold" if patterns else "bold $error"), "\n"]
    return Content.assemble(*parts)


class FailureDetailsDialog(ModalScreen[None]):
    """Reason codes and additional-info URIs of one failure row, and the MX patterns covering it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("enter", "close", "Close", show=False),
    ]

    def __init__(self, details: FailureDetails) -> None:
        super().__init__()
        self.details = details

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="details-dialog", classes="dialog"):
            yield Static(details_content(self.details), id="details-text")
            yield Static(Content.styled("Escape or Enter closes", "$text-muted"))

    def action_close(self) -> None:
        self.dismiss(None)
