"""Copying generated values, and saving them to a file when copying cannot be trusted.

pyperclip talks to a real clipboard (X11, Wayland, macOS, Windows) and says when there
is none. Without one (a server over SSH), Textual's `copy_to_clipboard` sends OSC 52,
which many terminals honour but none confirm; so the user is told which way was used,
and every value is also shown in full and can be written to a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import App


def copy_text(app: App, text: str) -> str:
    """Copy `text`; return a short description of the way used, for the notification."""
    try:
        import pyperclip

        pyperclip.copy(text)
    except Exception:  # pyperclip raises its own exception types, or OSError from a helper program
        app.copy_to_clipboard(text)
        return "sent to the terminal's clipboard (OSC 52); if nothing pastes, save it to a file instead"
    return "copied to the system clipboard"


class SaveError(Exception):
    """The file could not be written; str(error) says why and what to do."""


def save_text(path: Path, text: str) -> Path:
    """Write `text` to `path`, never replacing a different existing file."""
    target = path.expanduser()
    if target.is_dir():
        raise SaveError(f"{target} is a folder; give a file name")
    if target.exists():
        try:
            if target.read_text(encoding="utf-8") == text:
                return target
        except (OSError, UnicodeDecodeError):
            pass
        raise SaveError(f"{target} already exists with other content; choose another name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        raise SaveError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
