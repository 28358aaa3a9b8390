"""wizard.text.shown: nothing received can drive the terminal (CONTRACT.md, "Text output")."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from wizard.text import shown

_BIDI = {
    "\u061c",
    "\u200e",
    "\u200f",
    "\u2028",
    "\u2029",
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
}


def _unsafe(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or ch in _BIDI or unicodedata.category(ch) == "Cs"


def test_escapes_terminal_controls_visibly() -> None:
    assert shown("a\x1b]0;owned\x07b") == "a\\x1b]0;owned\\x07b"
    assert shown("line\r\nimported 500 new reports") == "line\\x0d\\x0aimported 500 new reports"
    assert shown("\x9b2J") == "\\x9b2J"
    assert shown("abc\u202edef") == "abc\\u202edef"
    assert shown("x\udcff") == "x\\udcff"


def test_plain_text_is_returned_unchanged() -> None:
    text = "mail.example.com"
    assert shown(text) is text
    assert shown("Bücher.example") == "Bücher.example"
    assert shown(42) == "42"


@given(st.text())
def test_no_unsafe_character_survives(text: str) -> None:
    out = shown(text)
    assert not any(_unsafe(ch) for ch in out)
    if not any(_unsafe(ch) for ch in text):
        assert out == text


@given(
    st.recursive(st.text(), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3))
)
def test_shown_json_is_the_same_json_without_anything_unsafe(document: object) -> None:
    import json

    from wizard.text import shown_json

    text = shown_json(document)
    assert json.loads(text) == document
    structural = {"\n"}  # the indentation's line breaks, outside any string
    assert not any(_unsafe(ch) for ch in text if ch not in structural)
