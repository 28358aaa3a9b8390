"""A radio button whose mark shows the choice without colour: ● chosen, ○ not.

Textual's RadioButton draws the same ● for every option and tells them apart by colour only,
which a monochrome terminal, a colour-blind user or a screen reader's text cannot see.
"""

from __future__ import annotations

from textual.content import Content
from textual.style import Style
from textual.widgets import RadioButton

CHOSEN = "●"
NOT_CHOSEN = "○"


class ChoiceButton(RadioButton):
    """RadioButton with a mark that differs by shape as well as colour."""

    @property
    def _button(self) -> Content:
        button_style = self.get_visual_style("toggle--button")
        side_style = Style(foreground=button_style.background, background=self.background_colors[1])
        return Content.assemble(
            (self.BUTTON_LEFT, side_style),
            (CHOSEN if self.value else NOT_CHOSEN, button_style),
            (self.BUTTON_RIGHT, side_style),
        )
