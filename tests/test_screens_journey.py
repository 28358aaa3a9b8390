"""Pilot tests of the safe journey (issue 13): start from the live world, gate every risky move,
tell the truth about phases, say why a wait will not end. Driven through the real screens
against the test world."""

from __future__ import annotations

import copy
from pathlib import Path

from screens.base import StepScreen
from screens.confirm import ConfirmScreen
from screens.disagree import DisagreeScreen
from tests.screens_support import confirm_dialog, make_app, settle, wait_until
from tests.test_screens_flow import GENERATED_ID
from tests.test_screens_step6 import _reports, _saved, _serve_new_file, screen_text
from tests.world.world import World
from wizard.policy import PolicyFile
from wizard.state import StateStore

LIVE_ID = "20250101T000000"


async def _opened(app, pilot, step: int) -> None:  # type: ignore[no-untyped-def]
    """Wait until the opening check has placed the domain and `step` shows."""
    await wait_until(
        pilot, lambda: not app.placing and isinstance(app.screen, StepScreen) and step == app.screen.STEP, timeout=30
    )
    await settle(app, pilot)


def _published(world: World, name: str) -> dict:  # type: ignore[type-arg]
    """Everything the world publishes for `name` (DNS records and the policy bodies)."""
    with world.dns._lock:
        return {k: list(v) for k, v in world.dns.records.items() if k[0].endswith(name)}


# ---------------------------------------------------------------- start from the live world


async def test_a_domain_live_in_enforce_is_adopted_and_opens_at_step_6(tmp_path: Path, world: World) -> None:
    name = world.fresh("live")
    policy = PolicyFile("enforce", 604800, (f"mx.{name}", f"*.backup.{name}"))
    scenario = world.domain(name, policy=policy, sts_id=LIVE_ID)
    before = copy.deepcopy(_published(world, name))
    body = scenario.https[0].sites[scenario.policy_host].body
    app = make_app(tmp_path, name, world=world)
    async with app.run_test(size=(120, 60)) as pilot:
        await _opened(app, pilot, 6)
        text = screen_text(app)
        assert "live: enforce" in text
        flat = " ".join(text.split())  # the verdict card wraps its lines
        assert "mode enforce (served: enforce)" in flat and "enforced" in flat
        assert "Testing has not started yet" not in text
        state = app.state
        assert state.policy is not None
        assert (state.policy.mode, state.policy.max_age) == ("enforce", 604800)
        assert state.policy.mx == [f"mx.{name}", f"*.backup.{name}"]  # the served lines, in their order
        assert state.policy_id == LIVE_ID and state.rua == [f"mailto:tlsrpt@{name}"]
        assert state.pending_change is None
        assert any("Started from the live world" in (n.title or "") for n in app._notifications)
        app.goto_step(1)  # no testing policy offered
        await pilot.pause()
        assert app.screen.mode == "enforce" and app.screen.max_age == 604800
        assert "mode: testing" not in screen_text(app)
    assert _published(world, name) == before  # adopting published nothing
    assert scenario.https[0].sites[scenario.policy_host].body == body
    saved = StateStore(tmp_path).read(name).state
    assert saved is not None and saved.policy_id == LIVE_ID
    assert all(saved.steps[n].status in ("verified", "warning") for n in range(1, 6))
    assert saved.mode_history.current is not None and saved.mode_history.current.mode == "enforce"


async def test_a_domain_live_in_testing_is_adopted_and_step_6_says_not_yet(tmp_path: Path, world: World) -> None:
    name = world.fresh("live")
    world.domain(name, policy=PolicyFile("testing", 172800, (f"mx.{name}",)), sts_id=LIVE_ID)
    app = make_app(tmp_path, name, world=world)
    async with app.run_test(size=(120, 60)) as pilot:
        await _opened(app, pilot, 6)
        await wait_until(pilot, lambda: "NOT YET" in screen_text(app))
        text = screen_text(app)
        assert "live: testing" in text and "mode testing (served: testing)" in " ".join(text.split())
        assert app.state.policy is not None and app.state.policy.max_age == 172800
        assert app.state.policy_id == LIVE_ID


async def test_saved_progress_that_differs_from_the_live_world_shows_both_and_use_live_adopts(
    tmp_path: Path, world: World
) -> None:
    name = world.fresh("differ")
    saved_id = _saved(tmp_path, name, PolicyFile("testing", 86400, (f"mx.{name}",)), 20)
    world.domain(name, policy=PolicyFile("enforce", 604800, (f"mx.{name}",)), sts_id=LIVE_ID)
    app = make_app(tmp_path, name, world=world)
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DisagreeScreen), timeout=30)
        await pilot.pause()
        text = screen_text(app)
        assert "Saved (yours)" in text and "Live (published now)" in text
        assert "mode testing, max_age 86400" in text and f"id {saved_id}" in text
        assert "mode enforce, max_age 604800" in text and f"id {LIVE_ID}" in text
        assert "Keeping yours lowers what is live" in text and "mode enforce -> testing" in text
        assert app.screen.focused is not None and app.screen.focused.id == "disagree-live-button"
        await pilot.click("#disagree-live-button")
        await _opened(app, pilot, 6)
        assert app.state.policy is not None and app.state.policy.mode == "enforce"
        assert app.state.policy_id == LIVE_ID
    saved = StateStore(tmp_path).read(name).state
    assert saved is not None and saved.policy is not None and saved.policy.max_age == 604800


