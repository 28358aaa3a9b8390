"""After publishing: the normal live check of the records, authoritative servers first, then the resolver.

"Seen" means every authoritative server of the zone publishes exactly the new record of ours
(no old one beside it) and the resolver serves it too. The authoritative view is asked again
for a few seconds, since secondaries take a moment after the primary's NOTIFY; a resolver that
still has the old answer cached is reported with the longest time it may keep it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from wizard.engine import CheckOptions, TxtProbe, probe_sts_txt, probe_tlsrpt
from wizard.publish.plan import STS_OWNED, Wanted, owns
from wizard.text import shown

#: How long the authoritative servers get to agree after an update (bounded polling).
AUTHORITATIVE_WAIT = 10.0
POLL_INTERVAL = 0.5


@dataclass(frozen=True)
class Verification:
    seen: bool
    """Every record is published by every authoritative server and served by the resolver."""
    authoritative: bool
    """Every record is published by every authoritative server (resolvers may lag)."""
    lines: tuple[str, ...]


async def _probe(domain: str, w: Wanted, options: CheckOptions) -> TxtProbe:
    if w.owned_prefix == STS_OWNED:
        return await probe_sts_txt(domain, options)
    return await probe_tlsrpt(domain, options)


def _ours(values: Sequence[str], w: Wanted) -> tuple[str, ...]:
    return tuple(v for v in values if owns(v, w.owned_prefix))


def _judge(w: Wanted, probe: TxtProbe) -> tuple[bool, bool, list[str]]:
    lines = []
    auth = probe.authoritative
    published = auth.records() if auth is not None else None
    if published is None:
        why = auth.summary() if auth is not None else "not asked"
        auth_ok = False
        lines.append(f"{w.name}: authoritative servers: not all agree yet ({shown(why)})")
    else:
        ours = _ours(published, w)
        auth_ok = ours == (w.value,)
        state = "[ok]" if auth_ok else "published: " + (", ".join(shown(v) for v in ours) or "nothing of ours")
        lines.append(f"{w.name}: authoritative servers: {state}")
    served = _ours(probe.resolver.records if probe.resolver.exists else (), w)
    res_ok = served == (w.value,)
    if res_ok:
        lines.append(f"{w.name}: resolver: [ok]")
    else:
        now = ", ".join(shown(v) for v in served) or shown(probe.resolver.describe())
        wait = probe.propagation_seconds
        later = f"; resolvers may keep the old answer for up to {wait} more seconds" if wait is not None else ""
        lines.append(f"{w.name}: resolver still serves {now}{later}")
    return auth_ok, res_ok, lines


async def verify_published(
    domain: str, wanted: Sequence[Wanted], options: CheckOptions, *, wait: float = AUTHORITATIVE_WAIT
) -> Verification:
    """Check every wanted record live; re-ask (bounded) until the authoritative servers agree."""
    deadline = time.monotonic() + wait
    while True:
        probes = await asyncio.gather(*(_probe(domain, w, options) for w in wanted))
        judged = [_judge(w, p) for w, p in zip(wanted, probes, strict=True)]
        auth_all = all(a for a, _, _ in judged)
        if auth_all or time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_INTERVAL)
    seen = auth_all and all(r for _, r, _ in judged)
    lines = [line for _, _, ls in judged for line in ls]
    head = (
        "published and seen: the authoritative servers and the resolver serve the new record(s)"
        if seen
        else "published, not yet seen everywhere"
        if auth_all
        else "not yet seen on the authoritative servers"
    )
    return Verification(seen, auth_all, (head, *lines))
