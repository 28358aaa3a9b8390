"""Kept step screens: built once per domain, shown again with a repaint (screens/app.py `_step_screen`).

What the user sees must not go stale: unsaved edits on a step come back as left; a saved value
a kept screen was built from that changed elsewhere rebuilds it; news that arrived while it was
hidden (an MX lookup) shows when it comes back; another domain gets its own screens.
"""

from __future__ import annotations

from pathlib import Path

from screens.messages import MxLookedUp
from screens.overview import OverviewScreen
from screens.start import StartScreen
from tests.screens_support import make_app
from tests.test_screens_flow import screen_text


async def test_unsaved_step1_edits_are_kept_when_returning(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        step1 = app.screen
        assert step1.STEP == 1
        await pilot.press("a", *"mx1.example.com", "enter", "escape")
        assert step1.patterns == ["mx1.example.com"]
        await pilot.press("o")
        assert isinstance(app.screen, OverviewScreen)
        assert app.state.policy is None  # not accepted, so not saved
        app.goto_step(1)
        await pilot.pause()
        assert app.screen is step1  # the same screen, not a new one
        assert "mx1.example.com" in str(step1.query_one("#patterns").get_option_at_index(0).prompt)
        assert "mx1.example.com" in screen_text(app)  # the policy preview too


async def test_a_kept_step_is_rebuilt_when_its_saved_policy_changes(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a", *"mx1.example.com", "enter", "escape", "n")
        await pilot.pause()
        step2 = app.screen
        assert step2.STEP == 2
        assert "mx: mx1.example.com" in screen_text(app)
        await pilot.press("b")
        await pilot.pause()
        assert app.screen.STEP == 1
        await pilot.press("a", *"mx2.example.com", "enter", "escape", "n")  # accept: a new policy is saved
        await pilot.pause()
        assert app.screen.STEP == 2
        assert app.screen is not step2  # built anew from the saved policy
        shown = screen_text(app)
        assert "mx: mx1.example.com" in shown and "mx: mx2.example.com" in shown
        await pilot.press("b")
        await pilot.pause()
        assert app.screen.STEP == 1 and app.screen.patterns == ["mx1.example.com", "mx2.example.com"]


async def test_news_that_came_while_hidden_shows_when_the_step_returns(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        step1 = app.screen
        await pilot.press("o")
        assert isinstance(app.screen, OverviewScreen)
        app.post_message(MxLookedUp("example.com", ["mx1.example.com"], [], None))
        await pilot.pause()
        assert "MX hosts in DNS: mx1.example.com" in screen_text(app)  # the overview saw it
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is step1
        assert "MX hosts in DNS: mx1.example.com" in screen_text(app)
        assert step1.patterns == ["mx1.example.com"]  # prefilled, as on a first visit after the lookup
        assert "covers mx1.example.com" in str(step1.query_one("#patterns").get_option_at_index(0).prompt)


async def test_another_domain_gets_its_own_step_screens(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        first = app.screen
        await pilot.press("a", *"mx1.example.com", "enter", "escape")
        app.show_start()
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)
        await pilot.press(*"example.org", "enter")
        await pilot.pause()
        assert app.screen.STEP == 1 and app.screen is not first
        assert "example.org" in screen_text(app)
        assert app.screen.patterns == []
        assert not first.is_attached  # the first domain's screen was let go


async def test_a_kept_screens_key_bar_stays_one_widget_across_switches(tmp_path: Path) -> None:
    """The key bar re-renders on every binding change (every o/n here): nothing piles up on a
    screen kept for the session (Textual's Footer rebuilt a widget per key each time)."""
    from screens.footer import KeyBar

    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        step1 = app.screen
        bar = step1.query_one(KeyBar)
        for _ in range(8):
            await pilot.press("o")
            await pilot.pause()
            await pilot.press("n")
            await pilot.pause()
        assert app.screen is step1 and step1.query_one(KeyBar) is bar
        assert not bar.children
        assert "o Overview" in str(bar.render())
