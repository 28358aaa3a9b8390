"""Pilot tests of the rough edges a new user hit (issue 13, item 6), each through the real screens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from textual.widgets import Input

from screens.choice import CHOSEN, NOT_CHOSEN, ChoiceButton
from screens.confirm import ConfirmScreen
from screens.help import HelpScreen
from screens.start import StartScreen
from tests.screens_support import make_app, settle, wait_until
from tests.test_screens_flow import screen_text
from tests.test_screens_hosting import _choose, _saved_policy
from tests.world.world import World
from wizard.hosting import render_hosting
from wizard.policy import PolicyFile
from wizard.state import StateStore


async def test_a_refused_certificate_path_blocks_the_write(tmp_path: Path) -> None:
    _saved_policy(tmp_path)
    out = tmp_path / "out"
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 60)) as pilot:
        screen = app.screen
        await _choose(pilot, "nginx")
        screen.query_one("#out-dir", Input).value = str(out)
        screen.query_one("#cert-path", Input).focus()
        await pilot.press(*'/etc/ssl/my cert";.pem')
        await pilot.pause()
        assert "✗" in str(screen.query_one("#options-error").render())
        await pilot.press("escape", "w")
        await pilot.pause()
        assert "not written: fix the certificate chain file field first" in screen_text(app)
        assert not out.exists()
        screen.query_one("#cert-path", Input).value = "/etc/ssl/mta.pem"  # fixed: the write goes ahead
        await pilot.pause()
        await pilot.press("escape", "w")
        await pilot.pause()
        assert f"already up to date in {out.resolve()}" in screen_text(app)
        assert '"/etc/ssl/mta.pem"' in "".join(p.read_text() for p in out.rglob("*.conf"))


async def test_next_that_cannot_advance_says_what_is_missing(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.STEP == 1
        assert any("add at least one MX pattern first" in n.message for n in app._notifications)


async def test_the_policy_host_typed_as_the_domain_offers_the_parent(tmp_path: Path) -> None:
    app = make_app(tmp_path, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"mta-sts.example.com")
        await pilot.pause()
        assert "is the policy web host, not the mail domain: press Enter to set up example.com" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.domain is not None and app.domain.ascii == "example.com"


async def test_help_and_quit_keys_work_on_the_start_screen(tmp_path: Path) -> None:
    app = make_app(tmp_path, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "u  step 1" in screen_text(app) or "use the MX hosts from DNS" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)
        assert app.screen.query_one("#domain-input", Input).value == ""
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code is not None or not app.is_running


async def test_a_saved_domain_is_forgotten_from_the_start_screen_after_asking(tmp_path: Path) -> None:
    _saved_policy(tmp_path, "example.com")
    _saved_policy(tmp_path, "example.org")
    app = make_app(tmp_path, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: bool(app.screen.query("#saved-domains")))
        saved = app.screen.query_one("#saved-domains")
        saved.focus()
        saved.highlighted = 1  # example.org
        await pilot.pause()
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Forget example.org?" in screen_text(app) and "Nothing published changes" in screen_text(app)
        await pilot.press("enter")  # Cancel is the default
        await pilot.pause()
        assert StateStore(tmp_path).domains() == ["example.com", "example.org"]
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#confirm-ok")
        await wait_until(pilot, lambda: "example.org" not in screen_text(app))
        assert StateStore(tmp_path).domains() == ["example.com"]


async def test_radio_choices_show_without_colour_and_u_is_in_the_footer(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        marks = {b.id: str(b.render()) for b in app.screen.query(ChoiceButton)}
        assert CHOSEN in marks["mode-testing"] and NOT_CHOSEN not in marks["mode-testing"]
        assert NOT_CHOSEN in marks["mode-enforce"]
        keys = [item.key for item in app.screen.query_one("KeyBar").items()[0]]  # type: ignore[attr-defined]
        assert "u" in keys


async def test_a_max_age_under_one_day_gets_advice(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        await pilot.click("#max-age-2")  # "your own…"
        await pilot.pause()
        field = app.screen.query_one("#max-age-custom", Input)
        field.value = "3600"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.max_age == 3600
        assert "3600 s is under one day" in screen_text(app)


async def test_a_comma_separated_rua_list_is_split(tmp_path: Path) -> None:
    _saved_policy(tmp_path)
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(120, 50)) as pilot:
        app.goto_step(4)
        await pilot.pause()
        field = app.screen.query_one("#rua-input", Input)
        field.focus()
        field.value = "rua=mailto:tlsrpt@example.com, https://reports.example.com/tlsrpt"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.rua == ["mailto:tlsrpt@example.com", "https://reports.example.com/tlsrpt"]
        assert app.state.rua == app.screen.rua


async def test_a_failed_mx_lookup_says_so_instead_of_none_found(tmp_path: Path) -> None:
    app = make_app(tmp_path, "example.com")  # the resolver (127.0.0.1:9) never answers
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.mx_hosts is not None, timeout=30)
        await settle(app, pilot)
        text = screen_text(app)
        assert "MX hosts in DNS: lookup failed" in text and "none found" not in text


def test_cloudflare_instructions_say_each_thing_once_and_keep_the_record_clean() -> None:
    bundle = render_hosting("cloudflare-workers", "example.com", "version: STSv1\nmode: testing\n")
    assert bundle.dns_hint == "mta-sts.example.com. 300 IN AAAA 100::"
    dns_note = next(n for n in bundle.notes if n.startswith("DNS:"))
    assert "'mta-sts.example.com. 300 IN AAAA 100::'" in dns_note and "Proxied (orange cloud)" in dns_note
    assert sum("publish a new id" in n or "publish the new id" in n for n in bundle.notes) == 1


def test_check_of_a_domain_without_mx_does_not_pass_step_5(world: World, tmp_path: Path) -> None:
    name = world.fresh("nomx")
    world.domain(name, mx=[], policy=PolicyFile("testing", 86400, ("mx.example.net",)))
    proc = subprocess.run(
        [sys.executable, "-m", "wizard", "check", name, *world.cli_args(), "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "[PASS] step 5" not in proc.stdout
    assert "[SKIP] step 5" in proc.stdout and "the domain has no MX host" in proc.stdout
