"""The report evidence the readiness verdict reads: the store's Summary plus failures by (cause, MX).

`Summary` breaks failures down by result type and by MX separately; the verdict needs them
together ("certificate-expired on mx2"), and the last day each was seen (a failure that
stopped after a fix no longer blocks). That query lives here so the reports package stays
as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from wizard.reports.store import ReportStore, StoreError, store_path
from wizard.reports.summary import Summary


@dataclass(frozen=True)
class FailurePair:
    """Failed sessions of one result type at one receiving MX ('' when senders did not say)."""

    result_type: str
    mx: str
    count: int
    first: date
    last: date
    organisations: tuple[str, ...] = ()
    """The organisations whose reports name these failures (who to believe, for a host not ours)."""


@dataclass(frozen=True)
class ReportEvidence:
    """What the stored reports say about one domain since a given day."""

    summary: Summary
    pairs: tuple[FailurePair, ...]


def failure_pairs(store: ReportStore, domain: str, since: date | None = None) -> tuple[FailurePair, ...]:
    """Failures grouped by (result type, receiving MX), biggest first, with first and last day seen."""
    sql = (
        "SELECT result_type, COALESCE(receiving_mx, ''), SUM(count), MIN(day), MAX(day),"
        " json_group_array(DISTINCT organisation) FROM failures WHERE domain = ?"
    )
    params: list[str] = [domain.strip().rstrip(".").lower()]
    if since is not None:
        sql += " AND day >= ?"
        params.append(since.isoformat())
    sql += " GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"
    return tuple(
        FailurePair(
            rt,
            mx.rstrip(".").lower(),
            int(n),
            date.fromisoformat(lo),
            date.fromisoformat(hi),
            tuple(sorted(str(o) for o in json.loads(orgs) if o)),
        )
        for rt, mx, n, lo, hi, orgs in store.conn.execute(sql, params)
    )


def load_evidence(
    store: ReportStore, domain: str, *, since: date | None = None, policy_patterns: Sequence[str] | None = None
) -> ReportEvidence:
    """Summary and failure pairs for `domain` from `since` (the start of testing, usually)."""
    summary = store.summary(domain, since=since, policy_patterns=list(policy_patterns) if policy_patterns else None)
    return ReportEvidence(summary, failure_pairs(store, domain, since))


def load_evidence_from_dir(
    state_dir: Path | str, domain: str, *, since: date | None = None, policy_patterns: Sequence[str] | None = None
) -> ReportEvidence | None:
    """The same from the store in a state dir; None when no report was ever imported there.

    Raises StoreError (one-line message) when the store exists but cannot be read.
    """
    path = store_path(state_dir)
    if not path.exists():
        return None
    with ReportStore(path) as store:
        return load_evidence(store, domain, since=since, policy_patterns=policy_patterns)


__all__ = ["FailurePair", "ReportEvidence", "StoreError", "failure_pairs", "load_evidence", "load_evidence_from_dir"]
