"""Pilot tests of saved progress in the UI: quit at each step and resume, read-only, regressions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from screens.overview import OverviewScreen
from tests.screens_support import make_app, settle, wait_until
from tests.test_screens_flow import GENERATED_ID, screen_text
from tests.world.https_server import Site
from tests.world.smtp_server import MxSpec
from wizard.policy import PolicyFile
from wizard.state import StateStore


def unpublished_world_domain(world, *, mx_spec=None) -> tuple[str, Site]:  # type: ignore[no-untyped-def]
    """A domain with its MX and a policy host answering 404: nothing of MTA-STS is live yet, so the wizard
    starts from step 1 (a live domain would be adopted); `finish_step` publishes each piece."""
    name = world.fresh()
    site = Site(body=b"", status=404, reason="Not Found")
    world.domain(name, mx=[f"mx.{name}"], policy=None, https=site, sts_id=None, tlsrpt=None, mx_spec=mx_spec)
    return name, site


def publish(world, name: str, site: Site | None, step: int) -> None:  # type: ignore[no-untyped-def]
    """Play the web server and DNS host: publish what the wizard generated for `step`."""
    if site is None:
        return
    if step == 2:
        site.body = PolicyFile(mode="testing", max_age=86400, mx=(f"mx.{name}",)).to_text().encode()
        site.status, site.reason = 200, "OK"
    elif step == 3:
        world.txt(f"_mta-sts.{name}", [f"v=STSv1; id={GENERATED_ID}"])
    elif step == 4:
        world.txt(f"_smtp._tls.{name}", [f"v=TLSRPTv1; rua=mailto:tlsrpt@{name}"])


async def finish_step(app, pilot, name: str, world=None, site: Site | None = None) -> None:  # type: ignore[no-untyped-def]
    """Do what a user does on the current step to get it verified, then press Next."""
    step = app.screen.STEP
    publish(world, name, site, step)
    if step == 4:
        await pilot.press(*f"mailto:tlsrpt@{name}", "enter")
    if step in (2, 3, 4):
        await pilot.press("p")
        await wait_until(pilot, lambda: app.step_status(step) == "verified", timeout=30)
    if step == 5:
        await wait_until(pilot, lambda: bool(app.attempts.get(5)) and not app.full_check_running(), timeout=40)
        assert app.step_status(5) == "verified", [f.render() for f in app.attempts[5][-1].findings]
    await pilot.press("n")
    await pilot.pause()
    assert step + 1 == app.screen.STEP


@pytest.mark.parametrize("quit_at", [1, 2, 3, 4, 5, 6])
async def test_quit_and_resume_opens_the_first_unverified_step_with_choices_restored(
    tmp_path: Path,
    world,  # type: ignore[no-untyped-def]
    quit_at: int,
) -> None:
    # To leave step 5 unverified, its full check must fail: an MX without STARTTLS does that
    # (steps 1-4 do not look at the MX servers).
    name, site = unpublished_world_domain(world, mx_spec=MxSpec(starttls=False) if quit_at == 5 else None)
    app = make_app(tmp_path, name, world=world, poll_seconds=0.5)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        while quit_at > app.screen.STEP:
            await finish_step(app, pilot, name, world, site)
        if quit_at == 5:
            await wait_until(pilot, lambda: bool(app.attempts.get(5)) and not app.full_check_running(), timeout=40)
            assert app.step_status(5) == "failed"
            assert "mx-no-starttls" in screen_text(app)
        await pilot.press("q")
    saved = StateStore(tmp_path).read(name).state
    assert saved is not None
    assert [saved.steps[n].status for n in range(1, quit_at)] == ["verified"] * (quit_at - 1)

    again = make_app(tmp_path, name, world=world, poll_seconds=0.5)
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(again, pilot)
        assert quit_at == again.screen.STEP
        assert again.regression_lines == []
        if quit_at == 5:
            await wait_until(pilot, lambda: bool(again.attempts.get(5)) and not again.full_check_running(), timeout=40)
        if quit_at > 1:
            assert again.state.policy_id == "20261128T120000"  # not regenerated
            again.goto_step(1)
            await pilot.pause()
            assert again.screen.patterns == [f"mx.{name}"]
            assert again.screen.mode == "testing" and again.screen.max_age == 86400
        if quit_at > 4:
            again.goto_step(4)
            await pilot.pause()
            assert again.screen.rua == [f"mailto:tlsrpt@{name}"]
            assert f"rua=mailto:tlsrpt@{name}" in screen_text(again)


async def test_second_window_opens_read_only_and_saves_nothing(tmp_path: Path) -> None:
    holder = StateStore(tmp_path).open("example.com")
    try:
        assert not holder.read_only
        app = make_app(tmp_path, "example.com", offline=True)
        async with app.run_test(size=(100, 30)) as pilot:
            assert app.session is not None and app.session.read_only
            assert f"open in another window (pid {os.getpid()})" in screen_text(app)
            assert "Editing and live checks are off in this window" in screen_text(app)
            assert app.screen.query_one("#add-pattern").disabled
            await pilot.press("a")  # editing is off: the key says why instead of doing nothing
            await pilot.pause()
            assert any(n.title == "Editing is off in this window" for n in app._notifications)
            assert app.screen.focused is None or app.screen.focused.id != "add-pattern"
            await pilot.press("n")
            await pilot.pause()
            assert app.screen.STEP == 1  # nothing to accept
        assert not StateStore(tmp_path).path_for("example.com").exists()
    finally:
        holder.close()


async def test_resume_reverifies_done_steps_and_reports_a_regression(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    name, site = unpublished_world_domain(world)
    app = make_app(tmp_path, name, world=world, poll_seconds=0.5)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        while app.screen.STEP < 4:
            await finish_step(app, pilot, name, world, site)
        await pilot.press("q")
    world.txt(f"_mta-sts.{name}", [])  # the TXT record disappears while the user is away

    again = make_app(tmp_path, name, world=world)
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(again, pilot)
        assert "the _mta-sts TXT record disappeared" in again.regression_lines
        assert any("the _mta-sts TXT record disappeared" in n.message for n in again._notifications)
        assert again.step_status(3) == "failed"
        again.show_overview()
        await pilot.pause()
        assert isinstance(again.screen, OverviewScreen)
        assert "Regressed since your last visit" in screen_text(again)
        assert "the _mta-sts TXT record disappeared" in screen_text(again)
