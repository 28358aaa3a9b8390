"""A parsed report as the rows the store writes: pure functions, no database.

The store (wizard.reports.store), the import (wizard.reports.ingest) and the tests build rows
here, so none of them imports another to get at this.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

import msgspec

from wizard.reports.model import Report

_encode = msgspec.json.encode


class FailureRow(NamedTuple):
    """One `failure-details[]` entry as stored."""

    result_type: str
    sessions: int  # failed-session-count (the column `count`)
    sending_ip: str | None
    receiving_mx: str | None
    receiving_helo: str | None
    receiving_ip: str | None
    reason_code: str | None
    additional_information: str | None


class PolicyRow(NamedTuple):
    """One `policies[]` entry as stored; `domain` is the domain it counts for (see report_domain)."""

    domain: str
    policy_type: str
    policy_domain: str
    policy_string: str  # a JSON array of the policy's lines
    mx_host: str  # a JSON array of its mx patterns
    success: int
    failure: int
    failures: tuple[FailureRow, ...]


class ReportRows(NamedTuple):
    """One report as stored, without ids (the store gives them)."""

    organisation: str
    report_id: str
    contact_info: str
    start_utc: str
    end_utc: str
    day: str
    source: str
    policies: tuple[PolicyRow, ...]


def report_domain(report: Report, index: int, hint: str | None) -> str:
    """The domain a policy result counts for.

    STS and no-policy-found results name the recipient domain in `policy-domain`. For TLSA the
    field is the TLSA base domain (the MX host, SPEC §7), so the report's own domain is taken
    from the transport (TLS-Report-Domain header, filename) or from a sibling STS result.
    """
    policy = report.policies[index]
    if policy.policy_type != "tlsa":
        return policy.policy_domain
    if hint:
        return hint
    others = {p.policy_domain for p in report.policies if p.policy_type != "tlsa"}
    return others.pop() if len(others) == 1 else policy.policy_domain


def json_list(values: tuple[str, ...]) -> str:
    """A JSON array of strings, as policy_string and mx_host are stored."""
    return _encode(values).decode() if values else "[]"


def iso(value: datetime) -> str:
    """UTC, whole seconds, `Z`: the stored form of every date-time."""
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def report_rows(report: Report, source: str, hint: str | None) -> ReportRows:
    """A parsed report as the rows the store writes. `hint` is the report's own domain when the
    transport names it (TLS-Report-Domain, the file name), for TLSA results."""
    hint = hint.rstrip(".").lower() if hint else None
    policies = tuple(
        PolicyRow(
            report_domain(report, index, hint),
            policy.policy_type,
            policy.policy_domain,
            json_list(policy.policy_string),
            json_list(policy.mx_host),
            policy.successful_sessions,
            policy.failed_sessions,
            tuple(
                FailureRow(
                    d.result_type,
                    d.failed_session_count,
                    d.sending_mta_ip,
                    d.receiving_mx_hostname,
                    d.receiving_mx_helo,
                    d.receiving_ip,
                    d.failure_reason_code,
                    d.additional_information,
                )
                for d in policy.failure_details
            ),
        )
        for index, policy in enumerate(report.policies)
    )
    return ReportRows(
        report.organisation,
        report.report_id,
        report.contact_info,
        iso(report.start),
        iso(report.end),
        report.day.isoformat(),
        source,
        policies,
    )
