"""Builders for TLSRPT reports, emails and mailboxes used by the tests/test_reports_*.py files.

Reports are built as dicts so each test states exactly which field it varies.
"""

from __future__ import annotations

import copy
import gzip
import json
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any


def spec_example() -> dict[str, Any]:
    """The composed report of SPEC.md §9."""
    return {
        "organization-name": "Sender Example Ltd",
        "date-range": {"start-datetime": "2025-03-14T00:00:00Z", "end-datetime": "2025-03-14T23:59:59Z"},
        "contact-info": "tlsrpt@mail.sender.example",
        "report-id": "2025-03-14T00:00:00Z_example.com_a1",
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": [
                        "version: STSv1",
                        "mode: enforce",
                        "mx: mx1.example.com",
                        "mx: *.backup.example.com",
                        "max_age: 1209600",
                    ],
                    "policy-domain": "example.com",
                    "mx-host": ["mx1.example.com", "*.backup.example.com"],
                },
                "summary": {"total-successful-session-count": 4210, "total-failure-session-count": 7},
                "failure-details": [
                    {
                        "result-type": "certificate-expired",
                        "sending-mta-ip": "198.51.100.25",
                        "receiving-mx-hostname": "b1.backup.example.com",
                        "receiving-mx-helo": "b1.backup.example.com",
                        "receiving-ip": "203.0.113.17",
                        "failed-session-count": 5,
                        "failure-reason-code": "X509_V_ERR_CERT_HAS_EXPIRED",
                    },
                    {
                        "result-type": "certificate-host-mismatch",
                        "sending-mta-ip": "2001:db8:5::25",
                        "receiving-mx-hostname": "mx1.example.com",
                        "receiving-ip": "2001:db8:1::10",
                        "failed-session-count": 2,
                        "additional-information": "https://tlsrpt.sender.example/info/a1#mismatch",
                    },
                ],
            }
        ],
    }


def report(
    *,
    org: str = "Sender Example Ltd",
    report_id: str = "r1",
    domain: str = "example.com",
    day: str = "2025-03-14",
    success: int = 100,
    failure: int = 0,
    details: list[dict[str, Any]] | None = None,
    mx_host: Any = ("mx1.example.com",),
) -> dict[str, Any]:
    """A one-policy STS report for one UTC day."""
    doc = spec_example()
    doc["organization-name"] = org
    doc["report-id"] = report_id
    doc["date-range"] = {"start-datetime": f"{day}T00:00:00Z", "end-datetime": f"{day}T23:59:59Z"}
    pol = doc["policies"][0]
    pol["policy"]["policy-domain"] = domain
    pol["policy"]["mx-host"] = list(mx_host) if isinstance(mx_host, tuple) else mx_host
    pol["policy"]["policy-string"] = ["version: STSv1", "mode: testing"] + [
        f"mx: {m}" for m in (mx_host if isinstance(mx_host, tuple | list) else [])
    ]
    pol["summary"] = {"total-successful-session-count": success, "total-failure-session-count": failure}
    if details is None:
        del pol["failure-details"]
    else:
        pol["failure-details"] = details
    return doc


def detail(result_type: str, count: int, mx: str | None = "mx1.example.com", ip: str | None = "192.0.2.1") -> dict:
    out: dict[str, Any] = {"result-type": result_type, "failed-session-count": count}
    if mx is not None:
        out["receiving-mx-hostname"] = mx
    if ip is not None:
        out["sending-mta-ip"] = ip
    return out


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def gz(doc: Any) -> bytes:
    return gzip.compress(dumps(doc) if not isinstance(doc, bytes) else doc)


def email_report(
    payload: bytes,
    *,
    compressed: bool = True,
    encoding: str = "base64",
    domain: str = "example.com",
    submitter: str = "mail.sender.example",
    filename: str | None = None,
    content_type: str | None = None,
    sign: bool = True,
    signer: str | None = None,
    length: bool = False,
) -> bytes:
    """An RFC 8460 §5.3 report email: multipart/report, a text part, then the report part.

    Signed with DKIM by `signer` (default: the submitter) unless `sign` is False, since the
    importer ignores unsigned report emails; tests publish the key with dkim_support.dkim_dns.
    """
    msg = MIMEMultipart("report", report_type="tlsrpt")
    msg["From"] = f"tlsrpt@{submitter}"
    msg["To"] = f"tlsrpt@{domain}"
    msg["Subject"] = f"Report Domain: {domain} Submitter: {submitter} Report-ID: <x@{submitter}>"
    msg["TLS-Report-Domain"] = domain
    msg["TLS-Report-Submitter"] = submitter
    msg.attach(MIMEText("This is an aggregate TLS report.", "plain"))
    subtype = content_type or ("tlsrpt+gzip" if compressed else "tlsrpt+json")
    if encoding == "base64":
        part = MIMEApplication(payload, subtype)
    else:
        from email import encoders

        part = MIMEApplication(payload, subtype, _encoder=encoders.encode_7or8bit)
    name = filename or f"{submitter}!{domain}!1741910400!1741996799!a1.json" + (".gz" if compressed else "")
    part.add_header("Content-Disposition", "attachment", filename=name)
    msg.attach(part)
    if not sign:
        return msg.as_bytes()
    from dkim_support import sign as dkim_sign

    return dkim_sign(msg.as_bytes(), signer or submitter, length=length)


def plain_email(subject: str = "hello") -> bytes:
    msg = MIMEText("not a report", "plain")
    msg["From"] = "a@example.org"
    msg["To"] = "b@example.com"
    msg["Subject"] = subject
    return msg.as_bytes()


def mutated(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    """A deep copy of doc with the field at `path` set to `value` (or removed when value is ...)."""
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out
