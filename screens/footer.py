"""The Footer every screen shows: Textual's own, minus a leak that grows with each binding change.

Textual's Footer recomposes whenever the bindings change (a screen shown again, focus moving,
Next enabled) and binds each new FooterKey to its `compact` reactive. The removed keys' watchers
stay in the Footer's watcher list until `compact` changes, which in this program it never does,
so every removed key (its styles, caches and strips) stays alive as long as the Footer does.
With screens kept for the session that reached thousands of keys after a few hundred key
presses, and the garbage collector's full passes over them paused the UI 100-200 ms every half
second. Pruning the closed keys after each recompose keeps the Footer at its current keys.

It also recomposes once per refresh, not once per binding change: opening step 1 changed the
bindings five times before its first frame (screen pushed, focus, Next enabled...), and each
change queued a full recompose of the keys.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class WizardFooter(Footer):
    """Textual's Footer that lets go of the keys it replaced, and styles each key once."""

    def __init__(self) -> None:
        super().__init__()
        # Textual's Footer composes no keys until the screen first announces its bindings, and then
        # rebuilds after the next refresh: the first frame showed a bare footer and the keys came a
        # frame later. The screen's bindings are known when the Footer is composed.
        self._bindings_ready = True

    def compose(self) -> ComposeResult:
        """Textual's keys, built already in the Footer's `compact` style: a FooterKey bound to it
        (all but the palette key) starts compact and is switched by its binding once mounted,
        which re-styled every key (a stylesheet pass each) on each recompose, first frame too."""
        for widget in super().compose():
            if isinstance(widget, FooterKey) and "compact" in (widget._reactive_connect or {}):
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget

    _recompose_queued = False

    def bindings_changed(self, screen: Screen) -> None:
        """Queue a recompose unless one is queued already (it reads the bindings when it runs)."""
        queues = screen.app.app_focus and self.is_attached and screen is self.screen
        if queues and self._recompose_queued:
            return
        super().bindings_changed(screen)  # marks the bindings ready and queues the recompose
        if queues:
            self._recompose_queued = True

    async def recompose(self) -> None:
        self._recompose_queued = False
        await super().recompose()
        prune_closed_watchers(self, "compact")


def prune_closed_watchers(node: object, attribute: str) -> int:
    """Drop the watchers of `attribute` on `node` whose watching widget has been removed; returns
    how many were dropped. (Textual keeps them in the node's `__watchers` until the value changes.)"""
    watchers = getattr(node, "__watchers", {}).get(attribute)
    if not watchers:
        return 0
    before = len(watchers)
    watchers[:] = [
        (owner, callback)
        for owner, callback in watchers
        if not (getattr(owner, "_closing", False) or getattr(owner, "_closed", False))
    ]
    return before - len(watchers)
