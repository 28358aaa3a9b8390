"""Which report emails count: RFC 8460 §3 and §5.3 (SPEC.md §8), checked before a report is imported.

Anyone can mail a rua= address, so an emailed report is evidence only when its origin is proven:

- the email MUST carry `TLS-Report-Domain` and `TLS-Report-Submitter` headers;
- it MUST carry a valid DKIM signature from the reporting domain with no `l=` tag (a body length
  limit would let anyone append a second report under the signature); receivers MUST ignore
  unsigned reports;
- the submitter MUST equal the domain of the report's `contact-info`.

"The reporting domain" is read as the submitter's domain **or a parent of it**: a sender whose
reports say `TLS-Report-Submitter: mail.sender.example` may sign them `d=sender.example`. The
owner of sender.example controls every name under it in DNS, including the key that signs, so
a parent's signature speaks for the submitter (DMARC's relaxed alignment reasons the same way).
A child of the submitter does not count: a subdomain may be delegated to a third party. A bare
top-level domain never counts. Without a public-suffix list a registry-level parent such as
co.uk is not told apart; registries publish no DKIM keys, so that admits nothing in practice.

Keys whose record lacks `s=tlsrpt` are accepted: RFC 8460 lets receivers ignore them (MAY), and
most senders' keys (mail-wide, `s=*` by default) lack it; `Verdict.tlsrpt_key` says which it was.

The key is looked up through a `KeyLookup` callable (TXT strings at a name); `DnsKeyLookup` asks
the project's DNS client, so `--nameserver` and `--timeout` apply and tests use a loopback server.
A lookup that fails (timeout, SERVFAIL, NXDOMAIN) skips that email with the reason, never crashes.
"""

from __future__ import annotations

import contextlib
import email.message
import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

#: TXT strings (joined per record) at a DNS name; raises KeyLookupError when there is no verdict or no record.
KeyLookup = Callable[[str], tuple[str, ...]]

#: Signatures looked at per email (a message with more is hostile; the first ones decide).
MAX_SIGNATURES = 8
#: Key lookups a DnsKeyLookup remembers at once (the signers of one import are a few dozen).
MAX_REMEMBERED = 4096

UNSIGNED = "not DKIM-signed; RFC 8460 says receivers ignore unsigned reports"


class KeyLookupError(Exception):
    """The DKIM key's TXT record could not be had; the message is the one-line reason."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """An email's standing: `reason` says why it is skipped; None means its reports may be imported."""

    reason: str | None
    submitter: str | None = None
    signer: str | None = None
    tlsrpt_key: bool = False


def _domain(value: object) -> str:
    return str(value).strip().rstrip(".").lower() if value is not None else ""


def report_headers(headers: email.message.Message) -> tuple[str, str] | str:
    """(report domain, submitter) from the RFC 8460 §5.3 headers, or why they are unusable."""
    missing = [h for h in ("TLS-Report-Domain", "TLS-Report-Submitter") if not _domain(headers.get(h))]
    if missing:
        return f"no {' or '.join(missing)} header; RFC 8460 requires both on an emailed report"
    return _domain(headers.get("TLS-Report-Domain")), _domain(headers.get("TLS-Report-Submitter"))


def signs_for(signer: str, submitter: str) -> bool:
    """True when DKIM domain `signer` is the submitter's domain or a parent of it (see the module notes)."""
    signer, submitter = _domain(signer), _domain(submitter)
    if not signer or "." not in signer:
        return False
    return submitter == signer or submitter.endswith("." + signer)


def _tags(value: str) -> dict[str, str]:
    """A DKIM-Signature's tag=value list (RFC 6376 §3.2), names lower-cased, whitespace removed from values."""
    out: dict[str, str] = {}
    for item in value.split(";"):
        name, sep, val = item.partition("=")
        if sep:
            out.setdefault(name.strip().lower(), "".join(val.split()))
    return out