async def test_keep_mine_keeps_the_saved_policy_and_waits_for_it_to_be_published(tmp_path: Path, world: World) -> None:
    name = world.fresh("differ")
    saved_id = _saved(tmp_path, name, PolicyFile("testing", 86400, (f"mx.{name}",)), 20)
    world.domain(name, policy=PolicyFile("testing", 172800, (f"mx.{name}",)), sts_id=LIVE_ID)
    app = make_app(tmp_path, name, world=world)
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DisagreeScreen), timeout=30)
        await pilot.pause()
        await pilot.click("#disagree-mine-button")
        await _opened(app, pilot, 2)
        assert app.state.policy is not None and app.state.policy.max_age == 86400
        assert app.state.policy_id == saved_id
        assert app.state.steps[2].status == "waiting" and app.state.steps[3].status == "waiting"
        assert app.state.steps[2].detail == "publish the saved policy file"


# ---------------------------------------------------------------- gate every risky move


async def test_enforce_asks_first_and_cancel_changes_nothing(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name, PolicyFile("testing", 86400, (f"mx.{name}",)), 20)
    _reports(tmp_path, name, 15)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        before = StateStore(tmp_path).read(name).state
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "Switch to enforce for example.com:" in text
        assert "readiness: Ready to enforce" in text and "no blocker and no open finding" in text
        assert app.screen.focused is not None and app.screen.focused.id == "confirm-cancel"
        await pilot.press("enter")  # the default button: Cancel
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert "Switch to enforce: cancelled; nothing changed" in screen_text(app)
        assert app.state.pending_change is None
    after = StateStore(tmp_path).read(name).state
    assert before is not None and after is not None and after.policy == before.policy
    assert after.pending_change is None


async def test_overriding_a_blocked_verdict_takes_the_domain_name_typed(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name, PolicyFile("testing", 86400, (f"mx.{name}",)), 20)
    _reports(tmp_path, name, 15, failing_day=14)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        assert "BLOCKED" in screen_text(app)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "blockers:" in text and "no STARTTLS on mx.example.com" in text
        assert "type the domain name (example.com)" in text
        ok = app.screen.query_one("#confirm-ok")
        assert ok.disabled
        await pilot.click("#confirm-ok")  # refused until the name is typed
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.state.pending_change is None
        await pilot.click("#confirm-typed")
        await pilot.press(*"example.org")
        assert ok.disabled
        for _ in range(3):
            await pilot.press("backspace")
        await pilot.press(*"com")
        assert not ok.disabled
        await pilot.click("#confirm-ok")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.state.pending_change is not None and app.state.pending_change.kind == "enforce"


async def test_raise_max_age_and_removal_ask_first(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name, PolicyFile("enforce", 86400, (f"mx.{name}",)), 30)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Raise max_age for example.com:" in screen_text(app)
        assert "max_age: 86400 s (1 day) -> 604800 s (7 days)" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.state.pending_change is None and "Raise max_age: cancelled" in screen_text(app)
        await pilot.press("a")
        await confirm_dialog(app, pilot)
        pending = app.state.pending_change
        assert pending is not None and pending.kind == "max-age" and pending.new_policy.max_age == 604800
        await pilot.press("z")
        await pilot.pause()
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Turn MTA-STS off" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.pending_change is None


async def test_an_mx_change_in_enforce_asks_first(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name, PolicyFile("enforce", 604800, (f"mx.{name}",)), 30)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        app.mx_hosts = [f"mx.{name}", f"mx2.{name}"]
        app.broadcast(6)
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert f"new patterns: mx2.{name}" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.pending_change is None


# ---------------------------------------------------------------- tell the truth about phases


