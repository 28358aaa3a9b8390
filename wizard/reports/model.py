"""The shape of one parsed TLSRPT aggregate report (RFC 8460 §4), independent of its source.

Field names follow the RFC's JSON with the real-world variations already resolved
(SPEC.md §7 notes): `mx_host` is always a tuple, date-times are timezone-aware UTC,
`additional_information` holds either spelling of the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


class ReportRejected(ValueError):
    """A report (or an input holding one) cannot be imported; the message is the one-line reason."""


@dataclass(frozen=True, slots=True)
class FailureDetail:
    """One `failure-details[]` entry. Only `result_type` and `failed_session_count` are always known."""

    result_type: str
    failed_session_count: int
    sending_mta_ip: str | None = None
    receiving_mx_hostname: str | None = None
    receiving_mx_helo: str | None = None
    receiving_ip: str | None = None
    failure_reason_code: str | None = None
    additional_information: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One `policies[]` entry: the policy the sender applied and what happened under it."""

    policy_type: str
    policy_domain: str
    policy_string: tuple[str, ...]
    mx_host: tuple[str, ...]
    successful_sessions: int
    failed_sessions: int
    failure_details: tuple[FailureDetail, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """One aggregate report. (`organisation`, `report_id`) identifies it across re-imports."""

    organisation: str
    report_id: str
    contact_info: str
    start: datetime
    end: datetime
    policies: tuple[PolicyResult, ...]
    #: What was dropped from the report while reading it, one line each (a field that is not
    #: what its name says, such as an IP field holding no IP address).
    notes: tuple[str, ...] = ()

    @property
    def day(self) -> date:
        """The UTC day the report speaks for: the date at the middle of its range.

        Reports SHOULD cover one UTC day, ending either at 23:59:59 or at the next midnight
        (both are seen); the midpoint puts both on the right day.
        """
        return (self.start + (self.end - self.start) / 2).date() if self.end > self.start else self.start.date()

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Candidate:
    """What one input gave: a report's bytes (`data`), a report already parsed (`report`, from an
    email, where it is read once for the contact-info check), or the reason it gave none."""

    source: str
    data: bytes | None = None
    reason: str | None = None
    domain_hint: str | None = None
    report: Report | None = None
