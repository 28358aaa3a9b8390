"""The systemd service and timer, and the crontab line, that run `monitor` on a schedule.

Step 6's setup shows these to copy. Each names the state dir the wizard uses, so the scheduled
pass reads the same saved URLs, report sources and record. Exit code 1 (open problems) is a
normal outcome for the service, not a failure; cron mails whatever a job prints, so the crontab
line keeps only stderr (what went wrong on our side).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

UNIT = "mta-sts-monitor"


@dataclass(frozen=True)
class Snippet:
    """One text to copy: what it is, where it goes, and the text."""

    title: str
    where: str
    text: str
    filename: str


def program() -> list[str]:
    """How to start this program from a scheduler: the installed script, else this Python."""
    found = shutil.which("mta-sts-wizard")
    return [found] if found else [sys.executable, "-m", "wizard"]


def command(domains: list[str], state_dir: Path, exe: list[str] | None = None) -> list[str]:
    return [*(exe or program()), "monitor", *domains, "--state-dir", str(state_dir)]


def _systemd_quote(args: list[str]) -> str:
    # systemd expands % specifiers in ExecStart; a literal % is written %%.
    return " ".join(shlex.quote(a) for a in args).replace("%", "%%")


def service(domains: list[str], state_dir: Path, exe: list[str] | None = None) -> Snippet:
    names = ", ".join(domains)
    text = "\n".join(
        [
            "[Unit]",
            f"Description=MTA-STS monitoring pass for {names}",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=oneshot",
            f"ExecStart={_systemd_quote(command(domains, state_dir, exe))}",
            "# 1 means open problems (already notified), not a failed pass",
            "SuccessExitStatus=1",
            "# For an IMAP report source, put MTA_STS_WIZARD_IMAP_PASSWORD=... in this file (mode 600):",
            f"EnvironmentFile=-%h/.config/{UNIT}.env",
            "",
        ]
    )
    return Snippet("systemd service", f"~/.config/systemd/user/{UNIT}.service", text, f"{UNIT}.service")


def timer() -> Snippet:
    text = "\n".join(
        [
            "[Unit]",
            "Description=Run the MTA-STS monitoring pass every hour",
            "",
            "[Timer]",
            "OnCalendar=hourly",
            "RandomizedDelaySec=10min",
            "Persistent=true",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ]
    )
    return Snippet("systemd timer", f"~/.config/systemd/user/{UNIT}.timer", text, f"{UNIT}.timer")


def crontab(domains: list[str], state_dir: Path, exe: list[str] | None = None) -> Snippet:
    # In a crontab line an unescaped % ends the command (the rest becomes its stdin).
    line = " ".join(shlex.quote(a) for a in command(domains, state_dir, exe)).replace("%", "\\%")
    return Snippet("crontab line", "crontab -e", f"17 * * * * {line} >/dev/null\n", f"{UNIT}.crontab")


def explanations(state_dir: Path) -> dict[str, str]:
    """One paragraph per snippet: what it does and how to switch it on."""
    return {
        "systemd service": (
            "The service runs one monitoring pass and exits. It uses the state dir "
            f"{state_dir}, where the notification URLs saved here, the report sources and the "
            "record of what was already notified live. Exit code 1 (open problems) counts as success."
        ),
        "systemd timer": (
            "The timer starts the service every hour (at a random minute, and at boot when a run was "
            f"missed). Save both files, then run 'systemctl --user daemon-reload' and "
            f"'systemctl --user enable --now {UNIT}.timer'; 'loginctl enable-linger' keeps it running "
            "when you are logged out."
        ),
        "crontab line": (
            "Without systemd: add this line with 'crontab -e'. It runs a pass at minute 17 of every hour; "
            "cron mails you only what goes wrong on our side (stderr), the notifications go to your URLs."
        ),
    }
