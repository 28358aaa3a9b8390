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
        lines = [shown(line) for line in step6_lines(saved, verdict, self.now, mx_hosts=hosts, txt_ttl=ttl)]
        return "\n  step 6 (saved progress): " + lines[0] + "".join(f"\n    {line}" for line in lines[1:])
