"""Pilot tests of step 2's server options (certificate, key, web root) and the overwrite question."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from screens.step2_hosting import ConfirmOverwrite
from tests.screens_support import FIXED_NOW, make_app
from tests.test_screens_flow import screen_text
from wizard.policy import PolicyFile
from wizard.state import StateStore, record_policy, set_step


def _saved_policy(root: Path, name: str = "example.com") -> None:
    """A domain whose step 1 is done, so the wizard opens at step 2."""
    with StateStore(root).open(name) as session:
        record_policy(session.state, PolicyFile(mode="testing", max_age=86400, mx=(f"mx.{name}",)), FIXED_NOW)
        set_step(session.state, 1, "verified", FIXED_NOW)
        session.save(FIXED_NOW)


def _files_text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(w.value) for w in app.screen.query("#hosting-files CopyableValue"))


async def _choose(pilot, kind: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.click(f"#kind-{kind}")
    await pilot.pause()


async def test_server_options_show_only_for_servers_validate_save_and_restore(tmp_path: Path) -> None:
    _saved_policy(tmp_path)
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 60)) as pilot:
        screen = app.screen
        assert screen.STEP == 2
        options = screen.query_one("#server-options")
        assert not options.display  # folder: no server options
        await _choose(pilot, "nginx")
        assert options.display
        assert "/etc/letsencrypt/live/mta-sts.example.com/fullchain.pem" in _files_text(app)

        screen.query_one("#cert-path", Input).focus()
        await pilot.press(*"etc/ssl/mta.pem")  # not absolute: refused, the last good bundle stays
        await pilot.pause()
        error = screen.query_one("#options-error").render()
        assert "must be an absolute path" in str(error) and "\n" not in str(error)
        assert screen.query_one("#cert-path", Input).value == "etc/ssl/mta.pem"  # what was typed is kept
        assert "/etc/letsencrypt/live/mta-sts.example.com/fullchain.pem" in _files_text(app)
        assert "cert_path" not in app.state.hosting_options

        await pilot.press("home", "/")  # fix it: /etc/ssl/mta.pem
        await pilot.pause()
        assert str(screen.query_one("#options-error").render()) == ""
        assert 'ssl_certificate     "/etc/ssl/mta.pem"' in _files_text(app)
        screen.query_one("#web-root", Input).focus()
        await pilot.press(*"/srv/mta")
        await pilot.pause()
        assert "/srv/mta" in _files_text(app)

        await _choose(pilot, "netlify")
        assert not options.display
        await _choose(pilot, "nginx")
        await pilot.press("q")

    saved = StateStore(tmp_path).read("example.com").state
    assert saved is not None
    assert saved.hosting == "nginx"
    assert saved.hosting_options["cert_path"] == "/etc/ssl/mta.pem"
    assert saved.hosting_options["web_root"] == "/srv/mta"

    again = make_app(tmp_path, "example.com", offline=True)
    async with again.run_test(size=(100, 60)) as pilot:
        screen = again.screen
        assert screen.query_one("#server-options").display
        assert screen.query_one("#cert-path", Input).value == "/etc/ssl/mta.pem"
        assert screen.query_one("#web-root", Input).value == "/srv/mta"
        assert 'ssl_certificate     "/etc/ssl/mta.pem"' in _files_text(again)


async def test_writing_over_different_files_asks_first(tmp_path: Path) -> None:
    _saved_policy(tmp_path)
    out = tmp_path / "site"
    policy_file = out / ".well-known" / "mta-sts.txt"
    policy_file.parent.mkdir(parents=True)
    policy_file.write_text("version: STSv1\nmode: none\nmax_age: 60\n")
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 60)) as pilot:
        out_dir = app.screen.query_one("#out-dir", Input)
        out_dir.value = str(out)
        out_dir.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmOverwrite)
        assert str(policy_file) in screen_text(app)
        await pilot.press("n")  # keep the user's file
        await pilot.pause()
        assert "nothing written" in screen_text(app)
        assert "mode: none" in policy_file.read_text()

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmOverwrite)
        await pilot.press("y")
        await pilot.pause()
        assert "1 written" in screen_text(app)
        assert "mode: testing" in policy_file.read_text()
        assert app.state.hosting_options["out_dir"] == str(out)
