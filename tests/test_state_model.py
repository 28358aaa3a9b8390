"""The saved-state model: JSON round trips, every step status, and fields from newer versions kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.policy import PolicyFile
from wizard.state import (
    STEP_STATUSES,
    STEPS,
    CheckResults,
    DomainState,
    PendingChange,
    SavedFinding,
    SavedPolicy,
    StateFormatError,
    new_state,
    record_policy,
    record_served,
    set_step,
)
from wizard.state.model import time_from_json, time_to_json

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def full_state() -> DomainState:
    """A state with every part filled in, as after weeks of use."""
    state = new_state("xn--bcher-kva.example", T0, unicode_name="bücher.example")
    policy = PolicyFile("testing", 86400, ("mx1.xn--bcher-kva.example", "*.backup.example"))
    record_policy(state, policy, T0)
    for n, status in zip(STEPS, ["verified", "verified", "warning", "waiting", "failed", "not-started"], strict=True):
        set_step(state, n, status, T0 + timedelta(minutes=n), detail=f"step {n} detail")
    record_served(state, "testing", 86400, state.policy_id or "", T0 + timedelta(hours=1))
    state.hosting = "nginx"
    state.hosting_options = {"web_root": "/srv/mta-sts"}
    state.rua = ["mailto:tlsrpt@bücher.example", "https://reports.example/v1"]
    state.last_check = CheckResults(
        checked_at=T0 + timedelta(hours=2),
        findings=[SavedFinding("tlsrpt-missing", "warning", 4, "_smtp._tls.example", None, "no record")],
        steps=[1, 2, 3, 4, 5],
    )
    state.notes = "ask Bob about the backup MX\nsecond line"
    state.pending_change = PendingChange(
        kind="enforce",
        stage="policy-published",
        started_at=T0 + timedelta(days=14),
        new_policy=SavedPolicy.from_policy(PolicyFile("enforce", 1209600, ("mx1.example",)), T0),
        new_id="20261212T120000",
        previous_id=state.policy_id,
        data={"ttl_seen": 3600},
    )
    return state


def test_full_state_round_trips_through_json_text() -> None:
    state = full_state()
    text = json.dumps(state.to_json(), indent=2, ensure_ascii=False)
    again = DomainState.from_json(json.loads(text))
    assert again == state
    assert again.to_json() == state.to_json()
    assert again.policy is not None and again.policy.to_policy_file() == PolicyFile(
        "testing", 86400, ("mx1.xn--bcher-kva.example", "*.backup.example")
    )


@pytest.mark.parametrize("status", STEP_STATUSES)
@pytest.mark.parametrize("step", STEPS)
def test_each_step_status_round_trips(step: int, status: str) -> None:
    state = new_state("example.com", T0)
    set_step(state, step, status, T0 + timedelta(seconds=step), detail="why")  # type: ignore[arg-type]
    again = DomainState.from_json(json.loads(json.dumps(state.to_json())))
    assert again.steps[step].status == status
    assert again.steps[step].detail == "why"
    expected_change = None if status == "not-started" else T0 + timedelta(seconds=step)
    assert again.steps[step].changed_at == expected_change
    assert all(again.steps[n].status == "not-started" for n in STEPS if n != step)


def test_unknown_step_status_is_a_format_error() -> None:
    data = new_state("example.com", T0).to_json()
    data["steps"]["2"]["status"] = "done"
    with pytest.raises(StateFormatError, match=r"steps\.2\.status"):
        DomainState.from_json(data)


def test_fields_from_a_newer_version_are_kept_at_every_level() -> None:
    data = full_state().to_json()
    data["future_top"] = {"nested": [1, 2]}
    data["steps"]["3"]["future_step_field"] = "x"
    data["steps"]["7"] = {"status": "verified", "name": "a step from the future"}
    data["policy"]["future_policy"] = True
    data["id_history"][0]["signature"] = "abc"
    data["mode_history"]["future_history"] = 5
    data["mode_history"]["served"][0]["source"] = "check"
    data["last_check"]["duration_ms"] = 41
    data["last_check"]["findings"][0]["fix"] = "publish it"
    data["pending_change"]["future"] = "y"
    data["pending_change"]["new_policy"]["future"] = "z"
    again = DomainState.from_json(json.loads(json.dumps(data)))
    assert again.to_json() == data


def test_wrongly_typed_fields_are_format_errors_naming_the_field() -> None:
    cases = [
        ("rua", "mailto:a@example.com", "rua"),
        ("policy_id", 5, "policy_id"),
        ("created_at", "yesterday", "created_at"),
        ("steps", [], "steps"),
    ]
    for key, value, where in cases:
        data = new_state("example.com", T0).to_json()
        data[key] = value
        with pytest.raises(StateFormatError, match=where):
            DomainState.from_json(data)


def test_times_are_utc_strings_with_z() -> None:
    assert time_to_json(T0) == "2026-11-28T12:00:00Z"
    assert time_from_json("2026-11-28T13:00:00+01:00", "x") == T0
    naive = datetime(2026, 11, 28, 12, 0, 0)
    assert time_to_json(naive) == "2026-11-28T12:00:00Z"


@settings(max_examples=60, deadline=None)
@given(
    notes=st.text(max_size=200),
    rua=st.lists(st.text(min_size=1, max_size=40), max_size=4),
    hosting=st.one_of(st.none(), st.sampled_from(["nginx", "apache", "caddy", "folder"])),
    statuses=st.lists(st.sampled_from(STEP_STATUSES), min_size=6, max_size=6),
    seconds=st.integers(min_value=0, max_value=10**9),
)
def test_arbitrary_user_content_round_trips(
    notes: str, rua: list[str], hosting: str | None, statuses: list[str], seconds: int
) -> None:
    state = new_state("example.com", T0)
    state.notes, state.rua, state.hosting = notes, rua, hosting
    for n, status in zip(STEPS, statuses, strict=True):
        set_step(state, n, status, T0 + timedelta(seconds=seconds))  # type: ignore[arg-type]
    text = json.dumps(state.to_json(), indent=2, ensure_ascii=False)
    assert DomainState.from_json(json.loads(text)) == state
