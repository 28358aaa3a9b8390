"""Policy ids (RFC 8461 §3.1: 1-32 ALPHA/DIGIT): valid, new on every change, ordered by time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from wizard.ids import id_time, is_valid_id, new_policy_id
from wizard.records import parse_sts_record

NOON = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def order_key(value: str) -> tuple[datetime, int]:
    """Independent reading of the id scheme: timestamp, then the same-second counter after 'N'."""
    stamp, _, counter = value.partition("N")
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC), int(counter or 0)


def test_id_is_the_utc_timestamp() -> None:
    assert new_policy_id(NOON) == "20261128T120000"


def test_other_time_zones_are_converted_to_utc() -> None:
    local = NOON.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert new_policy_id(local) == "20261128T120000"


def test_id_without_now_is_valid_and_current() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    value = new_policy_id()
    after = datetime.now(UTC)
    assert is_valid_id(value)
    moment = id_time(value)
    assert moment is not None and before <= moment <= after


def test_generated_ids_are_valid_in_a_txt_record() -> None:
    value = new_policy_id(NOON, previous="20261128T120000N41")
    record, findings = parse_sts_record(f"v=STSv1; id={value}")
    assert findings == [] and record is not None and record.id == value


def test_same_second_ids_strictly_increase_and_stay_distinct() -> None:
    seen = []
    previous = None
    for _ in range(25):
        value = new_policy_id(NOON, previous=previous)
        assert is_valid_id(value) and len(value) <= 32
        if previous is not None:
            assert order_key(value) > order_key(previous)
        seen.append(value)
        previous = value
    assert len(set(seen)) == len(seen)
    assert seen[:3] == ["20261128T120000", "20261128T120000N1", "20261128T120000N2"]


def test_a_later_second_drops_the_counter() -> None:
    assert new_policy_id(NOON + timedelta(seconds=1), previous="20261128T120000N7") == "20261128T120001"


def test_previous_from_a_skewed_clock_still_gets_a_greater_id() -> None:
    later = "20300101T000000"
    value = new_policy_id(NOON, previous=later)
    assert order_key(value) > order_key(later)


@pytest.mark.parametrize("foreign", ["abc", "2024may01", "20261128T120000X", "1"])
def test_foreign_previous_id_gets_a_different_id(foreign: str) -> None:
    value = new_policy_id(NOON, previous=foreign)
    assert value != foreign and is_valid_id(value)


def test_foreign_previous_equal_to_the_timestamp_still_changes() -> None:
    # Someone hand-wrote an id that happens to be our candidate but is not parseable as ours.
    value = new_policy_id(NOON, previous="20261128T120000")
    assert value != "20261128T120000" and is_valid_id(value)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("a", True),
        ("A1", True),
        ("x" * 32, True),
        ("x" * 33, False),
        ("", False),
        ("a-b", False),
        ("a.b", False),
        ("a:b", False),
        ("a_b", False),
        ("abc\n", False),
        ("ä", False),
    ],
)
def test_is_valid_id(value: str, valid: bool) -> None:
    assert is_valid_id(value) is valid


def test_id_time_of_foreign_id_is_none() -> None:
    assert id_time("abc") is None
    assert id_time("20261128T120000N3") == NOON
