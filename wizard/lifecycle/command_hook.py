"""The `check` command's step 6 hook: expect the saved policy, add drift, judge readiness.

Domains without saved progress are checked exactly as before (one shared engine run);
each domain with a saved policy is checked with options expecting that policy and id.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from wizard.engine import CheckOptions, DomainReport, check_domain, check_domains
from wizard.lifecycle.hooks import Saved, after_check, load_saved, options_for, step6_lines
from wizard.lifecycle.readiness import Verdict
from wizard.state import DomainState
from wizard.text import shown


class Step6Hook:
    """Holds the saved states of the domains being checked and their verdicts."""

    def __init__(self, root: Path, domains: list[str]) -> None:
        self.saved: dict[str, Saved] = {}
        for domain in domains:
            found = load_saved(root, domain)
            if found is not None:
                self.saved[domain] = found
        self.verdicts: dict[str, Verdict] = {}
        self.now = datetime.now(UTC)

    async def check(self, domains: list[str], options: CheckOptions) -> list[DomainReport]:
        if not self.saved:
            return await check_domains(domains, options)
        plain = [d for d in domains if d not in self.saved]
        saved_runs = [check_domain(d, options_for(options, self.saved[d].state)) for d in domains if d in self.saved]
        plain_reports, saved_reports = await asyncio.gather(check_domains(plain, options), asyncio.gather(*saved_runs))
        by_name = {r.domain: r for r in [*plain_reports, *saved_reports]}
        return [by_name[d] for d in domains if d in by_name]

    def judge(self, reports: list[DomainReport], *, smtp_checked: bool = True) -> dict[str, Verdict]:
        for report in reports:
            saved = self.saved.get(report.domain)
            if saved is not None and not report.resolver_unreachable:
                self.verdicts[report.domain] = after_check(report, saved, self.now, smtp_checked=smtp_checked)
        return self.verdicts

    def text(self, report: DomainReport) -> str:
        verdict = self.verdicts.get(report.domain)
        saved = self.saved.get(report.domain)
        if verdict is None or saved is None:
            return ""
        ttl = report.sts.resolver.ttl if report.sts else None
        hosts = report.mx.hosts if report.mx else None
        lines = step6_lines(saved, verdict, self.now, mx_hosts=hosts, txt_ttl=ttl)
        lines[1:1] = placement_lines(saved.state, report)
        lines = [shown(line) for line in lines]
        return "\n  step 6 (saved progress): " + lines[0] + "".join(f"\n    {line}" for line in lines[1:])


def risky_generate(root: Path, domain: str, mode: str, max_age: int, mx: list[str]) -> list[str]:
    """For `generate` with saved progress: the confirmation lines of each risky move the new policy
    makes against the saved one (empty: nothing risky, or nothing saved). Offline: the verdict comes
    from the last saved check."""
    from wizard.lifecycle.gate import gate_for, moves
    from wizard.lifecycle.hooks import verdict_from_last_check
    from wizard.policy import PolicyFile

    saved = load_saved(root, domain)
    if saved is None or saved.state.policy is None:
        return []
    kinds = moves(saved.state.policy.to_policy_file(), PolicyFile(mode, max_age, tuple(mx)))  # type: ignore[arg-type]
    if not kinds:
        return []
    now = datetime.now(UTC)
    verdict = verdict_from_last_check(saved, now)
    findings = saved.state.last_check.findings if saved.state.last_check else None
    lines: list[str] = []
    for kind in kinds:
        gate = gate_for(kind, domain, verdict, findings)
        if gate is not None:
            lines += gate.lines()
    return lines


def placement_lines(state: DomainState, report: DomainReport) -> list[str]:
    """Where the check places the domain, and how saved progress differs from it (wizard.lifecycle.adopt)."""
    from wizard.lifecycle.adopt import disagreement, read_live

    live = read_live(report)
    out = [f"  live: {live.headline()}"]
    found = disagreement(state, live)
    if found is not None:
        out.append(f"  saved progress differs from what is live ({', '.join(found.differs)}):")
        out += [f"    saved: {line}" for line in found.saved_lines()]
        out += [f"    live:  {line}" for line in found.live_lines()]
        out.append("  open the wizard on the domain to choose: use what is live, or keep yours and publish it")
    return out
