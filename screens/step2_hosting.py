"""Step 2: serve the policy file at https://mta-sts.<domain>/.well-known/mta-sts.txt.

Shows the file and the exact URL, one choice per hosting way (the files come from
wizard.hosting), the certificate and DNS guidance, writing the files to a folder, and
live verification of the fetch.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from screens.base import LiveStepScreen
from screens.widgets import CopyableValue, FindingsList, PollPanel
from wizard.hosting import HOSTING_KINDS, HostingBundle, HostingError, render_hosting, write_bundle


class HostingStep(LiveStepScreen):
    """Publish the policy file over HTTPS."""

    STEP = 2
    TITLE_TEXT = "Hosting the policy file"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("w", "write_files", "Write files")]

    def __init__(self) -> None:
        super().__init__()
        state = self.wizard.state
        self.kind = state.hosting if state.hosting in HOSTING_KINDS else "folder"
        self.out_dir = state.hosting_options.get("out_dir", f"./mta-sts.{state.domain}")

    def policy_text(self) -> str:
        policy = self.wizard.state.policy
        return policy.text if policy else ""

    def compose_body(self) -> ComposeResult:
        domain = self.wizard.domain
        assert domain is not None
        if not self.policy_text():
            yield Static(Text("There is no policy yet: go back to step 1 (b) and accept one.", style="yellow"))
            return
        yield Static(Text.assemble(("Senders fetch exactly: ", "dim"), (domain.policy_url, "bold")), id="policy-url")
        yield CopyableValue("Policy file (serve with status 200, text/plain)", self.policy_text(), "mta-sts.txt")
        with Horizontal(id="hosting-row"):
            with Vertical(id="hosting-kinds"):
                yield Label("Where will you host it?")
                with RadioSet(id="hosting"):
                    for kind, title in HOSTING_KINDS.items():
                        yield RadioButton(title, value=kind == self.kind, id=f"kind-{kind}")
            with Vertical(id="hosting-write"):
                yield Label("Write the files into this folder (w):")
                yield Input(self.out_dir, id="out-dir")
                yield Static("", id="write-result")
        yield Static(id="hosting-notes")
        yield Vertical(id="hosting-files")
        yield Label("Live check of the fetch:")
        yield PollPanel(self.STEP, id="poll")
        yield FindingsList(id="findings", empty="")

    async def on_mount(self) -> None:
        if self.policy_text():
            await self.show_bundle()
            self.show_latest()

    def bundle(self) -> HostingBundle:
        domain = self.wizard.domain
        assert domain is not None
        return render_hosting(self.kind, domain.ascii, self.policy_text())

    async def show_bundle(self) -> None:
        try:
            bundle = self.bundle()
        except HostingError as exc:
            self.query_one("#hosting-notes", Static).update(Text(str(exc), style="red"))
            return
        notes = Text()
        notes.append(f"{bundle.title}\n", "bold")
        for note in bundle.notes:
            notes.append(f"• {note}\n")
        if bundle.dns_hint:
            notes.append("DNS record for the policy host:\n", "bold")
            notes.append(f"  {bundle.dns_hint}")
        self.query_one("#hosting-notes", Static).update(notes)
        files = self.query_one("#hosting-files", Vertical)
        await files.remove_children()
        await files.mount_all(
            CopyableValue(f"File: {path}", text, Path(path).name or "file.txt") for path, text in bundle.files.items()
        )

    @on(RadioSet.Changed, "#hosting")
    async def _kind_changed(self, event: RadioSet.Changed) -> None:
        kind = (event.pressed.id or "").removeprefix("kind-")
        if kind not in HOSTING_KINDS or kind == self.kind:
            return
        self.kind = kind
        self.wizard.state.hosting = kind
        self.wizard.save()
        await self.show_bundle()

    @on(Input.Submitted, "#out-dir")
    def _out_dir_submitted(self, _event: Input.Submitted) -> None:
        self.action_write_files()

    def action_write_files(self) -> None:
        if not self.policy_text():
            return
        text = self.query_one("#out-dir", Input).value.strip() or self.out_dir
        result_line = self.query_one("#write-result", Static)
        try:
            result = write_bundle(self.bundle(), Path(text).expanduser())
        except (HostingError, OSError) as exc:
            result_line.update(Text(f"✗ {exc}", style="red"))
            return
        if not result.ok:
            names = ", ".join(str(p) for p in result.conflicts)
            result_line.update(Text(f"✗ not written: {names} already hold other content", style="red"))
            return
        self.out_dir = text
        state = self.wizard.state
        state.hosting = self.kind
        state.hosting_options["out_dir"] = text
        self.wizard.save()
        written = len(result.written)
        unchanged = len(result.unchanged)
        result_line.update(Text(f"✓ {written} written, {unchanged} already up to date in {text}", style="green"))

    def accept(self) -> bool:
        state = self.wizard.state
        if not self.policy_text():
            self.notify("make the policy in step 1 first", severity="error")
            return False
        if state.hosting != self.kind:
            state.hosting = self.kind
            self.wizard.save()
        return True

    def action_next(self) -> None:
        state = self.wizard.state
        if state.steps[2].status == "not-started" and not self.wizard.session.read_only:  # type: ignore[union-attr]
            self.wizard.set_status(2, "waiting", "publish the file, then check it (p)")
        super().action_next()

    def show_latest(self) -> None:
        attempts = self.wizard.attempts.get(self.STEP)
        if attempts and self.is_mounted and self.policy_text():
            self.query_one("#findings", FindingsList).show(attempts[-1].findings)
            self.query_one("#poll", PollPanel).refresh_poll()