async def test_enforce_is_not_recorded_until_the_late_id_is_seen(tmp_path: Path, world: World) -> None:
    name = world.fresh("late")
    policy = PolicyFile("testing", 86400, (f"mx.{name}",))
    policy_id = _saved(tmp_path, name, policy, 20)
    _reports(tmp_path, name, 15)
    scenario = world.domain(name, policy=policy, sts_id=policy_id)
    app = make_app(tmp_path, name, world=world, offline=True)
    async with app.run_test(size=(120, 80)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await confirm_dialog(app, pilot)
        new_id = await _serve_new_file(app, pilot, scenario)
        text = screen_text(app)
        assert text.count("phase 3 of 4") == 1 and "phase 2 of 4" not in text and "phase 1 of 4" not in text
        await pilot.press("i")  # the user has not published the new id yet
        await settle(app, pilot)
        await wait_until(pilot, lambda: f"not the new id {new_id}" in screen_text(app))
        text = screen_text(app)
        assert "The policy is enforced" not in text and "Enforced" not in text
        assert "live: enforce" not in text and "live: testing" in text
        assert app.state.mode_history.enforce_started_at is None
        saved = StateStore(tmp_path).read(name).state
        assert saved is not None and saved.mode_history.enforce_started_at is None
        world.txt(f"_mta-sts.{name}", [f"v=STSv1; id={new_id}"])  # published late
        await pilot.press("i")
        await settle(app, pilot)
        await wait_until(pilot, lambda: "done: the change is live and recorded" in screen_text(app))
        assert "live: enforce" in screen_text(app)
        assert app.state.mode_history.enforce_started_at == app.clock()


# ---------------------------------------------------------------- say why a wait will not end


async def test_a_wrong_id_on_the_authoritative_server_is_said_at_once(tmp_path: Path, world: World) -> None:
    name = world.fresh("typo")
    world.domain(name, policy=PolicyFile("testing", 86400, (f"mx.{name}",)), sts_id=None)
    app = make_app(tmp_path, name, world=world, poll_seconds=5)
    async with app.run_test(size=(120, 60)) as pilot:
        await _opened(app, pilot, 3)  # the file and TLSRPT are live: adopted, the TXT is next
        assert app.state.policy_id == GENERATED_ID
        world.txt(f"_mta-sts.{name}", ["v=STSv1; id=20240101T000000"])  # an old id, typed by hand
        await pilot.press("p")
        await wait_until(pilot, lambda: bool(app.attempts.get(3)))
        await pilot.pause()
        text = screen_text(app)
        assert "published with a different value" in text
        assert "your DNS servers (authoritative): v=STSv1; id=20240101T000000" in text
        assert f"your DNS servers publish id=20240101T000000, not the id the wizard expects (id={GENERATED_ID})" in text
        assert f'fix: set the TXT record at _mta-sts.{name} to "v=STSv1; id={GENERATED_ID}"' in text
        assert "waiting for caches" not in text
        assert any("not what the wizard expects" in (n.title or "") for n in app._notifications)
        await pilot.press("x")


async def test_lowering_the_live_policy_in_step_1_asks_first_and_says_what_it_does_to_cached_senders(
    tmp_path: Path, world: World
) -> None:
    name = world.fresh("lower")
    world.domain(name, policy=PolicyFile("enforce", 604800, (f"mx.{name}",)), sts_id=LIVE_ID)
    app = make_app(tmp_path, name, world=world)
    async with app.run_test(size=(120, 60)) as pilot:
        await _opened(app, pilot, 6)
        app.goto_step(1)
        await pilot.pause()
        await pilot.click("#mode-testing")  # the user chooses a lower mode
        await pilot.pause()
        assert app.screen.mode == "testing"
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "Lower the live policy?" in text
        assert "mode enforce -> testing" in text and "senders that cached the live policy keep it" in text
        await pilot.press("enter")  # Cancel (the default): nothing saved
        await pilot.pause()
        assert app.screen.STEP == 1 and app.state.policy is not None and app.state.policy.mode == "enforce"
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#confirm-ok")
        await wait_until(pilot, lambda: isinstance(app.screen, StepScreen) and app.screen.STEP == 2)
        assert app.state.policy is not None and app.state.policy.mode == "testing"


async def test_a_resolver_behind_the_authoritative_servers_keeps_enforce_unrecorded(
    tmp_path: Path, world: World
) -> None:
    from screens.app import WizardApp
    from tests.screens_support import fixed_clock
    from wizard.commands.common import NetworkSettings
    from wizard.domain import normalise_domain

    name = world.fresh("lag")
    policy = PolicyFile("testing", 86400, (f"mx.{name}",))
    policy_id = _saved(tmp_path, name, policy, 20)
    _reports(tmp_path, name, 15)
    scenario = world.domain(name, policy=policy, sts_id=policy_id)
    stale = world.stale_resolver()  # a caching resolver that keeps today's answers
    settings = NetworkSettings((stale.address,), world.ca_bundle, 3.0)
    app = WizardApp(StateStore(tmp_path), settings, normalise_domain(name), clock=fixed_clock, offline=True)
    async with app.run_test(size=(120, 80)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await confirm_dialog(app, pilot)
        scenario.https[0].sites[scenario.policy_host].body = app.state.pending_change.new_policy.text.encode()
        await pilot.press("p")
        await settle(app, pilot)
        await wait_until(pilot, lambda: "publish this TXT record" in screen_text(app))
        new_id = app.state.policy_id
        world.txt(f"_mta-sts.{name}", [f"v=STSv1; id={new_id}"])  # the DNS host has it; the resolver not yet
        await pilot.press("i")
        await settle(app, pilot)
        await wait_until(pilot, lambda: f"authoritative view: id={new_id} [ok]" in screen_text(app))
        text = screen_text(app)
        assert "resolvers may serve the old answer for up to" in text
        assert "done: the change is live" not in text and "live: enforce" not in text
        assert app.state.mode_history.enforce_started_at is None and app.state.pending_change is not None
