"""Generate a realistic corpus of TLSRPT aggregate reports as `.json.gz` files (RFC 8460 §5.3 names).

The mix follows what real senders send (SPEC.md §7 notes): Google-style reports (mx-host
arrays, 23:59:59Z ends, no failure-details when clean), Microsoft-style date-times without an
offset, Mail.ru-style next-midnight ends and fetch errors without IP/MX fields, SocketLabs-style
policy strings without a space after ':' and mx-host as a string, `additional-info-uri`,
TLSA and no-policy-found results. About one report in five carries failures.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SENDERS = [
    ("Google Inc.", "google.com", "smtp-tls-reporting@google.com", "google", 0.40),
    ("Microsoft Corporation", "microsoft.com", "tlsrpt-noreply@microsoft.com", "microsoft", 0.25),
    ("Yahoo", "yahoo.com", "tlsrpt@yahooinc.com", "google", 0.08),
    ("Mail.Ru", "mail.ru", "tlsrpt@corp.mail.ru", "mailru", 0.07),
    ("SocketLabs, Inc.", "socketlabs.com", "tlsrpt@socketlabs.com", "socketlabs", 0.05),
    ("Comcast", "comcast.net", "tlsrpt@comcast.net", "google", 0.05),
    ("Proton AG", "proton.me", "tlsrpt@proton.me", "google", 0.05),
    ("Fastmail", "fastmail.com", "tlsrpt@fastmail.com", "google", 0.05),
]
RESULT_TYPES = [
    ("certificate-expired", 3),
    ("certificate-host-mismatch", 3),
    ("certificate-not-trusted", 2),
    ("validation-failure", 2),
    ("starttls-not-supported", 2),
    ("sts-policy-fetch-error", 2),
    ("sts-webpki-invalid", 1),
    ("tlsa-invalid", 1),
    ("dane-required", 1),
]


def _when(day: datetime, style: str) -> dict[str, str]:
    start = day.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "microsoft":
        return {"start-datetime": start, "end-datetime": (day + timedelta(seconds=86399)).strftime("%Y-%m-%dT%H:%M:%S")}
    if style == "mailru":
        return {"start-datetime": start + "Z", "end-datetime": (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return {
        "start-datetime": start + "Z",
        "end-datetime": (day + timedelta(seconds=86399)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _policy(rng: random.Random, domain: str, style: str) -> dict[str, Any]:
    mx = [f"mx{i}.{domain}" for i in range(1, rng.randint(2, 3))] + [f"*.backup.{domain}"]
    kind = rng.random()
    if kind < 0.03:
        return {"policy-type": "no-policy-found", "policy-domain": domain}
    if kind < 0.08:
        return {
            "policy-type": "tlsa",
            "policy-string": [f"3 1 1 {rng.getrandbits(256):064x}"],
            "policy-domain": mx[0],
        }
    sep = ":" if style == "socketlabs" else ": "
    lines = [f"version{sep}STSv1", f"mode{sep}{rng.choice(['testing', 'enforce'])}"]
    lines += [f"mx{sep}{m}" for m in mx] + [f"max_age{sep}604800"]
    policy: dict[str, Any] = {"policy-type": "sts", "policy-string": lines, "policy-domain": domain}
    if style == "socketlabs":
        policy["mx-host"] = mx[0]  # the RFC's Appendix B shape (EID 6241)
    elif style != "mailru" or rng.random() < 0.5:
        policy["mx-host"] = mx
    return policy


def _details(rng: random.Random, domain: str, style: str, failures: int) -> list[dict[str, Any]]:
    out = []
    left = failures
    for _ in range(rng.randint(1, 5)):
        if left <= 0:
            break
        n = rng.randint(1, left)
        left -= n
        rtype = rng.choices([r for r, _ in RESULT_TYPES], [w for _, w in RESULT_TYPES])[0]
        d: dict[str, Any] = {"result-type": rtype, "failed-session-count": n}
        if not (style == "mailru" and rtype == "sts-policy-fetch-error"):
            d["sending-mta-ip"] = (
                f"2001:db8:{rng.randint(1, 99):x}::{rng.randint(1, 250):x}"
                if rng.random() < 0.3
                else f"198.51.100.{rng.randint(1, 250)}"
            )
            host = rng.choice(
                [f"mx1.{domain}", f"mx2.{domain}", f"b{rng.randint(1, 3)}.backup.{domain}", f"old-mx.{domain}"]
            )
            d["receiving-mx-hostname"] = host
            d["receiving-ip"] = f"203.0.113.{rng.randint(1, 250)}"
            if rng.random() < 0.5:
                d["receiving-mx-helo"] = host
        if rtype in ("certificate-not-trusted", "validation-failure"):
            d["failure-reason-code"] = rng.choice(
                ["X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "X509_V_ERR_SELF_SIGNED"]
            )
        if rng.random() < 0.2:
            key = "additional-info-uri" if style == "microsoft" else "additional-information"
            d[key] = f"https://tlsrpt.example/info/{rng.getrandbits(32):08x}"
        out.append(d)
    return out


def make_report(
    rng: random.Random, serial: int, domains: list[str], first_day: datetime, days: int
) -> tuple[str, bytes]:
    """One report: (RFC 8460 filename, gzip bytes)."""
    org, sender, contact, style = rng.choices([s[:4] for s in SENDERS], [s[4] for s in SENDERS])[0]
    domain = rng.choice(domains)
    day = first_day + timedelta(days=rng.randrange(days))
    policies = []
    for _ in range(1 if rng.random() < 0.85 else 2):
        success = int(rng.paretovariate(1.2) * 40)
        failure = rng.randint(1, max(1, success // 20 + 3)) if rng.random() < 0.2 else 0
        entry: dict[str, Any] = {
            "policy": _policy(rng, domain, style),
            "summary": {"total-successful-session-count": success, "total-failure-session-count": failure},
        }
        if failure:
            entry["failure-details"] = _details(rng, domain, style, failure)
        elif style == "microsoft":
            entry["failure-details"] = []
        policies.append(entry)
    report = {
        "organization-name": org,
        "date-range": _when(day, style),
        "contact-info": contact,
        "report-id": f"{day:%Y-%m-%dT%H:%M:%SZ}_{domain}_{serial:06d}",
        "policies": policies,
    }
    begin = int(day.timestamp())
    name = f"{sender}!{domain}!{begin}!{begin + 86399}!{serial:06d}.json.gz"
    return name, gzip.compress(json.dumps(report).encode(), compresslevel=6)


def generate(folder: Path, count: int, seed: int = 8460, domains: int = 25, days: int = 60) -> list[Path]:
    """Write `count` reports into `folder` (spread over 100 subfolders) and return their paths."""
    rng = random.Random(seed)
    names = ["example.com"] + [f"domain{i}.example" for i in range(1, domains)]
    first_day = datetime(2025, 1, 1, tzinfo=UTC)
    paths = []
    for serial in range(count):
        name, data = make_report(rng, serial, names, first_day, days)
        sub = folder / f"{serial % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / name
        path.write_bytes(data)
        paths.append(path)
    return paths
