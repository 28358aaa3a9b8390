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
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioSet, Static

from screens.base import LiveStepScreen
from screens.choice import ChoiceButton
from screens.widgets import CopyableValue, FindingsList, PollPanel
from wizard.hosting import (
    HOSTING_KINDS,
    SERVER_KINDS,
    HostingBundle,
    HostingError,
    WriteResult,
    render_hosting,
    write_bundle,
)
from wizard.text import shown

#: The server options step 2 offers for nginx/Apache/Caddy: state key -> (input id, label, placeholder).
SERVER_OPTIONS: dict[str, tuple[str, str, str]] = {
    "cert_path": ("cert-path", "Certificate chain file", "Let's Encrypt's path (default)"),
    "key_path": ("key-path", "Private key file", "Let's Encrypt's path (default)"),
    "web_root": ("web-root", "Web root", "/var/www/mta-sts.<domain> (default)"),
}
_OPTION_OF_INPUT = {input_id: key for key, (input_id, _, _) in SERVER_OPTIONS.items()}


class ConfirmOverwrite(ModalScreen[bool]):
    """Ask before replacing files that hold something else: a silently replaced web server
    config is the kind of surprise that breaks mail delivery later."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Overwrite"),
        Binding("n,escape", "answer(False)", "Keep my files"),
    ]

    def __init__(self, conflicts: list[Path]) -> None:
        super().__init__()
        self.conflicts = conflicts

    def compose(self) -> ComposeResult:
        with Vertical(id="overwrite-dialog", classes="dialog"):
            yield Label("These files already hold other content:")
            yield Static(Text("\n".join(f"  {path}" for path in self.conflicts)), id="overwrite-files")
            yield Static(Text("Overwrite them? y = overwrite, n / Escape = keep them (nothing is written)"))

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


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
        #: The last valid server options (what the bundle uses and what is saved).
        saved = state.hosting_options
        self.options: dict[str, str] = {k: saved[k] for k in SERVER_OPTIONS if saved.get(k)}
        #: Server options whose field holds a value that was refused (option -> why): no write until fixed.
        self.invalid: dict[str, str] = {}

    def policy_text(self) -> str:
        policy = self.wizard.state.policy
        return policy.text if policy else ""

    def basis(self) -> tuple[object, ...]:
        """The policy file shown and bundled (the hosting choices are this screen's own, saved as made)."""
        return (*super().basis(), self.policy_text())

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
                        yield ChoiceButton(title, value=kind == self.kind, id=f"kind-{kind}")
            with Vertical(id="hosting-write"):
                yield Label("Write the files into this folder (w):")
                yield Input(self.out_dir, id="out-dir")
                yield Static("", id="write-result")
                with Vertical(id="server-options"):
                    for key, (input_id, label, placeholder) in SERVER_OPTIONS.items():
                        yield Label(f"{label}:")
                        yield Input(self.options.get(key, ""), placeholder=placeholder, id=input_id)
                    yield Static("", id="options-error", classes="error-line")
        yield Static(id="hosting-notes")
        yield Vertical(id="hosting-files")
        yield Label("Live check of the fetch:")
        yield PollPanel(self.STEP, id="poll")
        yield FindingsList(id="findings", empty="")

    async def on_mount(self) -> None:
        if self.policy_text():
            self.show_server_options()
            await self.show_bundle()
            self.show_latest()

    def bundle(self) -> HostingBundle:
        domain = self.wizard.domain
        assert domain is not None
        return self.render_bundle(self.options)

    def render_bundle(self, options: dict[str, str]) -> HostingBundle:
        """The bundle for the chosen kind; the server options only reach the kinds that take them."""
        domain = self.wizard.domain
        assert domain is not None
        server = options if self.kind in SERVER_KINDS else {}
        return render_hosting(
            self.kind,
            domain.ascii,
            self.policy_text(),
            cert_path=server.get("cert_path") or None,
            key_path=server.get("key_path") or None,
            web_root=server.get("web_root") or None,
        )

    def show_server_options(self) -> None:
        """The certificate, key and web-root inputs only make sense for a server the user runs."""
        self.query_one("#server-options", Vertical).display = self.kind in SERVER_KINDS

    @on(Input.Changed, "#cert-path, #key-path, #web-root")
    async def _option_changed(self, event: Input.Changed) -> None:
        """Validate by rendering: a bad path shows one line and keeps the last good options
        (and the text typed, to fix); a good one is saved and the files re-rendered."""
        key = _OPTION_OF_INPUT.get(event.input.id or "")
        if key is None:
            return
        candidate = dict(self.options)
        value = event.value.strip()
        if value:
            candidate[key] = value
        else:
            candidate.pop(key, None)
        error_line = self.query_one("#options-error", Static)
        try:
            self.render_bundle(candidate)
        except HostingError as exc:
            self.invalid[key] = str(exc)
            error_line.update(Text(f"✗ {exc}", style="red"))
            return
        self.invalid.pop(key, None)
        error_line.update(Text(f"✗ {next(iter(self.invalid.values()))}", style="red") if self.invalid else "")
        if candidate == self.options:
            return
        self.options = candidate
        state = self.wizard.state
        for name in SERVER_OPTIONS:
            if name in candidate:
                state.hosting_options[name] = candidate[name]
            else:
                state.hosting_options.pop(name, None)
        self.wizard.save()
        await self.show_bundle()

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
        self.show_server_options()
        await self.show_bundle()

    @on(Input.Submitted, "#out-dir")
    def _out_dir_submitted(self, _event: Input.Submitted) -> None:
        self.action_write_files()

    def action_write_files(self) -> None:
        if not self.policy_text():
            return
        text = self.query_one("#out-dir", Input).value.strip() or self.out_dir
        if self.invalid and self.kind in SERVER_KINDS:
            # The files would carry the last good value, not the one on screen: fix the field first.
            label = SERVER_OPTIONS[next(iter(self.invalid))][1]
            self.query_one("#write-result", Static).update(
                Text(f"✗ not written: fix the {label.lower()} field first ({next(iter(self.invalid.values()))})", "red")
            )
            return
        result = self._write(text, overwrite=False)
        if result is None or result.ok:
            return
        conflicts = list(result.conflicts)
        if any(path.is_dir() for path in conflicts):
            names = ", ".join(str(p) for p in conflicts)
            self.query_one("#write-result", Static).update(Text(f"✗ not written: {names} is a folder", style="red"))
            return
        self.query_one("#write-result", Static).update(
            Text(f"? {len(conflicts)} file(s) hold other content: overwrite?", style="yellow")
        )

        def answered(overwrite: bool | None) -> None:
            if overwrite:
                self._write(text, overwrite=True)
            else:
                self.query_one("#write-result", Static).update(
                    Text("✗ nothing written: your existing files are kept", style="yellow")
                )

        self.app.push_screen(ConfirmOverwrite(conflicts), answered)

    def _write(self, text: str, *, overwrite: bool) -> WriteResult | None:
        """Write the bundle; None after an error (shown), else the result (conflicts left to the caller)."""
        result_line = self.query_one("#write-result", Static)
        try:
            result = write_bundle(self.bundle(), Path(text).expanduser(), overwrite=overwrite)
        except (HostingError, OSError) as exc:
            result_line.update(Text(f"✗ {exc}", style="red"))
            return None
        if not result.ok:
            return result
        self.out_dir = text
        state = self.wizard.state
        state.hosting = self.kind
        state.hosting_options["out_dir"] = text
        self.wizard.save()
        written = len(result.written)
        unchanged = len(result.unchanged)
        where = shown(str(Path(text).expanduser().resolve()))
        result_line.update(Text(f"✓ {written} written, {unchanged} already up to date in {where}", style="green"))
        return result

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
