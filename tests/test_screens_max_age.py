"""Pilot tests of step 1's custom max_age: typed in seconds or d/w, validated, saved and restored."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, RadioSet

from screens.step1_policy import read_max_age
from tests.screens_support import make_app
from tests.test_screens_flow import screen_text
from wizard.state import StateStore


def test_read_max_age_units_and_bounds() -> None:
    assert read_max_age("86400") == (86400, None)
    assert read_max_age(" 3d ") == (3 * 86400, None)
    assert read_max_age("2W") == (2 * 604800, None)
    assert read_max_age("0") == (0, None)
    assert read_max_age("31557600") == (31557600, None)
    for bad in ("", "-5", "1.5d", "abc", "3x", "31557601", "53w", "٣"):
        seconds, problem = read_max_age(bad)
        assert seconds is None and problem and "\n" not in problem, bad


async def test_custom_max_age_is_validated_saved_and_restored(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 60)) as pilot:
        screen = app.screen
        assert screen.STEP == 1
        await pilot.press("a", *"mx.example.com", "enter", "escape")
        custom = screen.query_one("#max-age-custom", Input)
        custom.focus()
        await pilot.press(*"3d", "enter")
        await pilot.pause()
        assert "max_age: 259200" in screen_text(app)
        own = screen.query_one("#max-age", RadioSet).pressed_button
        assert own is not None and str(own.label) == "259200 s (your own)" and own.display

        await pilot.press(*["backspace"] * 2, *"99999999", "enter")  # over a year: refused
        await pilot.pause()
        assert "more than the maximum 31557600 s" in screen_text(app)
        assert "max_age: 259200" in screen_text(app)  # the previous value is kept
        await pilot.press(*["backspace"] * 8, *"2x", "enter")
        await pilot.pause()
        assert "type a number of seconds" in screen_text(app)
        assert screen.max_age == 259200

        await pilot.press("escape", "n")
        await pilot.pause()
        assert app.screen.STEP == 2
        await pilot.press("q")

    saved = StateStore(tmp_path).read("example.com").state
    assert saved is not None and saved.policy is not None and saved.policy.max_age == 259200

    again = make_app(tmp_path, "example.com", offline=True)
    async with again.run_test(size=(100, 60)) as pilot:
        again.goto_step(1)
        await pilot.pause()
        screen = again.screen
        assert screen.max_age == 259200
        own = screen.query_one("#max-age", RadioSet).pressed_button
        assert own is not None and str(own.label) == "259200 s (your own)"
        assert screen.query_one("#max-age-custom", Input).value == "259200"
        assert "max_age: 259200" in screen_text(again)


async def test_presets_and_the_own_value_are_choices_of_one_set(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 60)) as pilot:
        screen = app.screen
        choices = screen.query_one("#max-age", RadioSet)
        own_button = screen.query_one("#max-age-2")
        assert not own_button.display  # no own value yet: only the presets show
        assert str(choices.pressed_button.label).startswith("1 day")
        screen.query_one("#max-age-custom", Input).focus()
        await pilot.press(*"3d", "enter")
        await pilot.pause()
        assert own_button.display and choices.pressed_button is own_button

        await pilot.click("#max-age-1")  # "2 days": a preset after an own value
        await pilot.pause()
        assert screen.max_age == 172800 and "max_age: 172800" in screen_text(app)
        assert choices.pressed_button is screen.query_one("#max-age-1")
        assert own_button.display and not own_button.value  # still offered, no longer chosen

        await pilot.click("#max-age-2")  # and back to the own value
        await pilot.pause()
        assert screen.max_age == 259200 and "max_age: 259200" in screen_text(app)
        assert [b.value for b in choices.query("RadioButton")] == [False, False, True]
