"""Pilot tests of "publish it for me" in steps 3, 4 and the step 6 switch.

The DNS is the in-process test world behind an RFC 2136 front (tests/publish_support.py) that
checks the TSIG signature and applies the update to the world's zone, so the wizard's live
checks (and step 6's policy host over HTTPS) run as for a user. The same code is run against
Knot in test_publish_realservers.py.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList

from screens.publish_dialog import PublishDialog
from tests.publish_support import start_front
from tests.screens_support import confirm_dialog, make_app, settle, wait_until
from tests.test_screens_flow import GENERATED_ID, good_world_domain, screen_text
from tests.test_screens_step6 import _reports, _saved
from tests.test_screens_step6 import screen_text as step6_text
from wizard.policy import PolicyFile
from wizard.state import StateStore


def _txt(world, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(text for _ttl, text in world.dns.records.get((name, "TXT"), []))


async def _fill_and_show(app, pilot, server: str, key: str) -> str:  # type: ignore[no-untyped-def]
    """In the open dialog: method, server, masked key; then 'Show the change'. Returns what it shows."""
    dialog = app.screen
    assert isinstance(dialog, PublishDialog)
    secret = dialog.query_one("#publish-secret", Input)
    assert secret.password  # the key is typed into a masked field
    dialog.query_one("#publish-via", Input).value = "rfc2136"
    dialog.query_one("#publish-server", Input).value = server
    secret.value = key
    await pilot.click("#publish-plan")
    await wait_until(pilot, lambda: "press Publish" in screen_text(app) or "nothing to change" in screen_text(app))
    return screen_text(app)


async def _publish_and_close(app, pilot) -> str:  # type: ignore[no-untyped-def]
    await pilot.click("#publish-go")
    await wait_until(pilot, lambda: "published: " in screen_text(app) or "failed" in screen_text(app))
    shown = screen_text(app)
    await pilot.click("#publish-close")
    await pilot.pause()
    return shown


async def test_step3_publishes_the_record_shows_the_change_and_verifies(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    name = good_world_domain(world, sts=False)
    world.txt(f"_mta-sts.{name}", ["site-verification=keep-me"])
    front, key = start_front(world)
    app = make_app(tmp_path, name, world=world, poll_seconds=0.5)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        app.goto_step(3)  # the opening check adopts the served policy, so the wizard may start past step 1
        await pilot.pause()
        assert app.screen.STEP == 3
        await pilot.press("u")
        await pilot.pause()
        text = await _fill_and_show(app, pilot, front.address, key)
        assert f"add      _mta-sts.{name} TXT v=STSv1; id={GENERATED_ID}" in text
        assert f"1 other TXT record(s) at _mta-sts.{name} stay untouched" in text
        assert front.applied == []  # showing the change changed nothing
        shown = await _publish_and_close(app, pilot)
        assert "published and seen" in shown
        assert _txt(world, f"_mta-sts.{name}") == sorted(
            ['"site-verification=keep-me"', f'"v=STSv1; id={GENERATED_ID}"']
        )
        # Back on step 3, the usual live check runs and verifies the step.
        await wait_until(pilot, lambda: app.step_status(3) == "verified")
    saved = StateStore(tmp_path).read(name).state
    assert saved is not None and saved.publish_method == {"via": "rfc2136", "server": front.address}
    assert key.rsplit(":", 1)[1] not in StateStore(tmp_path).path_for(name).read_text()


async def test_step4_replaces_only_the_tlsrpt_record_it_owns(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    name = good_world_domain(world, tlsrpt=False)
    world.txt(f"_smtp._tls.{name}", ["v=TLSRPTv1; rua=mailto:old@elsewhere.example", "unrelated=1"])
    front, key = start_front(world)
    app = make_app(tmp_path, name, world=world, poll_seconds=0.5)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        app.goto_step(4)
        await pilot.pause()
        assert app.screen.STEP == 4
        # The live record's address was adopted; the user replaces it with their own.
        assert app.screen.rua == ["mailto:old@elsewhere.example"]
        rua_list = app.screen.query_one("#rua-list", OptionList)
        rua_list.focus()
        rua_list.highlighted = 0
        await pilot.press("d")
        assert app.screen.rua == []
        await pilot.click("#rua-input")
        await pilot.press(*f"mailto:tlsrpt@{name}", "enter")
        await pilot.pause()
        await pilot.press("u")
        await pilot.pause()
        text = await _fill_and_show(app, pilot, front.address, key)
        assert f"replace  _smtp._tls.{name} TXT v=TLSRPTv1; rua=mailto:old@elsewhere.example" in text
        assert f"with _smtp._tls.{name} TXT v=TLSRPTv1; rua=mailto:tlsrpt@{name}" in text
        assert "_mta-sts" not in text.split("Publish it for me")[1].split("Method:")[0]  # only step 4's record
        await _publish_and_close(app, pilot)
        assert _txt(world, f"_smtp._tls.{name}") == sorted(['"unrelated=1"', f'"v=TLSRPTv1; rua=mailto:tlsrpt@{name}"'])
        await wait_until(pilot, lambda: app.step_status(4) == "verified")


async def test_step4_a_wrong_key_changes_nothing_and_says_so(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    name = good_world_domain(world, tlsrpt=False)
    front, key = start_front(world)
    app = make_app(tmp_path, name, world=world, timeout=1.0)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        app.goto_step(4)
        await pilot.pause()
        await pilot.click("#rua-input")
        await pilot.press(*f"mailto:tlsrpt@{name}", "enter")
        await pilot.pause()
        await pilot.press("u")
        await pilot.pause()
        await _fill_and_show(app, pilot, front.address, key.rsplit(":", 1)[0] + ":" + "QUJD" * 11)
        await pilot.click("#publish-go")
        await wait_until(pilot, lambda: "nothing was changed" in screen_text(app), timeout=20)
        assert front.applied == [] and _txt(world, f"_smtp._tls.{name}") == []


async def test_step6_switch_publishes_the_new_id_only_after_the_file_is_served(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh("pub")
    policy = PolicyFile("testing", 86400, (f"mx.{name}",))
    policy_id = _saved(tmp_path, name, policy, 20)
    _reports(tmp_path, name, 15)
    scenario = world.domain(name, policy=policy, sts_id=policy_id)
    front, key = start_front(world)
    app = make_app(tmp_path, name, world=world, offline=True)
    async with app.run_test(size=(120, 80)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await confirm_dialog(app, pilot)  # the switch asks first (issue 13)
        await wait_until(pilot, lambda: "u Publish it for me" in step6_text(app))

        await pilot.press("u")  # the world still serves the testing file: no id, no dialog, no update
        await settle(app, pilot)
        await wait_until(pilot, lambda: "not shown yet" in step6_text(app))
        assert not isinstance(app.screen, PublishDialog)
        assert front.applied == [] and app.state.policy_id == policy_id

        scenario.https[0].sites[scenario.policy_host].body = app.state.pending_change.new_policy.text.encode()
        await pilot.press("u")  # now every address serves the new file: the id exists, the dialog opens
        await settle(app, pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, PublishDialog))
        new_id = app.state.policy_id
        assert new_id != policy_id
        text = await _fill_and_show(app, pilot, front.address, key)
        assert f"replace  _mta-sts.{name} TXT v=STSv1; id={policy_id}" in text
        assert f"with _mta-sts.{name} TXT v=STSv1; id={new_id}" in text
        await _publish_and_close(app, pilot)
        assert front.applied[-1] == f'add _mta-sts.{name} TXT "v=STSv1; id={new_id}"'
        await wait_until(pilot, lambda: "done: the change is live and recorded" in step6_text(app))
    saved = StateStore(tmp_path).read(name).state
    assert saved is not None and saved.mode == "enforce" and saved.pending_change is None
