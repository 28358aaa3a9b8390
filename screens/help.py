"""The `?` help screen: the keys, and what each step is for."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
MTA-STS makes sending servers insist on TLS when they deliver mail to your domain.
You publish a policy file over HTTPS and a TXT record that announces it; TLSRPT asks
senders to report TLS problems to you. This wizard walks you through it safely.

Steps
  1 Policy file   which MX hosts receive your mail, the mode, how long senders cache it
  2 Hosting       serve the file at https://mta-sts.<domain>/.well-known/mta-sts.txt
  3 _mta-sts TXT  the record that tells senders a policy exists, with its id
  4 TLSRPT        where senders send their daily TLS reports
  5 Verify        every check at once, each problem with its fix
  6 Monitor       watch the reports in testing mode before switching to enforce

Keys
  n / b          next step / previous step
  o              overview of all steps
  p              "I have published it": check now, then every few seconds until seen
  x              stop checking
  a / d / w / u  step 1: add an MX pattern / remove it / make it a wildcard / use the MX hosts from DNS
  e / a / d / g  step 6: enforce / raise max_age / turn off / add MX patterns (each asks first)
  c / s          copy the focused value / save it to a file
  Tab            move between fields; Escape leaves a text field
  r              re-run the full check (step 5); Enter on a row shows its fix
  c              step 6: a fresh full check
  r              step 6: import TLS reports (files, folders, mailboxes, IMAP)
  e / a / g / d  step 6: switch to enforce / raise max_age / MX change / turn off
  p / i / k / z  step 6, during a change: file published / id published / done / cancel
  t              step 6, in enforce: roll back to testing
  s              step 6: sort the failure table (Enter on a row: its failure details)
  ctrl+p         command palette (jump to any step)
  ctrl+t         switch between dark and light theme
  ?              this help        q  quit (your progress is saved)

Copy uses the system clipboard when there is one, else your terminal's clipboard
(OSC 52, works over SSH in most terminals). Every value is also shown in full and can
be saved to a file.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and steps; any of Escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static(Text("Help", style="bold"), id="help-title")
            yield Static(Text(HELP_TEXT), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
