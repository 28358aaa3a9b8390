"""Pilot tests: the wizard driven by keys, against the test world (tests/world) on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from screens.base import StepScreen
from screens.overview import OverviewScreen
from screens.start import StartScreen
from screens.widgets import CopyableValue
from tests.screens_support import FIXED_NOW, make_app, settle, wait_until
from wizard.policy import PolicyFile
from wizard.state import StateStore

GENERATED_ID = "20261128T120000"  # what the fixed test clock gives the first policy


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """Everything the current screen shows, as plain text (for asserting on what the user sees)."""
    parts = []
    for widget in app.screen.query("Static, Label"):
        rendered = widget.render()
        parts.append(getattr(rendered, "plain", str(rendered)))
    return "\n".join(parts)


def good_world_domain(world, *, policy: bool = True, sts: bool = True, tlsrpt: bool = True, mx_spec=None) -> str:  # type: ignore[no-untyped-def]
    """A domain published exactly as the wizard (with the fixed clock) generates it."""
    name = world.fresh()
    mx = (f"mx.{name}",)
    world.domain(
        name,
        mx=mx,
        policy=PolicyFile(mode="testing", max_age=86400, mx=mx) if policy else None,
        sts_id=GENERATED_ID if sts else None,
        tlsrpt=f"v=TLSRPTv1; rua=mailto:tlsrpt@{name}" if tlsrpt else None,
        mx_spec=mx_spec,
    )
    return name


async def test_start_screen_validates_the_domain_as_it_is_typed(tmp_path: Path) -> None:
    app = make_app(tmp_path, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, StartScreen)
        await pilot.press(*"https://example.com/")
        assert "that is a URL; type just the domain" in screen_text(app)
        await pilot.press("enter")
        assert isinstance(app.screen, StartScreen)  # refused
        for _ in range(len("https://example.com/")):
            await pilot.press("backspace")
        await pilot.press(*"Example.COM.")
        assert "✓ example.com" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, StepScreen) and app.screen.STEP == 1
        assert app.domain is not None and app.domain.ascii == "example.com"


async def test_step1_prefills_mx_from_dns_and_edits_patterns(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh()
    world.domain(name, mx=[f"mx1.{name}", f"mx2.{name}"], policy=None, sts_id=None, tlsrpt=None)
    app = make_app(tmp_path, name, world=world)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert screen.STEP == 1
        assert screen.patterns == [f"mx1.{name}", f"mx2.{name}"]
        assert f"covers mx1.{name}" in str(screen.query_one("#patterns").get_option_at_index(0).prompt)
        # Wildcard the first: one pattern now covers both hosts.
        await pilot.press("w")
        assert screen.patterns == [f"*.{name}", f"mx2.{name}"]
        prompt = str(screen.query_one("#patterns").get_option_at_index(0).prompt)
        assert f"covers mx1.{name}, mx2.{name}" in prompt
        # Remove the wildcard: mx1 is no longer covered, a warning shows and Next is disabled.
        await pilot.press("d")
        assert screen.patterns == [f"mx2.{name}"]
        assert f"the MX host mx1.{name} matches no mx pattern" in screen_text(app)
        assert screen.can_advance is False
        await pilot.press("n")
        assert app.screen is screen
        # Add it back by typing; an invalid pattern is refused with advice.
        await pilot.press("a", *"mail.*.x", "enter")
        assert "wildcard that is not a whole leading" in screen_text(app)
        await pilot.press(*["backspace"] * 8, *f"mx1.{name}", "enter")
        assert screen.patterns == [f"mx2.{name}", f"mx1.{name}"]
        assert "Every MX host is covered" in screen_text(app)
        preview = screen.query_one("#preview", CopyableValue).value
        assert f"mx: mx1.{name}\n" in preview and "mode: testing\n" in preview and "max_age: 86400\n" in preview
        await pilot.press("escape", "n")
        await pilot.pause()
        assert app.screen.STEP == 2
        saved = StateStore(tmp_path).read(name).state
        assert saved is not None and saved.policy is not None
        assert saved.policy.mx == [f"mx2.{name}", f"mx1.{name}"]
        assert saved.steps[1].status == "verified"


async def test_enforce_is_not_offered_before_step6_says_ready(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)):
        enforce = app.screen.query_one("#mode-enforce")
        assert enforce.disabled
        assert str(app.screen.query_one("#mode").border_subtitle) == "enforce: once step 6 says ready"


async def test_copy_uses_pyperclip_when_a_clipboard_exists(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pyperclip

    copied: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", copied.append)
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a", *"mx.example.com", "enter", "escape", "n")
        await pilot.pause()
        assert app.screen.STEP == 2
        value = app.screen.query(CopyableValue).first()
        value.focus()
        await pilot.press("c")
        await pilot.pause()
        assert copied == [value.value] and "mode: testing" in value.value
        messages = [n.message for n in app._notifications]
        assert any("copied to the system clipboard" in m for m in messages)


async def test_copy_falls_back_to_osc52_without_a_clipboard(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pyperclip

    def no_clipboard(_text: str) -> None:
        raise pyperclip.PyperclipException("no clipboard mechanism")

    monkeypatch.setattr(pyperclip, "copy", no_clipboard)
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a", *"mx.example.com", "enter", "escape", "n", "n")
        await pilot.pause()
        assert app.screen.STEP == 3
        zone = app.screen.query_one("#zone-line", CopyableValue)
        # Click its "Copy" link: the line under the value, inside the border and padding.
        await pilot.click(zone, offset=(4, 2 + zone.value.count("\n")))
        await pilot.pause()
        assert app.clipboard == zone.value
        assert zone.value == f'_mta-sts.example.com. 3600 IN TXT "v=STSv1; id={GENERATED_ID}"'
        assert any("OSC 52" in n.message for n in app._notifications)


async def test_save_to_file_writes_the_value(tmp_path: Path) -> None:
    app = make_app(tmp_path / "state", "example.com", offline=True)
    target = tmp_path / "out" / "policy.txt"
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a", *"mx.example.com", "enter", "escape")
        preview = app.screen.query_one("#preview", CopyableValue)
        preview.focus()
        await pilot.press("s")
        await pilot.pause()
        dialog_input = app.screen.query_one("#save-path")
        dialog_input.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text() == preview.value


async def test_published_poll_succeeds_once_the_record_appears_between_polls(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    name = good_world_domain(world, sts=False)
    app = make_app(tmp_path, name, world=world, poll_seconds=0.5)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        # The policy file and TLSRPT are live already: adopted (steps 1, 2 and 4 verified), so the
        # wizard opens at the first step that is not live, the _mta-sts TXT.
        await wait_until(pilot, lambda: app.screen.STEP == 3)
        assert app.state.policy_id == GENERATED_ID
        await pilot.press("p")
        await wait_until(pilot, lambda: len(app.attempts.get(3, [])) >= 1)
        first = app.attempts[3][0]
        assert not first.seen and first.status == "waiting"
        assert app.polls[3].active
        assert "Next check in" in screen_text(app) or "Checking now" in screen_text(app)
        world.txt(f"_mta-sts.{name}", [f"v=STSv1; id={GENERATED_ID}"])
        await wait_until(pilot, lambda: app.step_status(3) == "verified")
        assert len(app.attempts[3]) >= 2
        assert not app.polls[3].active
        # The screen re-renders when it handles the App's StepUpdated message, a moment after the status.
        await wait_until(pilot, lambda: "_mta-sts TXT record: verified" in screen_text(app))
        assert f"v=STSv1; id={GENERATED_ID}" in screen_text(app)


async def test_cancel_stops_the_poll(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    name = good_world_domain(world, sts=False)
    app = make_app(tmp_path, name, world=world, poll_seconds=0.3)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await wait_until(pilot, lambda: app.screen.STEP == 3)  # steps 1, 2 and 4 adopted from the live world
        await pilot.press("p")
        await wait_until(pilot, lambda: len(app.attempts.get(3, [])) >= 1)
        await pilot.press("x")
        await settle(app, pilot)
        count = len(app.attempts[3])
        await pilot.pause(1.0)
        await settle(app, pilot)
        assert len(app.attempts[3]) == count
        assert "Live check: off" in screen_text(app)


async def test_network_errors_show_as_findings_not_crashes(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com")  # resolver 127.0.0.1:9 answers nothing
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert "dns-lookup-failed" in screen_text(app) or "MX hosts in DNS: none" in screen_text(app)
        await pilot.press("a", *"mx.example.com", "enter", "escape", "n", "n", "p")
        await wait_until(pilot, lambda: len(app.attempts.get(3, [])) >= 1, timeout=30)
        await pilot.press("x")
        await settle(app, pilot)
        assert app.attempts[3][0].findings[0].code == "dns-lookup-failed"
        assert "dns-lookup-failed" in screen_text(app)


async def test_keys_keep_working_while_a_slow_check_runs(tmp_path: Path) -> None:
    from tests.world.world import World

    (tmp_path / "w").mkdir()
    slow = World(tmp_path / "w", dns_delay=1.5)
    try:
        name = good_world_domain(slow)
        app = make_app(tmp_path / "state", name, world=slow, poll_seconds=5, timeout=10)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("a", *f"mx.{name}", "enter", "escape", "n", "n", "p")
            await pilot.pause()
            assert app.polls[3].running
            await pilot.press("o")
            await pilot.pause()
            assert isinstance(app.screen, OverviewScreen)
            assert app.polls[3].running  # the check lives on the App and survives navigation
            await wait_until(pilot, lambda: bool(app.attempts.get(3)), timeout=30)
            assert app.step_status(3) == "verified"
    finally:
        slow.close()


async def test_help_and_command_palette(tmp_path: Path) -> None:
    from screens.commands import StepCommands
    from screens.help import HelpScreen

    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        provider = StepCommands(app.screen)
        titles = [title for title, _cb, _help in provider._entries()]
        assert "Step 4: TLSRPT TXT" in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Step 4")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.STEP == 4


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_usable_at_80x24_in_both_themes(tmp_path: Path, theme: str) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        await pilot.press("a", *"mx.example.com", "enter", "escape")
        await pilot.press("n", "n", "n")
        await pilot.pause()
        assert app.screen.STEP == 4
        footer = app.screen.query_one("KeyBar")
        assert footer.region.y == 23 and footer.region.width == 80


async def test_start_screen_lists_saved_domains_after_the_prompt_and_resumes_one(tmp_path: Path) -> None:
    from textual.widgets import Input, OptionList

    for name in ("example.com", "example.org"):
        with StateStore(tmp_path).open(name) as session:
            session.save(FIXED_NOW)
    app = make_app(tmp_path, None, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        # Nothing focused: ? and q stay keys, and typing a letter starts the domain in the prompt.
        assert not app.screen.query_one("#domain-input", Input).has_focus
        await app.workers.wait_for_complete()
        await pilot.pause()
        saved = app.screen.query_one("#saved-domains", OptionList)
        lines = [str(saved.get_option_at_index(i).prompt) for i in range(saved.option_count)]
        assert len(lines) == 2 and lines[0].startswith("example.com  ·  step 1") and "example.org" in lines[1]
        assert "Resume a saved domain (Enter):" in screen_text(app)
        saved.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.domain is not None and app.domain.ascii == "example.org"
        assert app.screen.STEP == 1
