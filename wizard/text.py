"""The one function that makes received text safe to show (CONTRACT.md, "Text output").

Anything that came from outside (DNS answers, HTTP headers and bodies, certificate fields, SMTP
replies, report fields, email headers, file names) passes through `shown` before it is printed
or put in a widget. Control characters would otherwise drive the terminal: ESC sequences set the
window title or clear the screen, CR and LF forge whole output lines, C1 controls act as ESC on
some terminals, and bidi overrides reorder what the reader sees. Each is written as a visible
backslash escape instead, so the text stays readable and nothing is lost.
"""

from __future__ import annotations

import json
import re

#: C0 controls (TAB, LF and CR included: a received value is one line), DEL, C1 controls, the
#: bidi marks, embeddings, overrides and isolates (Unicode TR9), the line and paragraph
#: separators, and lone surrogates (a file name that is not UTF-8), which no terminal can print.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

#: What `json.dumps` leaves raw: DEL, C1, the bidi and separator characters, lone surrogates (it
#: escapes C0 controls inside strings itself; outside strings only its own indentation occurs).
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: object) -> str:
    """`value` as one line of text with every control, bidi and separator character escaped.

    `shown("a\\x1b]0;owned\\x07")` is `a\\x1b]0;owned\\x07` with visible backslashes.
    Returns the same string object when there is nothing to escape.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable():
        return text
    return _UNSAFE.sub(_escape, text)


def shown_json(document: object, *, indent: int | None = 2) -> str:
    """`document` as JSON text that keeps non-ASCII readable yet cannot drive the terminal either.

    `json.dumps(..., ensure_ascii=False)` escapes only C0 controls: DEL, C1 controls and bidi
    marks would be printed raw, and a lone surrogate (a file name that is not UTF-8) could not
    be printed at all. Those are written as `\\uXXXX` escapes, which mean the same to every JSON
    reader (they can only occur inside strings).
    """
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    if text.isascii():
        return text
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
