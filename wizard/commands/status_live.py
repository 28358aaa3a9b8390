"""`status DOMAIN --live`: run the normal check once and place the domain (wizard.lifecycle.adopt).

Reads only: the saved progress is compared with what is published, never changed (the wizard
adopts; this only says what it would adopt). `--json` prints
`{"version": 1, "domains": [{"domain", "placement", "headline", "policy", "id", "rua",
"live_mode", "disagreement"}]}` where `policy` is `{"mode", "max_age", "mx"}` or null and
`disagreement` is null or `{"differs": [...], "saved": [...], "live": [...], "lowers": [...]}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from wizard.commands.common import EXIT_CANNOT_RUN, EXIT_OK, network_settings
from wizard.lifecycle.adopt import disagreement, read_live
from wizard.lifecycle.step_state import live_mode
from wizard.state import StateError, StateStore
from wizard.text import shown


def run_live(args: argparse.Namespace, store: StateStore, domain: str) -> int:
    from wizard.engine import CheckOptions, check_domain

    options = CheckOptions.from_settings(network_settings(args))
    report = asyncio.run(check_domain(domain, options))
    live = read_live(report)
    state = None
    if domain in store.domains():
        try:
            state = store.read(domain).state
        except StateError:
            state = None
    found = disagreement(state, live) if state is not None else None
    if args.json:
        doc: dict[str, Any] = {
            "domain": domain,
            "placement": live.placement,
            "headline": live.headline(),
            "policy": (
                {"mode": live.policy.mode, "max_age": live.policy.max_age, "mx": list(live.policy.mx)}
                if live.policy
                else None
            ),
            "id": live.policy_id,
            "rua": list(live.rua),
            "live_mode": live_mode(state) if state is not None else None,
            "disagreement": (
                {
                    "differs": list(found.differs),
                    "saved": found.saved_lines(),
                    "live": found.live_lines(),
                    "lowers": found.lower_than_live(),
                }
                if found
                else None
            ),
        }
        print(json.dumps({"version": 1, "domains": [doc]}, indent=2, ensure_ascii=False))
    else:
        lines = [f"{domain}: {live.headline()}"]
        if state is None:
            if live.policy is not None or live.policy_id is not None:
                lines.append(f"  no saved progress: 'mta-sts-wizard {domain}' adopts what is live (publishes nothing)")
        elif found is not None:
            lines.append(f"  saved progress differs from what is live ({', '.join(found.differs)}):")
            lines += [f"    saved: {line}" for line in found.saved_lines()]
            lines += [f"    live:  {line}" for line in found.live_lines()]
            lines += [f"    keeping the saved values lowers what is live: {line}" for line in found.lower_than_live()]
            lines.append(f"  open 'mta-sts-wizard {domain}' to choose: use what is live, or keep yours and publish it")
        else:
            lines.append("  saved progress agrees with what is live")
        print("\n".join(shown(line) for line in lines))
    if report.resolver_unreachable:
        sys.stderr.write("mta-sts-wizard: no DNS resolver answered; check --nameserver or the network\n")
        return EXIT_CANNOT_RUN
    return EXIT_OK
