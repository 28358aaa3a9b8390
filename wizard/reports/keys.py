"""The store's content-derived ids: 64-bit BLAKE2b hashes, computed wherever a report is parsed.

A worker process can give a report and its texts their stored keys without asking the store;
the store keeps every use exact (a key taken by something else is detected and resolved there).
"""

from __future__ import annotations

import hashlib

#: text -> text_key, for the few texts that repeat in every report (a domain's policy and MX list).
_text_keys: dict[str, int] = {}
_MEMO_ENTRIES = 4096
_MEMO_CHARS = 2048


def _key(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


def report_key(organisation: str, report_id: str) -> int:
    """The stored dedup key of a report: a signed 64-bit BLAKE2b of its (organisation, report-id)."""
    return _key(f"{organisation}\0{report_id}".encode("utf-8", "surrogatepass"))


def text_key(text: str) -> int:
    """The id a policy-string or mx-host text is stored under (`strings.id`), unless taken (see the store)."""
    key = _text_keys.get(text)
    if key is None:
        key = _key(text.encode("utf-8", "surrogatepass"))
        if len(text) <= _MEMO_CHARS:
            if len(_text_keys) >= _MEMO_ENTRIES:
                _text_keys.clear()
            _text_keys[text] = key
    return key
