"""wizard.lifecycle.adopt and gate: placing a domain from one check, adopting what is live, saved vs
live, what lowering a live policy does, and which moves are risky. Against the test world's real check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.world.world import World
from wizard.engine import check_domain
from wizard.lifecycle import adopt
from wizard.lifecycle.gate import moves
from wizard.lifecycle.step_state import live_mode
from wizard.policy import PolicyFile
from wizard.state import new_state, record_policy

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _live(world: World, name: str) -> adopt.Live:
    return adopt.read_live(world.call(check_domain(name, world.options())))


@pytest.mark.parametrize(
    ("kwargs", "placement"),
    [
        ({"policy": None, "sts_id": None, "tlsrpt": None}, "nothing"),
        ({"sts_id": None}, "partial"),
        ({"policy": PolicyFile("enforce", 604800, ())}, "enforce"),
        ({}, "testing"),
        ({"policy": PolicyFile("none", 86400, ())}, "none"),
    ],
)
def test_the_check_places_the_domain(world: World, kwargs: dict, placement: str) -> None:  # type: ignore[type-arg]
    name = world.fresh("p")
    if isinstance(kwargs.get("policy"), PolicyFile) and not kwargs["policy"].mx:
        kwargs["policy"] = PolicyFile(kwargs["policy"].mode, kwargs["policy"].max_age, (f"mx.{name}",))
    world.domain(name, **kwargs)
    assert _live(world, name).placement == placement


def test_adopting_copies_the_live_policy_id_and_rua_and_verifies_live_steps(world: World) -> None:
    name = world.fresh("a")
    world.domain(name, policy=PolicyFile("enforce", 1209600, (f"mx.{name}", f"*.b.{name}")), sts_id="2025A")
    live = _live(world, name)
    state = new_state(name, NOW)
    lines = adopt.adopt(state, live, NOW)
    assert state.policy is not None and state.policy.mx == [f"mx.{name}", f"*.b.{name}"]
    assert (state.policy.mode, state.policy.max_age, state.policy_id) == ("enforce", 1209600, "2025A")
    assert state.rua == [f"mailto:tlsrpt@{name}"]
    assert lines[0].startswith("policy: mode enforce, max_age 1209600")
    assert state.steps[3].status == "verified" and state.steps[6].status == "verified"
    assert adopt.open_step(state, live) == 6 and live_mode(state) == "enforce"
    assert adopt.disagreement(state, live) is None
    assert adopt.adopt(state, live, NOW) == []  # saved progress exists now: never adopted twice


def test_saved_vs_live_names_what_differs_and_what_keeping_it_lowers(world: World) -> None:
    name = world.fresh("d")
    world.domain(name, policy=PolicyFile("enforce", 604800, (f"mx.{name}", f"mx2.{name}")), sts_id="2025A")
    live = _live(world, name)
    state = new_state(name, NOW)
    record_policy(state, PolicyFile("testing", 86400, (f"mx.{name}",)), NOW)
    found = adopt.disagreement(state, live)
    assert found is not None and found.differs == ("the policy file", "the _mta-sts id")
    lowers = found.lower_than_live()
    heads = [line.split(":")[0] for line in lowers]
    assert heads == ["mode enforce -> testing", "max_age 604800 -> 86400", "mx patterns dropped"]
    adopt.use_live(state, live, NOW)
    assert state.policy is not None and state.policy.mode == "enforce" and state.policy_id == "2025A"
    assert adopt.disagreement(state, live) is None


def test_nothing_lower_is_a_downgrade_and_risky_moves_are_named() -> None:
    enforce = PolicyFile("enforce", 604800, ("mx.example.com",))
    assert adopt.downgrade_effects(enforce, PolicyFile("enforce", 1209600, ("mx.example.com", "mx2.example.com"))) == []
    assert moves(PolicyFile("testing", 86400, ("mx.example.com",)), enforce) == ["enforce", "max-age"]
    assert moves(enforce, PolicyFile("none", 86400, ("mx.example.com",))) == ["remove"]
    assert moves(enforce, PolicyFile("enforce", 604800, ("mx2.example.com",))) == ["mx-change"]
    assert moves(enforce, PolicyFile("testing", 604800, ("mx.example.com",))) == []
