"""Publishing the DNS records for the user, safely (issue 17; `publish`, and steps 3, 4 and 6).

- `plan`: what changes, record by record (add / replace / keep), touching only our records;
- `method`: `--via rfc2136` or `--via lexicon:PROVIDER`, and what is saved of it (no secret);
- `rfc2136`: one TSIG-signed RFC 2136 update to the zone's primary;
- `lexicon_dns`: a provider's API through dns-lexicon;
- `tsig`: reading NAME:ALG:SECRET;
- `verify`: the live check afterwards (authoritative first, then the resolver);
- `errors`: the one-line failures (usage, exit 2; refused or unreachable, exit 3).

Nothing here imports Textual; the command (wizard/commands/publish.py) and the dialog
(screens/publish_dialog.py) drive the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.publish.errors import PublishRefused, PublishUsageError
from wizard.publish.plan import STS_OWNED, TLSRPT_OWNED, Wanted

__all__ = ["PublishRefused", "PublishUsageError", "Wanted", "wanted_records"]


def wanted_records(domain: str, policy_id: str | None, rua: Sequence[str]) -> list[Wanted]:
    """The TXT records to publish for a domain: `_mta-sts` with the id, `_smtp._tls` when there are rua."""
    from wizard.records import StsRecord, TlsRptRecord

    out = []
    if policy_id:
        out.append(Wanted(f"_mta-sts.{domain}", STS_OWNED, StsRecord(policy_id).to_text()))
    if rua:
        out.append(Wanted(f"_smtp._tls.{domain}", TLSRPT_OWNED, TlsRptRecord(tuple(rua)).to_text()))
    return out
