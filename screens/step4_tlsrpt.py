"""Step 4: the TLSRPT record (RFC 8460), so senders report TLS failures to you.

The rua input is validated by wizard.records.validate_rua_uri as the user types.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from screens.base import LiveStepScreen
from screens.publish_dialog import open_publish_dialog
from screens.receiver_panel import ReceiverPanel
from screens.widgets import CopyableValue, FindingsList, PollPanel
from wizard.generate import DEFAULT_TTL, quote_txt
from wizard.publish import wanted_records
from wizard.records import TlsRptRecord, validate_rua_uri


def split_rua(text: str) -> list[str]:
    """What was typed or pasted into the rua field, as addresses: a comma-separated list (as in the
    record, even with its leading `rua=`) is split; empty items are dropped, duplicates kept once."""
    value = text.strip()
    if value.lower().startswith("rua="):
        value = value[4:]
    return list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


class TlsRptStep(LiveStepScreen):
    """Publish `_smtp._tls.<domain> TXT "v=TLSRPTv1; rua=..."`."""

    STEP = 4
    TITLE_TEXT = "TLS reporting (TLSRPT)"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_rua", "Add address"),
        Binding("d", "remove_rua", "Remove"),
        Binding("u", "publish_for_me", "Publish it for me"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rua: list[str] = list(self.wizard.state.rua)

    def basis(self) -> tuple[object, ...]:
        """The saved report addresses (this screen saves its own changes at once and rebases)."""
        return (*super().basis(), tuple(self.wizard.state.rua))

    def compose_body(self) -> ComposeResult:
        domain = self.wizard.domain
        assert domain is not None
        yield Static(
            Text(
                "Senders that use MTA-STS send a daily report of TLS successes and failures to these "
                "addresses. Step 6 reads them to tell when enforce is safe."
            ),
            classes="intro",
        )
        yield Label("Report addresses (mailto: or https:):")
        yield OptionList(id="rua-list")
        yield Input(placeholder=f"mailto:tlsrpt@{domain.ascii}", id="rua-input")
        yield Static("", id="rua-feedback")
        yield CopyableValue("Zone-file line", "", f"_smtp._tls.{domain.ascii}.zone", id="zone-line")
        yield CopyableValue("Value (name _smtp._tls, type TXT)", "", "value.txt", id="record-value")
        yield ReceiverPanel(str(self.wizard.store.root), id="receiver")
        yield Label("Live check:")
        yield PollPanel(self.STEP, id="poll")
        yield FindingsList(id="findings", empty="")

    def on_mount(self) -> None:
        self.render_rua()
        self.show_latest()
        if not self.rua:
            self.query_one("#rua-input", Input).focus()

    def render_rua(self) -> None:
        domain = self.wizard.domain
        assert domain is not None
        box = self.query_one("#rua-list", OptionList)
        box.clear_options()
        if self.rua:
            box.add_options([Option(Text(uri), id=uri) for uri in self.rua])
        else:
            box.add_option(Option(Text("(none yet: type one below and press Enter)", style="dim"), disabled=True))
        value = TlsRptRecord(tuple(self.rua)).to_text() if self.rua else ""
        zone = f"{domain.tlsrpt_name}. {DEFAULT_TTL} IN TXT {quote_txt(value)}" if value else ""
        self.query_one("#zone-line", CopyableValue).set_value(zone or "(add a report address first)")
        self.query_one("#record-value", CopyableValue).set_value(value or "(add a report address first)")
        self.query_one("#receiver", ReceiverPanel).show(self.rua)

    @on(Input.Changed, "#rua-input")
    def _typed(self, event: Input.Changed) -> None:
        values = split_rua(event.value)
        feedback = self.query_one("#rua-feedback", Static)
        if not values:
            feedback.update("")
            return
        problems = [p for p in (validate_rua_uri(v) for v in values) if p]
        if problems:
            feedback.update(Text(f"✗ {problems[0]}", style="red"))
        else:
            feedback.update(Text(f"✓ Enter adds {'them' if len(values) > 1 else 'it'}", style="green"))

    @on(Input.Submitted, "#rua-input")
    def _submitted(self, event: Input.Submitted) -> None:
        values = split_rua(event.value)
        feedback = self.query_one("#rua-feedback", Static)
        problems = [f"{v}: {p}" for v in values if (p := validate_rua_uri(v))]
        if problems or not values:
            feedback.update(Text(f"✗ {problems[0] if problems else 'type a mailto: or https: address'}", style="red"))
            return
        added = [v for v in values if v not in self.rua]
        if added:
            self.rua.extend(added)
            self._store()
        event.input.value = ""
        feedback.update(Text(f"added {', '.join(values)}", style="green"))
        self.render_rua()
        self.set_focus(None)

    def _store(self) -> None:
        state = self.wizard.state
        if state.rua != self.rua:
            state.rua = list(self.rua)
            if state.steps[4].status in ("verified", "warning"):
                self.wizard.set_status(4, "waiting", "the report addresses changed: publish the new record")
            self.wizard.save()
            self.rebase()

    def action_add_rua(self) -> None:
        self.query_one("#rua-input", Input).focus()

    def action_remove_rua(self) -> None:
        index = self.query_one("#rua-list", OptionList).highlighted
        if index is None or index >= len(self.rua):
            return
        self.rua.pop(index)
        self._store()
        self.render_rua()

    def ready_to_check(self) -> bool:
        if not self.rua:
            self.notify("add at least one report address first", severity="error")
            return False
        self._store()
        return True

    def accept(self) -> bool:
        """TLSRPT is optional (a missing record is a warning), so Next works without addresses."""
        self._store()
        return True

    def action_publish_for_me(self) -> None:
        """Publish the record through the user's DNS (screens/publish_dialog.py), then check it live."""
        if self.ready_to_check():
            open_publish_dialog(self, wanted_records(self.wizard.state.domain, None, self.rua))

    def show_latest(self) -> None:
        attempts = self.wizard.attempts.get(self.STEP)
        if attempts:
            self.query_one("#findings", FindingsList).show(attempts[-1].findings)
            self.query_one("#poll", PollPanel).refresh_poll()
