"""Resume helpers: step bookkeeping, the id kept unless the policy changed, mode history and the
removal countdown, and what counts as a regression on re-verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wizard.findings import finding
from wizard.ids import is_valid_id
from wizard.policy import PolicyFile
from wizard.state import (
    STEPS,
    DomainState,
    done_steps,
    first_unverified_step,
    largest_max_age,
    new_state,
    policy_id_for,
    record_check,
    record_policy,
    record_served,
    regressed_findings,
    regressions,
    removal_remaining,
    removal_safe_at,
    set_step,
    status_from_findings,
)

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TESTING = PolicyFile("testing", 86400, ("mail.example.com",))


def test_set_step_moves_changed_at_only_when_the_status_changes() -> None:
    state = new_state("example.com", T0)
    set_step(state, 3, "waiting", T0, detail="waiting for the TXT record to appear")
    set_step(state, 3, "waiting", T0 + DAY)
    assert state.steps[3].changed_at == T0
    assert state.steps[3].checked_at == T0 + DAY
    set_step(state, 3, "verified", T0 + 2 * DAY)
    assert state.steps[3].changed_at == T0 + 2 * DAY


def test_set_step_refuses_unknown_steps_and_statuses() -> None:
    state = new_state("example.com", T0)
    with pytest.raises(ValueError, match=r"steps are 1\.\.6"):
        set_step(state, 7, "verified", T0)
    with pytest.raises(ValueError, match="not a step status"):
        set_step(state, 1, "done", T0)


def test_first_unverified_step_walks_forward_and_warnings_count_as_done() -> None:
    state = new_state("example.com", T0)
    assert first_unverified_step(state) == 1
    set_step(state, 1, "verified", T0)
    assert first_unverified_step(state) == 2
    set_step(state, 2, "warning", T0)
    assert first_unverified_step(state) == 3
    set_step(state, 3, "waiting", T0)
    assert first_unverified_step(state) == 3
    set_step(state, 3, "failed", T0)
    assert first_unverified_step(state) == 3
    for n in STEPS:
        set_step(state, n, "verified", T0)
    assert first_unverified_step(state) == 6
    assert done_steps(state) == list(STEPS)


def test_a_gap_opens_at_the_earliest_unverified_step() -> None:
    state = new_state("example.com", T0)
    for n in (1, 2, 4, 5):
        set_step(state, n, "verified", T0)
    assert first_unverified_step(state) == 3
    assert done_steps(state) == [1, 2, 4, 5]


def test_status_from_findings_takes_the_worst_severity_of_that_step() -> None:
    found = [
        finding("tlsrpt-missing", "no record", subject="_smtp._tls.example.com"),
        finding("policy-mode-testing", "testing mode"),
        finding("policy-tls-expired", "expired", subject="mta-sts.example.com"),
    ]
    assert status_from_findings(found, 4) == "warning"
    assert status_from_findings(found, 1) == "verified"  # info only
    assert status_from_findings(found, 2) == "failed"
    assert status_from_findings(found, 3) == "verified"


def test_record_policy_keeps_the_id_when_the_text_is_unchanged() -> None:
    state = new_state("example.com", T0)
    assert record_policy(state, TESTING, T0) is True
    first_id = state.policy_id
    assert first_id is not None and is_valid_id(first_id)
    # Rerun a week later, same choices: no new id, no new history entry.
    assert record_policy(state, PolicyFile("testing", 86400, ("mail.example.com",)), T0 + 7 * DAY) is False
    assert state.policy_id == first_id
    assert len(state.id_history) == 1
    assert policy_id_for(state, TESTING, T0 + 8 * DAY) == first_id


def test_record_policy_makes_a_new_id_when_the_policy_changes_and_keeps_the_old_one() -> None:
    state = new_state("example.com", T0)
    record_policy(state, TESTING, T0)
    old_id = state.policy_id
    enforce = PolicyFile("enforce", 1209600, ("mail.example.com",))
    assert record_policy(state, enforce, T0 + 14 * DAY) is True
    assert state.policy_id != old_id
    assert state.policy is not None and state.policy.mode == "enforce" and state.policy.text == enforce.to_text()
    assert [e.id for e in state.id_history] == [old_id, state.policy_id]
    assert state.id_history[0].retired_at == T0 + 14 * DAY
    assert state.id_history[0].policy_text == TESTING.to_text()
    assert state.id_history[1].retired_at is None
    assert state.id_history[1].created_at == T0 + 14 * DAY


def test_two_changes_in_the_same_second_still_get_distinct_ids() -> None:
    state = new_state("example.com", T0)
    record_policy(state, TESTING, T0)
    record_policy(state, PolicyFile("testing", 172800, ("mail.example.com",)), T0)
    ids = [e.id for e in state.id_history]
    assert len(set(ids)) == 2 and all(is_valid_id(i) for i in ids)


def test_step_6_records_the_id_it_planned_for_an_ordered_update() -> None:
    state = new_state("example.com", T0)
    record_policy(state, TESTING, T0)
    enforce = PolicyFile("enforce", 1209600, ("mail.example.com",))
    planned = policy_id_for(state, enforce, T0 + 14 * DAY)  # saved in pending_change.new_id
    # The user publishes the body, then the TXT record, a day later.
    assert record_policy(state, enforce, T0 + 15 * DAY, policy_id=planned) is True
    assert state.policy_id == planned and state.id_history[-1].created_at == T0 + 15 * DAY
    with pytest.raises(ValueError, match="cannot be the new id"):
        record_policy(state, TESTING, T0 + 16 * DAY, policy_id="bad-id")
    assert state.policy_id == planned


def test_mode_history_stamps_each_switch_and_extends_the_same_policy() -> None:
    state = new_state("example.com", T0)
    record_served(state, "testing", 86400, "a1", T0)
    record_served(state, "testing", 86400, "a1", T0 + DAY)
    assert len(state.mode_history.served) == 1
    assert state.mode_history.served[0].last_served_at == T0 + DAY
    record_served(state, "enforce", 604800, "a2", T0 + 14 * DAY)
    record_served(state, "enforce", 1209600, "a3", T0 + 21 * DAY)
    history = state.mode_history
    assert history.testing_started_at == T0
    assert history.enforce_started_at == T0 + 14 * DAY  # raising max_age is not a new switch
    assert [s.max_age for s in history.served] == [86400, 604800, 1209600]
    assert [s.current for s in history.served] == [False, False, True]
    assert history.served[0].last_served_at == T0 + 14 * DAY
    assert history.current is history.served[-1]
    assert largest_max_age(state) == 1209600
    assert record_served(state, "enforce", 1209600, None, T0 + 22 * DAY).policy_id == ""
    with pytest.raises(ValueError, match="not a policy mode"):
        record_served(state, "report", 86400, "a4", T0)


def test_removal_waits_for_the_last_non_none_policy_plus_the_largest_max_age() -> None:
    state = new_state("example.com", T0)
    assert removal_safe_at(state) is None  # nothing ever served: nothing cached anywhere
    assert removal_remaining(state, T0) == timedelta(0)
    record_served(state, "enforce", 2592000, "a1", T0)  # 30 days
    record_served(state, "enforce", 604800, "a2", T0 + 10 * DAY)  # max_age lowered before removal
    record_served(state, "none", 86400, "a3", T0 + 20 * DAY)
    record_served(state, "none", 86400, "a3", T0 + 25 * DAY)
    assert state.mode_history.none_started_at == T0 + 20 * DAY
    # The enforce policy was last served at day 20; the largest max_age ever published was 30 days.
    assert removal_safe_at(state) == T0 + 50 * DAY
    assert removal_remaining(state, T0 + 45 * DAY) == 5 * DAY
    assert removal_remaining(state, T0 + 51 * DAY) == timedelta(0)


def test_record_check_keeps_codes_severities_and_time() -> None:
    state = new_state("example.com", T0)
    found = [finding("tlsrpt-missing", "no record", subject="_smtp._tls.example.com")]
    results = record_check(state, found, T0, steps=[4, 3])
    assert state.last_check is results
    assert results.codes == ["tlsrpt-missing"]
    assert results.findings[0].severity == "warning"
    assert results.steps == [3, 4]
    assert results.checked_at == T0


def verified_setup() -> DomainState:
    state = new_state("example.com", T0)
    for n in (1, 2, 3, 4, 5):
        set_step(state, n, "verified", T0)
    record_check(state, [finding("policy-mode-testing", "testing mode")], T0, steps=[1, 2, 3, 4, 5])
    return state


def test_regressions_name_a_vanished_record_and_an_expired_certificate() -> None:
    state = verified_setup()
    fresh = [
        finding("sts-txt-missing", "no v=STSv1 TXT", subject="_mta-sts.example.com"),
        finding("policy-tls-expired", "expired", subject="mta-sts.example.com", address="127.0.0.5"),
        finding("policy-mode-testing", "testing mode"),
    ]
    assert regressions(state, fresh) == [
        "the _mta-sts TXT record disappeared",
        "the certificate of mta-sts.example.com expired (at 127.0.0.5)",
    ]


def test_known_problems_and_unreached_steps_are_not_regressions() -> None:
    state = new_state("example.com", T0)
    set_step(state, 1, "verified", T0)
    set_step(state, 2, "warning", T0)
    expiring = finding("policy-tls-expiring", "expires in 9 days", subject="mta-sts.example.com")
    record_check(state, [expiring], T0, steps=[1, 2])
    fresh = [
        expiring,  # already known: not a regression
        finding("sts-txt-missing", "no TXT yet", subject="_mta-sts.example.com"),  # step 3 not reached
        finding("policy-mode-testing", "info only"),
    ]
    assert regressions(state, fresh) == []
    assert regressed_findings(state, fresh) == []


def test_with_no_saved_check_the_done_steps_decide() -> None:
    state = new_state("example.com", T0)
    set_step(state, 4, "verified", T0)
    fresh = [
        finding("tlsrpt-missing", "gone", subject="_smtp._tls.example.com"),
        finding("mx-no-starttls", "no STARTTLS", subject="mx1.example.com"),
    ]
    assert regressions(state, fresh) == ["the _smtp._tls TLSRPT record disappeared"]


def test_the_same_problem_on_several_addresses_is_listed_once_per_address() -> None:
    state = verified_setup()
    fresh = [
        finding("policy-connect-failed", "refused", subject="mta-sts.example.com", address="127.0.0.5"),
        finding("policy-connect-failed", "refused", subject="mta-sts.example.com", address="127.0.0.5"),
        finding("policy-connect-failed", "refused", subject="mta-sts.example.com", address="::1"),
    ]
    assert regressions(state, fresh) == [
        "the policy host no longer answers on port 443 (at 127.0.0.5)",
        "the policy host no longer answers on port 443 (at ::1)",
    ]