def check_email(message: bytes, headers: email.message.Message, lookup: KeyLookup, *, timeout: float = 10.0) -> Verdict:
    """Whether the email `message` (its parsed top `headers` given) may have its reports imported.

    Cheap checks come first (headers, then each signature's d= and l= tags), so a report that
    fails them costs no DNS lookup. Any signature that qualifies and verifies is enough.
    """
    found = report_headers(headers)
    if isinstance(found, str):
        return Verdict(found)
    _domain_header, submitter = found
    signatures = headers.get_all("DKIM-Signature") or []
    if not signatures:
        return Verdict(UNSIGNED, submitter)
    reasons: list[tuple[int, str]] = []  # (rank, reason): the most telling one is reported
    eligible: list[tuple[int, str]] = []
    for idx, raw in enumerate(signatures[:MAX_SIGNATURES]):
        tags = _tags(str(raw))
        signer = _domain(tags.get("d"))
        if not signs_for(signer, submitter):
            reasons.append(
                (
                    0,
                    f"DKIM-signed by {signer or '(no d= domain)'}, not by the submitter {submitter} or a parent"
                    " domain; RFC 8460 requires the reporting domain's signature",
                )
            )
        elif "l" in tags:
            reasons.append((1, f"its DKIM signature (d={signer}) has an l= body-length tag, which RFC 8460 forbids"))
        else:
            eligible.append((idx, signer))
    if not eligible:
        return Verdict(max(reasons)[1], submitter)

    import dkim  # type: ignore[import-untyped]  # dkimpy: ~40 ms to import; only once there is a signature

    try:
        checker = _checker(dkim, message, timeout)
    except dkim.DKIMException as exc:
        return Verdict(f"cannot be DKIM-checked: {_text(exc)}", submitter)
    dnsfunc = _dnsfunc(lookup)
    for idx, signer in eligible:
        try:
            if checker.verify(idx=idx, dnsfunc=dnsfunc):
                return Verdict(None, submitter, signer, bool(checker.seqtlsrpt))
            reasons.append((3, f"its DKIM signature by {signer} does not verify (altered in transit, or a forgery)"))
        except KeyLookupError as exc:
            reasons.append((2, f"the DKIM key of {signer} cannot be looked up ({exc}); try again later"))
        except dkim.DKIMException as exc:
            reasons.append((3, f"its DKIM signature by {signer} does not verify ({_text(exc)})"))
        except Exception as exc:  # dkimpy on hostile input: a reason, never a traceback
            reasons.append((3, f"its DKIM signature by {signer} cannot be checked ({type(exc).__name__})"))
    return Verdict(max(reasons)[1], submitter)


#: The end of the header block: a line ending followed by an empty line (dkimpy's rfc822_parse rule).
_BODY_START = re.compile(rb"\n\r?\n")


def _checker(dkim: Any, message: bytes, timeout: float) -> Any:
    """A dkimpy DKIM object for `message`, its body made without dkimpy's list of lines.

    dkimpy splits the whole message into one bytes object per line and joins them again: for
    a 27 MB report email that is ~100 MB at its peak. Only the header block goes through its
    parser here; the body gets the same CRLF form (every LF or CRLF as CRLF) with bytes.replace.
    """
    m = _BODY_START.search(message)
    if m is None or message[:1] in (b"\r", b"\n"):
        return dkim.DKIM(message, minkey=1024, timeout=timeout, tlsrpt=True)
    checker = dkim.DKIM(message[: m.start() + 1] + b"\n", minkey=1024, timeout=timeout, tlsrpt=True)
    body = message[m.end() :]
    if b"\r" not in body:  # LF line ends (mbox, Maildir): one replace
        body = body.replace(b"\n", b"\r\n")
    elif body.count(b"\n") != body.count(b"\r\n"):  # mixed; all-CRLF (IMAP) is used as it is
        body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    checker.body = body
    return checker


