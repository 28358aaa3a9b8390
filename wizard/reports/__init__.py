"""TLSRPT aggregate reports (RFC 8460): parse, read from files and mailboxes, store, summarise.

Step 6 of the wizard needs evidence before a policy moves to enforce: the reports sending
servers mail or post to the rua addresses. This package turns whatever the user has
(JSON, gzip, emails, mailboxes, HTTPS POST bodies) into one deduplicated SQLite store and
answers the questions the step-6 screen and the readiness verdict ask of it.
"""

from __future__ import annotations

from wizard.reports.ingest import ImportOutcome, Rejection, StoreOutcome, import_paths, store_report_bytes
from wizard.reports.inputs import iter_candidates
from wizard.reports.model import FailureDetail, PolicyResult, Report, ReportRejected
from wizard.reports.parse import MAX_REPORT_BYTES, parse_report
from wizard.reports.store import STORE_FILENAME, ReportStore, StoreError, store_path
from wizard.reports.summary import Count, DayStat, SenderCount, Summary

__all__ = [
    "MAX_REPORT_BYTES",
    "STORE_FILENAME",
    "Count",
    "DayStat",
    "FailureDetail",
    "ImportOutcome",
    "PolicyResult",
    "Rejection",
    "Report",
    "ReportRejected",
    "ReportStore",
    "SenderCount",
    "StoreError",
    "StoreOutcome",
    "Summary",
    "import_paths",
    "iter_candidates",
    "parse_report",
    "store_path",
    "store_report_bytes",
]
