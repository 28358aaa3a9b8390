"""What the reports say about one domain: the evidence step 6 and the readiness verdict read.

Counts come from two places in a report and mean different things (RFC 8460 §4): the
per-policy summary totals are exact session counts, so daily figures, totals and
per-organisation failures use them; the failure-details entries explain failures but may
overlap or be incomplete, so breakdowns by result type, receiving MX and sending IP use them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wizard.mx import normalise_mx_host, pattern_matches
from wizard.reports.model import PolicyResult
from wizard.reports.parse import mx_patterns
from wizard.text import shown

#: How breakdown rows without the field are labelled (senders omit IP/MX for fetch errors).
NOT_REPORTED = "(not reported)"


@dataclass(frozen=True)
class DayStat:
    """One UTC day: sessions that negotiated TLS under the policy, sessions that failed, the failure rate."""

    date: date
    success: int
    failure: int

    @property
    def rate(self) -> float | None:
        """failure / (success + failure); None when no sessions were reported that day."""
        total = self.success + self.failure
        return self.failure / total if total else None

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "success": self.success, "failure": self.failure, "rate": self.rate}


@dataclass(frozen=True)
class Count:
    """One row of a breakdown: a key (result type, MX host, organisation) and its failed sessions."""

    key: str
    count: int


@dataclass(frozen=True)
class SenderCount:
    """Failed sessions from one sending IP of one reporting organisation."""

    organisation: str
    sending_ip: str
    count: int


@dataclass(frozen=True)
class Summary:
    """Everything the reports in a window say about a domain. Build it with ReportStore.summary()."""

    domain: str
    since: date | None
    until: date | None
    report_count: int
    daily: list[DayStat]
    by_result_type: list[Count]
    by_mx: list[Count]
    by_organisation: list[Count]
    by_sender: list[SenderCount]
    first: date | None
    last: date | None
    mx_seen: list[str]
    policy_patterns: list[str] | None
    uncovered_mx: list[str] = field(default_factory=list)
    latest_policy_patterns: list[str] = field(default_factory=list)

    @property
    def success(self) -> int:
        return sum(d.success for d in self.daily)

    @property
    def failure(self) -> int:
        return sum(d.failure for d in self.daily)

    @property
    def rate(self) -> float | None:
        """The failure rate over the whole window; None when no sessions were reported."""
        total = self.success + self.failure
        return self.failure / total if total else None

    @property
    def days_covered(self) -> int:
        """Distinct days with at least one report in the window."""
        return len(self.daily)

    def to_json(self) -> dict[str, Any]:
        """The `reports summary --json` document (version 1)."""
        return {
            "version": 1,
            "domain": self.domain,
            "since": _iso(self.since),
            "until": _iso(self.until),
            "report_count": self.report_count,
            "first": _iso(self.first),
            "last": _iso(self.last),
            "days_covered": self.days_covered,
            "totals": {"success": self.success, "failure": self.failure, "rate": self.rate},
            "daily": [d.to_json() for d in self.daily],
            "failures_by_result_type": [{"result_type": c.key, "count": c.count} for c in self.by_result_type],
            "failures_by_mx": [{"mx": c.key, "count": c.count} for c in self.by_mx],
            "failures_by_organisation": [{"organisation": c.key, "count": c.count} for c in self.by_organisation],
            "failures_by_sending_ip": [
                {"organisation": s.organisation, "sending_ip": s.sending_ip, "count": s.count} for s in self.by_sender
            ],
            "mx_seen": self.mx_seen,
            "policy_patterns": self.policy_patterns,
            "uncovered_mx": self.uncovered_mx,
            "latest_policy_patterns": self.latest_policy_patterns,
        }

    def render(self) -> str:
        """The plain-text summary `reports summary` prints; every text from a report goes through `shown`."""
        lines = [f"TLS reports for {shown(self.domain)}" + _window(self.since, self.until)]
        if not self.report_count:
            lines.append("no reports stored for this window; import some with 'mta-sts-wizard reports import PATH'")
            return "\n".join(lines)
        lines.append(
            f"{self.report_count} reports covering {self.days_covered} days"
            f" (first {_iso(self.first)}, last {_iso(self.last)})"
        )
        lines.append(f"sessions: {self.success} succeeded, {self.failure} failed ({_pct(self.rate)} failure rate)")
        lines.append("")
        lines.append(f"{'day':<12}{'success':>12}{'failure':>10}{'rate':>9}")
        for d in self.daily:
            lines.append(f"{d.date.isoformat():<12}{d.success:>12}{d.failure:>10}{_pct(d.rate):>9}")
        for title, rows in (
            ("failures by result type", self.by_result_type),
            ("failures by receiving MX", self.by_mx),
            ("failures by sending organisation", self.by_organisation),
        ):
            if rows:
                lines.append("")
                lines.append(title + ":")
                lines.extend(f"  {c.count:>10}  {shown(c.key)}" for c in rows)
        if self.by_sender:
            lines.append("")
            lines.append("failures by sending IP:")
            lines.extend(f"  {s.count:>10}  {shown(s.sending_ip)} ({shown(s.organisation)})" for s in self.by_sender)
        lines.append("")
        if self.policy_patterns is None:
            lines.append("MX coverage: no policy patterns known; pass --mx PATTERN to check the MX hosts seen")
        elif self.uncovered_mx:
            lines.append(
                "MX hosts in reports that the policy does not cover: "
                + ", ".join(map(shown, self.uncovered_mx))
                + "; add them to the policy's mx lines before moving to enforce"
            )
        else:
            lines.append(f"every MX host seen in reports is covered by: {', '.join(map(shown, self.policy_patterns))}")
        return "\n".join(lines)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"


def _window(since: date | None, until: date | None) -> str:
    if since and until:
        return f", {since.isoformat()} to {until.isoformat()}"
    return ""


def _nulls_first(value: str | None) -> tuple[bool, str]:
    """A sort key placing None before every string, as SQL orders NULL."""
    return (value is not None, value or "")


def uncovered_hosts(patterns: Sequence[str], hosts: Sequence[str]) -> list[str]:
    """Hosts no pattern matches, in the order given (RFC 8461 §4.1 matching via wizard.mx)."""
    out = []
    for host in hosts:
        name = normalise_mx_host(host)
        if name and not any(pattern_matches(p, name) for p in patterns) and name not in out:
            out.append(name)
    return out


def build_summary(
    conn: sqlite3.Connection,
    domain: str,
    *,
    since: date | None = None,
    days: int | None = None,
    policy_patterns: Sequence[str] | None = None,
    today: date | None = None,
) -> Summary:
    """Summarise the stored reports for `domain` from `since` (or the last `days` days up to `today`).

    `policy_patterns` are the mx patterns of the domain's current policy; MX hosts seen in
    reports that none of them match are listed in `uncovered_mx`. Without patterns the check
    is not made (`policy_patterns` stays None), since a guess would mislead the verdict.
    """
    until: date | None = None
    if days is not None:
        if days < 1:
            raise ValueError("days must be at least 1")
        until = today or datetime.now(UTC).date()
        start = until - timedelta(days=days - 1)
        since = max(since, start) if since else start
    where = "domain = ?"
    params: list[Any] = [domain]
    if since is not None:
        where += " AND day >= ?"
        params.append(since.isoformat())
    if until is not None:
        where += " AND day <= ?"
        params.append(until.isoformat())

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    # A report's policy rows all carry its day, so per-day distinct reports add up to the total:
    # one pass over the domain's rows instead of two.
    per_day = rows(
        f"SELECT day, SUM(success), SUM(failure), COUNT(DISTINCT report) FROM policies WHERE {where}"
        " GROUP BY day ORDER BY day"
    )
    daily = [DayStat(date.fromisoformat(day), int(s), int(f)) for day, s, f, _ in per_day]
    report_count = sum(n for *_, n in per_day)
    by_org = [
        Count(k, int(c))
        for k, c in rows(
            f"SELECT organisation, SUM(failure) AS n FROM policies WHERE {where} AND failure > 0"
            " GROUP BY organisation ORDER BY n DESC, 1"
        )
    ]
    # The failure breakdowns (result type, receiving MX, sender, MX seen) come from one pass over
    # the domain's failure rows, added up here, instead of four grouped and sorted queries over
    # the same rows (summary of 25 domains x 800 reports: ~30 -> ~22 ms). Keys sort as SQLite's
    # BINARY collation would (UTF-8 byte order is code point order), NULL first, so nothing moves.
    per_type: dict[str, int] = {}
    per_mx: dict[str | None, int] = {}
    per_sender: dict[tuple[str, str | None], int] = {}
    for result_type, mx, org, ip, n in rows(
        f"SELECT result_type, receiving_mx, organisation, sending_ip, count FROM failures WHERE {where}"
    ):
        per_type[result_type] = per_type.get(result_type, 0) + n
        per_mx[mx] = per_mx.get(mx, 0) + n
        per_sender[org, ip] = per_sender.get((org, ip), 0) + n
    by_type = [Count(k, c) for k, c in sorted(per_type.items(), key=lambda kc: (-kc[1], kc[0]))]
    by_mx = [
        Count(k or NOT_REPORTED, c) for k, c in sorted(per_mx.items(), key=lambda kc: (-kc[1], *_nulls_first(kc[0])))
    ]
    by_sender = [
        SenderCount(org, ip or NOT_REPORTED, c)
        for (org, ip), c in sorted(per_sender.items(), key=lambda kc: (-kc[1], kc[0][0], *_nulls_first(kc[0][1])))
    ]
    mx_seen = sorted(mx for mx in per_mx if mx is not None)
    latest = rows(
        f"SELECT mx_host, policy_string FROM policies WHERE {where} AND policy_type = 'sts'"
        " ORDER BY day DESC, id DESC LIMIT 1"
    )
    latest_patterns: list[str] = []
    if latest:
        latest_patterns = list(
            mx_patterns(
                PolicyResult("sts", domain, tuple(json.loads(latest[0][1])), tuple(json.loads(latest[0][0])), 0, 0, ())
            )
        )
    patterns = list(policy_patterns) if policy_patterns is not None else None
    return Summary(
        domain=domain,
        since=since,
        until=until,
        report_count=int(report_count),
        daily=daily,
        by_result_type=by_type,
        by_mx=by_mx,
        by_organisation=by_org,
        by_sender=by_sender,
        first=daily[0].date if daily else None,
        last=daily[-1].date if daily else None,
        mx_seen=mx_seen,
        policy_patterns=patterns,
        uncovered_mx=uncovered_hosts(patterns, mx_seen) if patterns is not None else [],
        latest_policy_patterns=latest_patterns,
    )
