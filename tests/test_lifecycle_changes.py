"""MX changes, removal with its countdown, and drift: each in the order that keeps mail flowing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.world.world import World
from wizard.engine import probe_mx, probe_sts_txt
from wizard.lifecycle.drift import drift_findings, expected_for_check
from wizard.lifecycle.mx_change import confirm_mx_changed, mx_guide, mx_wait, plan_mx_change, wait_seconds
from wizard.lifecycle.removal import confirm_removed, removal_status
from wizard.lifecycle.switch import (
    STAGE_MX_WAIT,
    SwitchError,
    removal_policy,
    request_id,
    start_change,
    verify_id_live,
)
from wizard.policy import PolicyFile
from wizard.state import StateStore, new_state, record_policy, record_served

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


async def test_uncovered_mx_in_enforce_is_urgent_and_fixed_in_order(world: World) -> None:
    name = world.fresh("mx")
    mx1, mx2 = f"mx1.{name}", f"mx2.{name}"
    state = new_state(name, now=T0)
    record_policy(state, PolicyFile("enforce", 604800, (mx1,)), T0)
    record_served(state, "enforce", 604800, state.policy_id or "", T0)
    scenario = world.domain(
        name, mx=[mx1, mx2], policy=PolicyFile("enforce", 604800, (mx1,)), sts_id=state.policy_id, ttl=600
    )
    opts = world.options(probe_smtp=False)
    hosts = (await probe_mx(name, opts)).hosts
    ttl = (await probe_sts_txt(name, opts)).resolver.ttl
    guide = mx_guide(state, hosts, ttl)
    assert guide is not None and guide.urgent and guide.uncovered == (mx2,)
    text = "\n".join(guide.lines())
    assert text.startswith(f"URGENT: MX in DNS but not in the policy: {mx2}")
    # The order: pattern, publish, id, wait, then MX records.
    assert [s.split()[0] for s in guide.steps] == ["add", "publish", "publish", "wait", "only"]
    assert "TXT TTL 600 s" in guide.steps[3]

    now = T0 + 3 * DAY
    plan_mx_change(state, guide.uncovered, now, in_dns=True)
    new_text = state.pending_change.new_policy.text  # type: ignore[union-attr]
    assert f"mx: {mx1}\nmx: {mx2}\n" in new_text
    assert (await request_id(state, opts, now)).refused  # file not uploaded yet
    scenario.https[0].sites[scenario.policy_host].body = new_text.encode()
    reveal = await request_id(state, opts, now)
    assert reveal.new_id
    world.txt(f"_mta-sts.{name}", [f"v=STSv1; id={reveal.new_id}"], ttl=600)
    assert (await verify_id_live(state, opts, now)).live
    assert state.pending_change is not None and state.pending_change.stage == STAGE_MX_WAIT
    wait = mx_wait(state, now)
    assert wait is not None and wait.change_after == now + DAY  # max(600 s TTL, min(1 week, 1 day))
    assert mx_guide(state, hosts, ttl) is None  # DNS and policy agree again
    confirm_mx_changed(state, now)  # the MX was already in DNS: nothing to wait for
    assert state.pending_change is None


async def test_new_mx_waits_until_the_computed_time_before_the_mx_record(world: World) -> None:
    name = world.fresh("mxn")
    state = new_state(name, now=T0)
    record_policy(state, PolicyFile("testing", 3600, (f"mx.{name}",)), T0)
    record_served(state, "testing", 3600, state.policy_id or "", T0)
    scenario = world.domain(name, policy=PolicyFile("testing", 3600, (f"mx.{name}",)), sts_id=state.policy_id)
    opts = world.options(probe_smtp=False)
    plan_mx_change(state, [f"new.{name}."], T0)
    scenario.https[0].sites[scenario.policy_host].body = state.pending_change.new_policy.text.encode()  # type: ignore[union-attr]
    reveal = await request_id(state, opts, T0)
    world.txt(f"_mta-sts.{name}", [f"v=STSv1; id={reveal.new_id}"])
    assert (await verify_id_live(state, opts, T0)).live
    wait = mx_wait(state, T0)
    # max(TXT TTL 300 s, min(old max_age 3600 s, 1 day)) = 1 hour.
    assert wait is not None and wait.change_after == T0 + timedelta(hours=1)
    assert "wait until 2026-03-01 10:00 UTC (1 h 0 min)" in wait.lines()[0]
    with pytest.raises(SwitchError, match="too early"):
        confirm_mx_changed(state, T0 + timedelta(minutes=30))
    assert mx_wait(state, T0 + timedelta(hours=2)).over  # type: ignore[union-attr]
    confirm_mx_changed(state, T0 + timedelta(hours=2))
    assert state.pending_change is None


def test_wait_formula_uses_ttl_and_max_age() -> None:
    assert wait_seconds(300, 3600) == 3600
    assert wait_seconds(300, 31557600) == 86400
    assert wait_seconds(172800, 604800) == 172800
    assert wait_seconds(None, 0) == 0


def test_bad_pattern_is_refused_with_the_grammar_message() -> None:
    state = new_state("example.com", now=T0)
    record_policy(state, PolicyFile("testing", 86400, ("mx.example.com",)), T0)
    with pytest.raises(SwitchError, match=r"mail\.example\.com:25"):
        plan_mx_change(state, ["mail.example.com:25"], T0)
    with pytest.raises(SwitchError, match="already in the policy"):
        plan_mx_change(state, ["MX.example.com"], T0)


def test_removal_countdown_from_saved_history(tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = new_state("example.com", now=T0)
    # Testing with 1 day, enforce with 2 weeks, then 1 week (the largest ever served counts), then none.
    record_served(state, "testing", 86400, "a1", T0)
    record_served(state, "enforce", 1209600, "a2", T0 + 20 * DAY)
    record_served(state, "enforce", 604800, "a3", T0 + 40 * DAY)
    record_policy(state, PolicyFile("none", 86400, ("mx.example.com",)), T0 + 50 * DAY)
    none_at = T0 + 50 * DAY
    record_served(state, "none", 86400, state.policy_id or "", none_at)
    # Saved and read back: the countdown comes from the file.
    store = StateStore(tmp_path)
    store.write(state)
    state = store.read("example.com").state  # type: ignore[assignment]
    status = removal_status(state, none_at + DAY)
    assert status.stage == "counting-down"
    assert status.safe_at == none_at + timedelta(seconds=1209600)
    assert status.remaining == timedelta(days=13)
    assert "13 day(s) 0 hour(s) left" in status.lines()[1]
    with pytest.raises(SwitchError, match="not yet"):
        confirm_removed(state, none_at + DAY)
    done = removal_status(state, none_at + 15 * DAY)
    assert done.stage == "safe"
    assert "_mta-sts.example.com TXT" in "\n".join(done.lines())
    confirm_removed(state, none_at + 15 * DAY)
    assert state.steps[6].status == "verified"


async def test_removal_publishes_none_in_order_then_counts_down(world: World) -> None:
    name = world.fresh("rm")
    state = new_state(name, now=T0)
    record_policy(state, PolicyFile("enforce", 1209600, (f"mx.{name}",)), T0)
    record_served(state, "enforce", 1209600, state.policy_id or "", T0)
    scenario = world.domain(name, policy=PolicyFile("enforce", 1209600, (f"mx.{name}",)), sts_id=state.policy_id)
    opts = world.options(probe_smtp=False)
    assert removal_status(state, T0).stage == "not-started"
    now = T0 + 30 * DAY
    start_change(state, "remove", removal_policy(state), now)
    assert removal_status(state, now).stage == "publishing-none"
    assert (await request_id(state, opts, now)).refused
    scenario.https[0].sites[scenario.policy_host].body = state.pending_change.new_policy.text.encode()  # type: ignore[union-attr]
    reveal = await request_id(state, opts, now)
    world.txt(f"_mta-sts.{name}", [f"v=STSv1; id={reveal.new_id}"])
    assert (await verify_id_live(state, opts, now + timedelta(hours=1))).live
    status = removal_status(state, now + timedelta(hours=1))
    assert status.stage == "counting-down"
    # The enforce body was last served when the none file went up (phase 2), plus 14 days.
    assert status.safe_at == now + timedelta(seconds=1209600)


def test_drift_says_which_and_how() -> None:
    state = new_state("example.com", now=T0)
    saved = PolicyFile("enforce", 604800, ("mx1.example.com",))
    record_policy(state, PolicyFile("testing", 604800, ("mx1.example.com",)), T0)
    old_id = state.policy_id
    record_policy(state, saved, T0 + DAY)
    new_id = state.policy_id
    assert old_id != new_id
    # Served as saved, under the saved id: no drift.
    assert drift_findings(state, saved, new_id) == []
    # Someone edited the served file: differs from saved, and the id no longer stands for it.
    edited = PolicyFile("enforce", 604800, ("mx1.example.com", "mx9.example.com"))
    codes = {f.code: f for f in drift_findings(state, edited, new_id)}
    assert set(codes) == {"policy-differs-from-saved", "sts-id-unchanged"}
    assert "extra mx mx9.example.com" in codes["policy-differs-from-saved"].message
    # The new file is up but the TXT still has the old id: only the id is wrong, and the fix names the id.
    found = drift_findings(state, saved, old_id)
    assert [f.code for f in found] == ["sts-id-unchanged"]
    assert f"publish 'v=STSv1; id={new_id}'" in found[0].fix
    assert "mode enforce instead of testing" in found[0].message


def test_drift_during_an_ordered_update_points_at_the_switch() -> None:
    state = new_state("example.com", now=T0)
    record_policy(state, PolicyFile("testing", 86400, ("mx1.example.com",)), T0)
    start_change(state, "enforce", PolicyFile("enforce", 86400, ("mx1.example.com",)), T0)
    rolling = state.pending_change.new_policy.to_policy_file()  # type: ignore[union-attr]
    found = drift_findings(state, rolling, state.policy_id)
    assert [f.code for f in found] == ["sts-id-unchanged"]
    assert "step 6" in found[0].fix
    assert expected_for_check(state) == (state.policy.to_policy_file(), state.policy_id)  # type: ignore[union-attr]


def test_removal_policy_is_mode_none_with_small_max_age() -> None:
    state = new_state("example.com", now=T0)
    record_policy(state, PolicyFile("enforce", 1209600, ("mx1.example.com",)), T0)
    policy = removal_policy(state)
    assert (policy.mode, policy.max_age) == ("none", 86400)
