"""Policy ids for the `_mta-sts` TXT record (RFC 8461 §3.1: 1-32 ALPHA/DIGIT).

Senders only test whether the id changed, so any new unique value works; a UTC
timestamp (`20261128T120000`) is unique, valid, and tells a person when the policy
last changed. Two changes in the same second still get distinct, increasing ids.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

ID_PATTERN = re.compile(r"^[A-Za-z0-9]{1,32}\Z")  # \Z: "$" would also accept a trailing newline
_FORMAT = "%Y%m%dT%H%M%S"


def is_valid_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))


def new_policy_id(now: datetime | None = None, previous: str | None = None) -> str:
    """A fresh id for a changed policy: the UTC time, made strictly greater than `previous`.

    When `previous` is the same second (or later, e.g. a skewed clock), a counter
    suffix is added so the id still changes and still sorts after the old one.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    candidate = moment.strftime(_FORMAT)
    if previous is None or id_time(previous) is None:
        # Not one of ours (or none): any different value is a change.
        return candidate if candidate != previous else f"{candidate}N1"
    if _sort_key(candidate) > _sort_key(previous):
        return candidate
    base, counter = _sort_key(previous)
    return f"{base}N{counter + 1}"


def _sort_key(value: str) -> tuple[str, int]:
    """Our ids sort by (timestamp, same-second counter)."""
    base, _, counter = value.partition("N")
    return base, int(counter) if counter.isdigit() else 0


def id_time(value: str) -> datetime | None:
    """The time an id from new_policy_id stands for, or None for ids made elsewhere."""
    try:
        return datetime.strptime(value.partition("N")[0], _FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
