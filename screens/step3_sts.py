"""Step 3: the `_mta-sts` TXT record that announces the policy, with its id.

Shown in zone-file form and as the name/type/value a DNS panel asks for, each copyable;
then live verification until resolvers see it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Label, Static

from screens.base import LiveStepScreen
from screens.publish_dialog import open_publish_dialog
from screens.widgets import CopyableValue, FindingsList, PollPanel
from wizard.generate import DEFAULT_TTL, quote_txt
from wizard.publish import wanted_records
from wizard.records import StsRecord


class StsRecordStep(LiveStepScreen):
    """Publish `_mta-sts.<domain> TXT "v=STSv1; id=..."`."""

    STEP = 3
    TITLE_TEXT = "The _mta-sts TXT record"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("u", "publish_for_me", "Publish it for me")]

    def record(self) -> StsRecord | None:
        policy_id = self.wizard.state.policy_id
        return StsRecord(policy_id) if policy_id else None

    def basis(self) -> tuple[object, ...]:
        """The record shown carries the saved policy id."""
        return (*super().basis(), self.wizard.state.policy_id)

    def compose_body(self) -> ComposeResult:
        domain = self.wizard.domain
        assert domain is not None
        record = self.record()
        if record is None:
            yield Static(Text("There is no policy id yet: accept a policy in step 1 first.", style="yellow"))
            return
        value = record.to_text()
        yield Static(
            Text(
                "Publish this TXT record once the policy file is served (step 2): senders that see the "
                "record fetch the file, and the id tells them when it changed."
            ),
            classes="intro",
        )
        yield CopyableValue(
            "Zone-file line",
            f"{domain.sts_name}. {DEFAULT_TTL} IN TXT {quote_txt(value)}",
            f"_mta-sts.{domain.ascii}.zone",
            id="zone-line",
        )
        yield Label(Text.assemble(("DNS panel: ", "bold"), ("name ", "dim"), "_mta-sts", ("  type ", "dim"), "TXT"))
        yield CopyableValue("Name", "_mta-sts", "name.txt", id="record-name")
        yield CopyableValue("Value (without quotes)", value, "value.txt", id="record-value")
        yield Label("Live check:")
        yield PollPanel(self.STEP, id="poll")
        yield FindingsList(id="findings", empty="")

    def on_mount(self) -> None:
        self.show_latest()

    def accept(self) -> bool:
        if self.record() is None:
            self.notify("accept a policy in step 1 first", severity="error")
            return False
        return True

    def action_publish_for_me(self) -> None:
        """Publish the record through the user's DNS (screens/publish_dialog.py), then check it live."""
        if self.accept():
            open_publish_dialog(self, wanted_records(self.wizard.state.domain, self.wizard.state.policy_id, ()))

    def show_latest(self) -> None:
        attempts = self.wizard.attempts.get(self.STEP)
        if attempts and self.record() is not None:
            self.query_one("#findings", FindingsList).show(attempts[-1].findings)
            self.query_one("#poll", PollPanel).refresh_poll()
