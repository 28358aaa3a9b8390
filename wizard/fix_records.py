"""The records a finding's fix names, ready to copy: `'mx: mx2.example.com'`, `'v=STSv1; id=...'`.

Fixes quote the record or line to publish in single quotes (CONTRACT.md findings). Step 5 offers
each as a copyable value. A quoted value holding a placeholder (`<new id>`, `...`) is filled from
what the wizard saved when it can be (the policy id, the rua), and left out when it cannot: a
template is not a record anyone should paste.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_QUOTED = re.compile(r"'([^'\n]{3,200})'")
#: What a record or policy line starts with (RFC 8461 §3.1, §3.2; RFC 8460 §3).
_RECORD_START = re.compile(r"^(v=STSv1|v=TLSRPTv1|version: |mode: |mx: |max_age: )")
_ID_HOLE = re.compile(r"id=(<[^>]*>|\.\.\.)")
_RUA_HOLE = re.compile(r"rua=(mailto:)?<[^>]*>")


def records_in_fix(fix: str, *, policy_id: str | None = None, rua: Sequence[str] = ()) -> list[str]:
    """Every record or policy line quoted in `fix`, placeholders filled from the saved values."""
    out: list[str] = []
    for match in _QUOTED.finditer(fix):
        value = match.group(1).strip()
        if not _RECORD_START.match(value):
            continue
        if policy_id:
            value = _ID_HOLE.sub(f"id={policy_id}", value)
        if rua:
            value = _RUA_HOLE.sub("rua=" + ",".join(rua), value)
        if "<" in value or "..." in value or value.endswith(";"):
            continue  # still a template (or a bare prefix such as 'v=STSv1;')
        if value not in out:
            out.append(value)
    return out
