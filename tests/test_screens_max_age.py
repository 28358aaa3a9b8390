"""Pilot tests of step 1's custom max_age: typed in seconds or d/w, validated, saved and restored."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, RadioButton, RadioSet

from screens.step1_policy import read_max_age
from tests.screens_support import FIXED_NOW, make_app, wait_until
from tests.test_screens_flow import screen_text
from wizard.state import StateStore, set_step


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
        assert not screen.query("#max-age-custom")  # no field until the user's own value is chosen
        await pilot.click("#max-age-2")  # "your own…": a field opens, focused
        await pilot.pause()
        assert app.focused is screen.query_one("#max-age-custom", Input)
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
        assert "max_age: 259200" in screen_text(again)


async def test_presets_and_the_own_value_are_choices_of_one_set(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 60)) as pilot:
        screen = app.screen
        choices = screen.query_one("#max-age", RadioSet)
        own_button = screen.query_one("#max-age-2", RadioButton)
        assert str(own_button.label) == "your own…"
        assert str(choices.pressed_button.label).startswith("1 day")
        await pilot.click("#max-age-2")
        await pilot.pause()
        # Nothing typed yet: the current value stays the chosen one (re-pressed after the next
        # refresh, which a loaded machine may delay), and the field waits.
        await wait_until(pilot, lambda: str(choices.pressed_button.label).startswith("1 day"), timeout=5)
        assert str(choices.pressed_button.label).startswith("1 day") and screen.max_age == 86400
        await pilot.press("escape")  # leaving the field without a value changes nothing
        await pilot.pause()
        assert screen.max_age == 86400
        screen.query_one("#max-age-custom", Input).focus()
        await pilot.press(*"3d", "enter")
        await wait_until(pilot, lambda: choices.pressed_button is own_button, timeout=5)
        assert choices.pressed_button is own_button and str(own_button.label) == "259200 s (your own)"

        await pilot.click("#max-age-1")  # "2 days": a preset after an own value
        await wait_until(pilot, lambda: screen.max_age == 172800 and not own_button.value, timeout=5)
        assert screen.max_age == 172800 and "max_age: 172800" in screen_text(app)
        assert choices.pressed_button is screen.query_one("#max-age-1")
        assert not own_button.value and str(own_button.label) == "259200 s (your own)"  # still offered

        await pilot.click("#max-age-2")  # and back to the own value
        await wait_until(pilot, lambda: screen.max_age == 259200 and own_button.value, timeout=5)
        assert screen.max_age == 259200 and "max_age: 259200" in screen_text(app)
        assert [b.value for b in choices.query("RadioButton")] == [False, False, True]


async def test_switching_to_enforce_offers_its_presets_with_one_chosen(tmp_path: Path) -> None:
    session = StateStore(tmp_path).open("example.com")
    set_step(session.state, 6, "verified", FIXED_NOW)  # step 6 said ready: enforce is offered
    session.save(FIXED_NOW)
    session.close()
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.click("#mode-enforce")
        await pilot.pause()
        await pilot.pause()
        buttons = list(screen.query_one("#max-age", RadioSet).query(RadioButton))
        assert [str(b.label) for b in buttons[:2]] == ["1 week (604800 s)", "2 weeks (1209600 s)"]
        assert [b.value for b in buttons] == [False, True, False]  # the enforce default, and only it
        assert screen.max_age == 1209600 and "mode: enforce" in screen_text(app)
        await pilot.click("#max-age-0")
        await pilot.pause()
        assert [b.value for b in buttons] == [True, False, False] and screen.max_age == 604800
        await pilot.click("#mode-testing")
        await pilot.pause()
        await pilot.pause()
        assert [b.value for b in buttons] == [True, False, False] and screen.max_age == 86400
        assert str(buttons[0].label).startswith("1 day")
