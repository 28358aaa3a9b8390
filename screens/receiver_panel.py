"""Step 4's panel for `https:` report addresses: what must serve them, and the snippets to do it.

Shown only while an `https:` rua is listed; the text and files come from wizard.hosting.receiver.
"""

from __future__ import annotations

import getpass
import shutil

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from screens.widgets import CopyableValue
from wizard.hosting.receiver import DEFAULT_EXECUTABLE, receiver_snippets
from wizard.text import shown


class ReceiverPanel(Vertical):
    """One explanation and the nginx, Caddy and systemd snippets per `https:` rua."""

    DEFAULT_CSS = "ReceiverPanel { height: auto; }"

    def __init__(self, state_dir: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.display = False  # nothing to say until an https: address is listed (no blank line either)
        self.state_dir = state_dir
        self.shown_for: tuple[str, ...] = ()
        self.executable = shutil.which("mta-sts-wizard") or DEFAULT_EXECUTABLE
        try:
            self.user = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a container): the unit says whom to set
            self.user = "CHANGE-ME"

    def show(self, rua: list[str]) -> None:
        """Rebuild for these addresses (nothing when none is https:)."""
        https = tuple(uri for uri in rua if uri.lower().startswith("https://"))
        if https == self.shown_for:
            return
        self.shown_for = https
        self.remove_children()
        widgets = []
        for n, uri in enumerate(https):
            what, snippets = receiver_snippets(
                uri, state_dir=self.state_dir, user=self.user, executable=self.executable
            )
            if not snippets:
                continue
            widgets.append(Static(Text(shown(what)), classes="receiver-what"))
            widgets.extend(
                CopyableValue(s.title, s.text, s.filename, id=f"receiver-{n}-{i}") for i, s in enumerate(snippets)
            )
        self.display = bool(widgets)
        if widgets:
            self.mount_all(widgets)
