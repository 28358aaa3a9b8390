"""KeyBar: the bottom line every screen shows, with the keys that work there now.

It does what Textual's Footer does for this program (the screen's bindings with `show`, dimmed
when `check_action` disables them, the command palette key at the right, a click presses the key)
in one widget that re-renders when the bindings change. Textual's Footer is a container that
rebuilds a widget per key on every change: ten widgets to build, style and lay out on each
screen's first frame (~20 ms of step 1's), a rebuild per focus move or enabled action, and a
leak in Textual 8 (each replaced key stayed reachable through the Footer's `compact` watchers),
which the previous version of this module worked around with Textual internals.
"""

from __future__ import annotations

from typing import NamedTuple

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget

#: Between two keys.
_GAP = " "
#: Keys shown whatever else must give way: help and quit.
_ALWAYS = frozenset({"question_mark", "q"})


class KeyItem(NamedTuple):
    """One key as shown: its text, the key to press and whether it does anything now."""

    key: str
    display: str
    description: str
    enabled: bool


class KeyBar(Widget):
    """The keys of the current screen (and the focused widget), as one line."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-description-foreground;
        pointer: pointer;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        #: (first column, last column + 1, item) of each key drawn last, for clicks.
        self._spans: list[tuple[int, int, KeyItem]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen) -> None:
        self.refresh()

    def items(self) -> tuple[list[KeyItem], KeyItem | None]:
        """The keys to show (one per action, as the Footer does), and the command palette key."""
        active = self.screen.active_bindings
        shown: list[KeyItem] = []
        actions: set[str] = set()
        palette_key = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        for key, (_node, binding, enabled, _tooltip) in active.items():
            if not binding.show or binding.action in actions or key == palette_key:
                continue
            actions.add(binding.action)
            shown.append(self._item(binding, enabled))
        palette = None
        if palette_key is not None and palette_key in active:
            _node, binding, enabled, _tooltip = active[palette_key]
            palette = self._item(binding, enabled)
        return shown, palette

    def _item(self, binding: Binding, enabled: bool) -> KeyItem:
        return KeyItem(binding.key, self.app.get_key_display(binding), binding.description, enabled)

    def render(self) -> Content:
        """The keys from the left, as many as fit whole; the palette key keeps its place at the right."""
        shown, palette = self.items()
        width = self.size.width
        palette_text = _key_content(palette) if palette is not None else None
        room = width - (palette_text.cell_length + len(_GAP) if palette_text is not None else 0)
        parts: list[Content] = []
        spans: list[tuple[int, int, KeyItem]] = []
        column = 0
        texts = [(item, _key_content(item)) for item in shown]
        # Help and Quit are kept when keys overflow: the screen's own keys give way first, whole.
        kept = sum(text.cell_length + len(_GAP) for item, text in texts if item.key in _ALWAYS)
        full = False
        for item, text in texts:
            if item.key not in _ALWAYS:
                full = full or column + text.cell_length + kept > room
                if full:  # this key and the screen's keys after it give way
                    continue
            elif column + text.cell_length > room:
                break
            spans.append((column, column + text.cell_length, item))
            parts += [text, Content(_GAP)]
            column += text.cell_length + len(_GAP)
            if item.key in _ALWAYS:
                kept -= text.cell_length + len(_GAP)
        if palette is not None and palette_text is not None and width - palette_text.cell_length >= column:
            start = width - palette_text.cell_length
            parts += [Content(" " * (start - column)), palette_text]
            spans.append((start, width, palette))
        self._spans = spans
        return Content.assemble(*parts)

    def on_click(self, event: events.Click) -> None:
        for start, end, item in self._spans:
            if start <= event.x < end:
                if item.enabled:
                    self.app.simulate_key(item.key)
                else:
                    self.app.bell()
                return


def _key_content(item: KeyItem) -> Content:
    """` n Next`: the key in the footer's key colour, its description after it; dim when disabled."""
    key = Content.styled(f" {item.display} ", "bold $footer-key-foreground")
    text = Content.assemble(key, item.description)
    return text.stylize("dim") if not item.enabled else text
