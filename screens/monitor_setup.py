"""Step 6's monitoring setup: notification URLs, a test message, and the schedule to copy.

A modal over step 6 (key m). The user lists apprise URLs (one per line), sends a test message
to see it arrive, and saves the URLs for the domain; `monitor` passes use them. Below, the
systemd service and timer and a crontab line, each with the state dir this wizard uses and a
paragraph on what it does. Validating and sending import apprise and talk to the network, so
both run in a thread worker while the dialog shows what it is doing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, LoadingIndicator, Static, TextArea
from textual.worker import Worker, WorkerState

from screens.widgets import CopyableValue
from wizard.monitor import schedule
from wizard.monitor.notify import SendResult, send_test, target, url_problem
from wizard.text import shown


@dataclass(frozen=True)
class UrlCheck:
    """What the worker found: a problem per bad URL (line number, why), or the results of a send."""

    problems: list[tuple[int, str]]
    results: list[SendResult]
    labels: list[str]


def parse_urls(text: str) -> list[str]:
    """One URL per line; blank lines and surrounding spaces ignored, repeats dropped."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def check_urls(urls: list[str], domain: str, timeout: float, *, send: bool) -> UrlCheck:
    """Validate every URL (and send the test message when asked). Blocking: run it in a thread."""
    problems = [(i, p) for i, u in enumerate(urls, start=1) if (p := url_problem(u)) is not None]
    labels = [target(u).label for u in urls] if not problems else []
    results = send_test(urls, domain, timeout) if send and not problems else []
    return UrlCheck(problems, results, labels)


class MonitorSetup(ModalScreen[None]):
    """Notification URLs for `monitor`, a test message, and the schedule that runs it."""

    DEFAULT_CSS = """
    MonitorSetup { align: center middle; }
    MonitorSetup #monitor-dialog {
        width: 90%; max-width: 110; height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    MonitorSetup TextArea { height: 5; }
    MonitorSetup #monitor-buttons { height: auto; margin: 1 0; }
    MonitorSetup #monitor-buttons Button { margin-right: 2; }
    MonitorSetup LoadingIndicator { height: 1; }
    MonitorSetup Static { height: auto; }
    MonitorSetup .explain { margin: 1 0 0 0; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+s", "save", "Save URLs"),
        Binding("ctrl+n", "test", "Send a test"),
    ]

    def __init__(self, domain: str, urls: list[str], state_dir: Path, timeout: float) -> None:
        super().__init__()
        self.domain = domain
        self.urls = list(urls)
        self.state_dir = state_dir
        self.timeout = timeout

    def compose(self) -> ComposeResult:
        snippets = [
            schedule.service([self.domain], self.state_dir),
            schedule.timer(),
            schedule.crontab([self.domain], self.state_dir),
        ]
        why = schedule.explanations(self.state_dir)
        with VerticalScroll(id="monitor-dialog"):
            yield Static(Text(f"Monitoring {self.domain}: notifications and schedule", "bold"))
            yield Static(
                Text(
                    "A monitoring pass checks the domain, reads new reports and notifies each new problem once "
                    "and its recovery once. Notification URLs, one per line, in apprise's syntax: "
                    "mailto://user:pass@smtp.example.com?to=you@example.com, json://host/path, "
                    "slack://..., ntfy://topic, gotify://..., msteams://..."
                )
            )
            yield TextArea("\n".join(self.urls), id="monitor-urls", soft_wrap=False)
            with Horizontal(id="monitor-buttons"):
                yield Button("Send a test (ctrl+n)", id="monitor-test")
                yield Button("Save URLs (ctrl+s)", id="monitor-save", variant="primary")
                yield Button("Close (Esc)", id="monitor-close")
            yield LoadingIndicator(id="monitor-busy")
            yield Static(id="monitor-status")
            for snippet in snippets:
                yield Static(Text(why[snippet.title]), classes="explain")
                yield CopyableValue(f"{snippet.title}: {snippet.where}", snippet.text, snippet.filename)

    def on_mount(self) -> None:
        self.query_one("#monitor-busy", LoadingIndicator).display = False

    # ------------------------------------------------------------------ actions

    def action_close(self) -> None:
        self.dismiss(None)

    def action_test(self) -> None:
        self._start(send=True)

    def action_save(self) -> None:
        self._start(send=False)

    @on(Button.Pressed, "#monitor-test")
    def _test_pressed(self) -> None:
        self.action_test()

    @on(Button.Pressed, "#monitor-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#monitor-close")
    def _close_pressed(self) -> None:
        self.action_close()

    def _start(self, *, send: bool) -> None:
        urls = parse_urls(self.query_one("#monitor-urls", TextArea).text)
        if send and not urls:
            self._status(Text("Give at least one URL to send a test to.", "yellow"))
            return
        doing = f"sending a test notification to {len(urls)} URL(s)…" if send else "checking the URLs…"
        self._status(Text(doing, "dim"))
        self.query_one("#monitor-busy", LoadingIndicator).display = True
        self._work(urls, send)

    @work(thread=True, exclusive=True, group="monitor-setup", exit_on_error=False)
    def _work(self, urls: list[str], send: bool) -> tuple[list[str], bool, UrlCheck]:
        return urls, send, check_urls(urls, self.domain, self.timeout, send=send)

    @on(Worker.StateChanged)
    def _done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "monitor-setup" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.query_one("#monitor-busy", LoadingIndicator).display = False
        if event.state == WorkerState.ERROR:
            self._status(Text(f"could not check the URLs: {shown(event.worker.error)}", "red"))
            return
        urls, send, found = event.worker.result  # type: ignore[misc]
        if found.problems:
            out = Text()
            for line, why in found.problems:
                out.append(f"line {line}: {why}\n", "red")
            self._status(out)
            return
        if send:
            self._status(_results_text(found.results))
        else:
            self._save(urls, found.labels)

    def _save(self, urls: list[str], labels: list[str]) -> None:
        app: Any = self.app
        if app.read_only_reason:
            self._status(Text(f"read-only, not saved: {app.read_only_reason}", "yellow"))
            return
        app.state.notify_urls = urls
        app.save()
        self.urls = urls
        out = Text(f"saved {len(urls)} URL(s) for {self.domain}; monitoring passes notify them", "green")
        for label in labels:
            out.append(f"\n  {label}")
        self._status(out)

    def _status(self, text: Text) -> None:
        self.query_one("#monitor-status", Static).update(text)


def _results_text(results: list[SendResult]) -> Text:
    out = Text()
    for r in results:
        if r.ok:
            out.append(f"✓ {r.target.label}: sent; check that it arrived\n", "green")
        else:
            out.append(f"✗ {r.target.label}: {shown(r.error)}\n", "red")
    return out
