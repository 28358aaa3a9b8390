"""What the way to the first frame does (benchmarks/startup.py measures how fast it is).

The wizard leaves the cycle collector as it found it (no process-wide settings). Step 1 focuses its
pattern list without scrolling the body; the key bar follows the bindings and takes clicks.
"""

from __future__ import annotations

import argparse
import gc
from pathlib import Path

import pytest

from screens.app import WizardApp
from screens.footer import KeyBar
from tests.screens_support import make_app
from tests.test_screens_flow import screen_text
from wizard.commands import interactive


async def test_the_app_leaves_the_cycle_collector_alone(tmp_path: Path) -> None:
    """No process-wide tricks: a library caller's collector settings are the same after the wizard ran."""
    before = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("o", "n")
        await pilot.pause()
        assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == before
    assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == before


def test_the_cli_leaves_the_cycle_collector_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def failing_run(self: WizardApp) -> None:
        seen.append(gc.isenabled())
        raise RuntimeError("terminal went away")

    monkeypatch.setattr(WizardApp, "run", failing_run)
    monkeypatch.setattr(interactive, "has_terminal", lambda: True)  # pytest's stdin is no terminal
    args = argparse.Namespace(
        domain="example.com", state_dir=str(tmp_path), nameserver=["127.0.0.1:9"], ca_bundle=None, timeout=1.0
    )
    with pytest.raises(RuntimeError):
        interactive.run(args)
    assert seen == [True]
    assert gc.isenabled()


async def test_step1_focuses_its_patterns_and_shows_the_top_of_the_screen(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.screen.STEP == 1
        assert app.focused is not None and app.focused.id == "patterns"
        assert app.screen.query_one("#step-body").scroll_y == 0
        text = screen_text(app)
        assert "MX hosts in DNS" in text and "MX patterns in the policy" in text


async def test_the_key_bar_follows_the_bindings_and_presses_a_clicked_key(tmp_path: Path) -> None:
    from screens.overview import OverviewScreen

    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        shown, palette = bar.items()
        assert [item.description for item in shown][:4] == ["Next", "Overview", "Add MX", "Remove"]
        assert palette is not None and "palette" in str(bar.render())
        assert not next(item for item in shown if item.key == "n").enabled  # no pattern yet: Next is dimmed
        await pilot.press("a", *"mx.example.com", "enter", "escape")
        await pilot.pause()
        shown, _ = bar.items()
        assert next(item for item in shown if item.key == "n").enabled
        text = str(bar.render())
        await pilot.click(KeyBar, offset=(text.index("Overview"), 0))
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_the_key_bar_offers_escape_in_a_field_and_keeps_the_palette_key_when_keys_overflow(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(60, 24)) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        assert "Leave field" not in str(bar.render())  # the pattern list has focus: nothing to leave
        await pilot.press("a")  # into the add-pattern field: the letter keys type now
        await pilot.pause()
        text = str(bar.render())
        assert text.startswith(" esc Leave field") and text.rstrip().endswith("^p palette")
        await pilot.press("escape")
        await pilot.pause()
        text = str(bar.render())
        assert "Leave field" not in text and text.startswith(" n Next")
        assert text.rstrip().endswith("^p palette") and len(text) == 60  # the keys that fit, then the palette key
        # 60 columns: the screen's last keys give way, whole; help and quit always stay
        assert "? Help" in text and "q Quit" in text
