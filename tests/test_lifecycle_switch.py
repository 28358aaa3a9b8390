"""The ordered update against the test world: file first, verified on every address, then the id.

The world serves a testing policy under the saved id. The machine must refuse the new id
while any address still serves the old body, give it once every address serves the new
one, and finish only when the new id is live in the authoritative and resolver views.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.world.dns_server import DnsServer
from tests.world.https_server import Site
from tests.world.world import Scenario, World
from wizard.lifecycle import switch
from wizard.lifecycle.switch import (
    STAGE_ID,
    STAGE_PLANNED,
    STAGE_SERVED,
    SwitchError,
    enforce_policy,
    ladder_policy,
    next_rung,
    request_id,
    rollback_policy,
    start_change,
    verify_id_live,
    verify_served,
)
from wizard.policy import PolicyFile
from wizard.state import DomainState, StateStore, new_state, record_policy, record_served

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _setup(
    world: World, *, mode: str = "testing", max_age: int = 86400, sites: int = 1
) -> tuple[DomainState, Scenario]:
    name = world.fresh("sw")
    state = new_state(name, now=T0)
    record_policy(state, PolicyFile(mode, max_age, (f"mx.{name}",)), T0)
    record_served(state, mode, max_age, state.policy_id or "", T0)
    scenario = world.domain(
        name,
        policy=PolicyFile(mode, max_age, (f"mx.{name}",)),
        sts_id=state.policy_id,
        https=[Site() for _ in range(sites)],
    )
    return state, scenario


def _serve(scenario: Scenario, text: str, only: int | None = None) -> None:
    """The user uploads a new file (to every address, or to one of them)."""
    for i, server in enumerate(scenario.https):
        if only is None or i == only:
            server.sites[scenario.policy_host].body = text.encode()


def _publish_id(world: World, scenario: Scenario, new_id: str) -> None:
    world.txt(f"_mta-sts.{scenario.name}", [f"v=STSv1; id={new_id}"])


async def test_enforce_id_refused_until_every_address_serves_the_new_file(world: World, tmp_path: Path) -> None:
    state, scenario = _setup(world, sites=2)
    old_id = state.policy_id
    opts = world.options(probe_smtp=False)
    now = T0 + timedelta(days=20)
    start_change(state, "enforce", enforce_policy(state), now)
    new_text = state.pending_change.new_policy.text  # type: ignore[union-attr]
    assert "mode: enforce" in new_text and "max_age: 86400" in new_text

    # World still serves the old testing body everywhere: refused, nothing recorded.
    reveal = await request_id(state, opts, now)
    assert reveal.refused and reveal.new_id is None
    assert any("[OLD]" in r for r in reveal.reasons)
    assert "body first, then id" in reveal.lines()[0]
    assert state.policy_id == old_id and state.pending_change.stage == STAGE_PLANNED  # type: ignore[union-attr]

    # One of two addresses updated: still refused, naming the stale address.
    _serve(scenario, new_text, only=0)
    reveal = await request_id(state, opts, now)
    assert reveal.refused
    assert any("1 of 2 address(es)" in r and scenario.policy_addresses[1] in r for r in reveal.reasons)
    assert state.policy_id == old_id

    # Saved mid-way and resumed: the machine continues where it stood.
    store = StateStore(tmp_path / "state")
    store.write(state)
    state = store.read(scenario.name).state  # type: ignore[assignment]
    assert state.pending_change is not None and state.pending_change.kind == "enforce"

    # Every address serves it: the id is given, the saved policy and id move on.
    _serve(scenario, new_text)
    reveal = await request_id(state, opts, now)
    assert not reveal.refused, reveal.reasons
    assert reveal.new_id and reveal.new_id != old_id
    assert reveal.record_text == f"v=STSv1; id={reveal.new_id}"
    assert state.policy_id == reveal.new_id and state.mode == "enforce"
    assert state.pending_change.stage == STAGE_ID  # type: ignore[union-attr]

    # Phase 4: DNS still has the old id, so not live yet.
    live = await verify_id_live(state, opts, now)
    assert not live.live and live.resolver_id == old_id
    assert state.pending_change is not None
    # The user publishes it: live in both views, the change is finished and recorded.
    _publish_id(world, scenario, reveal.new_id)
    live = await verify_id_live(state, opts, now + timedelta(minutes=5))
    assert live.live, live.lines()
    assert live.authoritative_ids == (reveal.new_id,)
    assert state.pending_change is None
    current = state.mode_history.current
    assert current is not None and (current.mode, current.policy_id) == ("enforce", reveal.new_id)
    assert state.mode_history.enforce_started_at is not None


async def test_id_not_live_while_resolver_serves_the_old_answer(world: World) -> None:
    state, scenario = _setup(world)
    opts = world.options(probe_smtp=False)
    start_change(state, "enforce", enforce_policy(state), T0)
    _serve(scenario, state.pending_change.new_policy.text)  # type: ignore[union-attr]
    reveal = await request_id(state, opts, T0)
    assert reveal.new_id
    # A caching resolver holding the old zone data; the authoritative server gets the new id.
    resolver = world._bind(lambda addr: DnsServer(addr))
    with world.dns._lock:
        resolver.zones = set(world.dns.zones)
        resolver.records = {k: list(v) for k, v in world.dns.records.items()}
    _publish_id(world, scenario, reveal.new_id)
    live = await verify_id_live(state, world.options(probe_smtp=False, nameservers=(resolver.address,)), T0)
    assert not live.live
    assert live.authoritative_ids == (reveal.new_id,)
    assert any("resolvers may serve the old answer for up to 300 more seconds" in line for line in live.lines())
    assert state.pending_change is not None and state.pending_change.stage == STAGE_ID


async def test_served_check_falls_back_when_the_file_is_reverted(world: World) -> None:
    state, scenario = _setup(world)
    opts = world.options(probe_smtp=False)
    old_text = scenario.policy_text.decode()  # type: ignore[union-attr]
    start_change(state, "enforce", enforce_policy(state), T0)
    _serve(scenario, state.pending_change.new_policy.text)  # type: ignore[union-attr]
    assert (await verify_served(state, opts, T0)).ok
    assert state.pending_change.stage == STAGE_SERVED  # type: ignore[union-attr]
    _serve(scenario, old_text)
    check = await verify_served(state, opts, T0)
    assert not check.ok
    assert state.pending_change.stage == STAGE_PLANNED  # type: ignore[union-attr]
    # A stale passing check does not unlock the id either.
    assert switch.reveal_id(state, check, T0).refused


def test_a_passing_check_older_than_fifteen_minutes_is_refused() -> None:
    state = new_state("example.com", now=T0)
    record_policy(state, PolicyFile("testing", 86400, ("mx.example.com",)), T0)
    start_change(state, "enforce", enforce_policy(state), T0)
    pending = state.pending_change
    assert pending is not None and pending.new_policy is not None
    check = switch.ServeCheck(True, (), pending.new_policy.text, T0)
    switch.apply_served(state, check, T0)
    reveal = switch.reveal_id(state, check, T0 + timedelta(minutes=16))
    assert reveal.refused and "older than 15 minutes" in reveal.reasons[0]
    assert not switch.reveal_id(state, check, T0 + timedelta(minutes=1)).refused


async def _complete(
    world: World, state: DomainState, scenario: Scenario, kind: str, policy: PolicyFile, now: datetime
) -> str:
    opts = world.options(probe_smtp=False)
    start_change(state, kind, policy, now)
    _serve(scenario, policy.to_text())
    reveal = await request_id(state, opts, now)
    assert reveal.new_id, reveal.reasons
    _publish_id(world, scenario, reveal.new_id)
    assert (await verify_id_live(state, opts, now)).live
    return reveal.new_id


async def test_max_age_ladder_after_enforce_then_rollback(world: World) -> None:
    state, scenario = _setup(world, max_age=86400)
    assert next_rung(state) is None  # testing: no ladder yet
    await _complete(world, state, scenario, "enforce", enforce_policy(state), T0)
    rung = next_rung(state)
    assert rung is not None and (rung.current, rung.proposed) == (86400, 604800)
    assert "7 days" in rung.line()
    await _complete(world, state, scenario, "max-age", ladder_policy(state, rung.proposed), T0 + timedelta(days=2))
    rung = next_rung(state)
    assert rung is not None and rung.proposed == 1209600
    await _complete(world, state, scenario, "max-age", ladder_policy(state, 1209600), T0 + timedelta(days=10))
    assert next_rung(state).proposed == 2592000  # type: ignore[union-attr]

    # Rollback to testing follows the same order and restarts the testing clock.
    back = T0 + timedelta(days=30)
    await _complete(world, state, scenario, "rollback", rollback_policy(state), back)
    assert state.mode == "testing" and state.policy.max_age == 1209600  # type: ignore[union-attr]
    assert state.mode_history.testing_started_at == back
    assert next_rung(state) is None


def test_changes_that_make_no_sense_are_refused_with_a_reason() -> None:
    state = new_state("example.com", now=T0)
    with pytest.raises(SwitchError, match="finish steps 1 to 5"):
        enforce_policy(state)
    record_policy(state, PolicyFile("testing", 86400, ("mx.example.com",)), T0)
    with pytest.raises(SwitchError, match="already in testing"):
        rollback_policy(state)
    with pytest.raises(SwitchError, match="same as the saved one"):
        start_change(state, "max-age", PolicyFile("testing", 86400, ("mx.example.com",)), T0)
    with pytest.raises(SwitchError, match="not larger"):
        ladder_policy(state, 3600)
    start_change(state, "enforce", enforce_policy(state), T0)
    switch.cancel_change(state)
    assert state.pending_change is None
    assert switch.reveal_id(state, None, T0).refused