def _text(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _dnsfunc(lookup: KeyLookup) -> Callable[..., bytes | None]:
    """dkimpy's DNS hook: the key record at `name` (bytes, with trailing dot) as bytes."""

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        records = lookup(text.rstrip("."))
        keys = [r for r in records if "p=" in r] or list(records)
        if not keys:
            raise KeyLookupError(f"{text.rstrip('.')} has no TXT record")
        return keys[0].encode("utf-8", "replace")

    return dnsfunc


def contact_problem(contact_info: str, submitter: str | None) -> str | None:
    """Why a report with this `contact-info`, from an email whose submitter is `submitter`, is
    skipped, or None. RFC 8460 §5.3: the submitter MUST equal the domain of contact-info."""
    contact = (contact_info or "").strip()
    domain = _domain(contact.rpartition("@")[2].rstrip(">")) if "@" in contact else ""
    if not domain:
        return f"its contact-info {contact!r} has no domain to compare with TLS-Report-Submitter {submitter}"
    if domain != _domain(submitter):
        return (
            f"TLS-Report-Submitter {submitter} differs from the domain of its contact-info ({domain});"
            " RFC 8460 requires them equal"
        )
    return None


class DnsKeyLookup:
    """TXT lookups through wizard.dnsclient (`--nameserver`, `--timeout`), remembered `remember` seconds.

    One import often holds hundreds of reports signed with the same key, and a key that timed
    out once would time out again: both answers and failures are kept per name, long enough
    for an import and short enough that a long-lived caller sees a rotated key.
    """

    def __init__(
        self, nameservers: tuple[str, ...] | list[str] = (), timeout: float = 10.0, remember: float = 600.0
    ) -> None:
        self.nameservers = tuple(nameservers)
        self.timeout = timeout
        self.remember = remember
        self._memo: dict[str, tuple[float, tuple[str, ...], str | None]] = {}

    def __call__(self, name: str) -> tuple[str, ...]:
        key = name.strip().rstrip(".").lower()
        now = time.monotonic()
        got = self._memo.get(key)
        if got is None or now - got[0] > self.remember:
            if len(self._memo) >= MAX_REMEMBERED:
                self._memo.clear()
            got = self._memo[key] = (now, *self._resolve(key))
        _when, records, problem = got
        if problem is not None:
            raise KeyLookupError(problem)
        return records

    def _resolve(self, name: str) -> tuple[tuple[str, ...], str | None]:
        from wizard.dnsclient import DnsClient

        async def ask() -> tuple[tuple[str, ...], str | None]:
            client = DnsClient(self.nameservers, self.timeout)
            try:
                result = await client.query(name, "TXT")
            finally:
                await client.close()
            if result.status == "ok" and result.records:
                return result.records, None
            return (), result.describe()

        return _run_sync(ask)


def _run_sync(make: Callable[[], object]) -> tuple[tuple[str, ...], str | None]:
    """Run the coroutine `make()` to completion, also when this thread already runs an event loop."""
    import asyncio
    import threading

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    box: list[tuple[tuple[str, ...], str | None]] = []
    worker = threading.Thread(target=lambda: box.append(asyncio.run(make())), name="dkim-key-lookup")  # type: ignore[arg-type]
    worker.start()
    worker.join()
    return box[0] if box else ((), "the DNS lookup stopped unexpectedly")


_LOOKUP: ContextVar[KeyLookup | None] = ContextVar("dkim_key_lookup", default=None)


@contextlib.contextmanager
def use_key_lookup(lookup: KeyLookup) -> Iterator[KeyLookup]:
    """Emails read inside this block look DKIM keys up through `lookup` (the commands' --nameserver)."""
    token = _LOOKUP.set(lookup)
    try:
        yield lookup
    finally:
        _LOOKUP.reset(token)


_SYSTEM: list[DnsKeyLookup] = []


def current_key_lookup() -> KeyLookup:
    """The lookup set by `use_key_lookup`, else the system resolver's (one for the process, so a
    library caller importing a mailbox outside such a block still asks once per key)."""
    chosen = _LOOKUP.get()
    if chosen is not None:
        return chosen
    if not _SYSTEM:
        _SYSTEM.append(DnsKeyLookup())
    return _SYSTEM[0]


__all__ = [
    "UNSIGNED",
    "DnsKeyLookup",
    "KeyLookup",
    "KeyLookupError",
    "Verdict",
    "check_email",
    "contact_problem",
    "current_key_lookup",
    "report_headers",
    "signs_for",
    "use_key_lookup",
]
