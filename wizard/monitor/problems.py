"""What counts as a problem in a monitoring pass, from a fresh check and the previous pass's record.

Pure: no network, no disk. A problem has a stable key (code, subject, address), so the same
problem seen on two passes is one problem, notified once. Problems are:
- every error finding of the fresh check;
- drift (`policy-differs-from-saved`, `sts-id-unchanged`), also without saved progress: a policy
  served under a TXT id that earlier stood for another policy;
- a warning on a step that was seen passing (a step that regressed);
- the MX set changed and the policy does not cover a new host (`monitor-mx-changed`, urgent in
  enforce mode: senders refuse that host now);
- a certificate of the policy host or of an MX that expires within 21, then 7, then 1 days
  (`monitor-cert-expiring`; each band notifies again);
- the report problems of wizard.monitor.reports_watch.

When the fresh check could not look at something (DNS failed, the host did not answer), a problem
open before about it is carried over, neither notified again nor declared recovered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from wizard.engine import DomainReport
from wizard.findings import STEP_HOSTING, STEP_POLICY, STEP_VERIFY, Finding, finding
from wizard.monitor.record import MonitorRecord
from wizard.mx import coverage
from wizard.state.model import STEP_NAMES, DomainState
from wizard.state.regress import describe_regression

#: Findings that say the served policy, the saved policy and the TXT id disagree.
DRIFT_CODES = frozenset({"policy-differs-from-saved", "sts-id-unchanged"})
#: Warnings about where the pass runs from, not about the domain (port 25 blocked here).
OUR_SIDE = frozenset({"mx-unreachable"})
#: Certificate bands, days -> escalation level: a lower band is a new, more urgent notice.
CERT_BANDS = ((1, 3), (7, 2), (21, 1))
CERT_FIX = "renew it now and check that automatic renewal works; an expired certificate stops senders"
#: Findings that mean "could not look", per kind of subject.
_POLICY_BLIND = frozenset({"policy-connect-failed", "policy-timeout", "policy-host-unresolvable"})


#: Monitoring's own codes (wizard/monitor/__init__.py says what each means). They are not in
#: CONTRACT.md yet: asked for in the closing note of issue 16; tests/test_spec_review.py pins the gap.
MONITOR_CODES = frozenset(
    {
        "monitor-mx-changed",
        "monitor-cert-expiring",
        "monitor-failure-spike",
        "monitor-reports-stopped",
        "monitor-report-fetch-failed",
    }
)


def monitor_finding(code: str, severity: str, step: int, message: str, fix: str, subject: str) -> Finding:
    """A finding with one of monitoring's own codes (MONITOR_CODES)."""
    if code not in MONITOR_CODES:
        raise ValueError(f"not a monitoring code: {code}")
    return Finding(code=code, severity=severity, step=step, message=message, fix=fix, subject=subject)  # type: ignore[arg-type]


def problem_key(f: Finding) -> str:
    return f"{f.code}|{f.subject}|{f.address or ''}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong now: the finding (message and fix), what changed in words, and how urgent."""

    key: str
    finding: Finding
    what: str
    urgent: bool = False
    level: int = 0
    """Escalation: a higher level than the one notified is notified again (certificate bands)."""


@dataclass
class Observation:
    """What one pass sees for a domain, and the baselines it moves."""

    problems: dict[str, Problem] = field(default_factory=dict)
    notices: list[Problem] = field(default_factory=list)
    """Changes worth one message that are not problems (an MX change the policy covers)."""
    carried: set[str] = field(default_factory=set)
    """Keys open before that this pass could not judge: kept open, not notified."""
    mx_hosts: list[str] | None = None
    ids: dict[str, str] = field(default_factory=dict)
    good_steps: set[int] = field(default_factory=set)

    def add(self, problem: Problem) -> None:
        known = self.problems.get(problem.key)
        if known is None or (problem.urgent, problem.level) > (known.urgent, known.level):
            self.problems[problem.key] = problem


def observe(
    report: DomainReport,
    saved: DomainState | None,
    record: MonitorRecord,
    now: datetime,
    *,
    smtp_checked: bool = True,
) -> Observation:
    """The problems of one fresh check, judged against the record of the previous pass."""
    obs = Observation(mx_hosts=record.mx_hosts, ids=dict(record.ids), good_steps=set(record.good_steps))
    if saved is not None:
        obs.good_steps |= {n for n, rec in saved.steps.items() if rec.status == "verified" and n <= STEP_VERIFY}
    _finding_problems(report, saved, obs)
    _id_drift(report, obs)
    _mx_change(report, saved, record, obs)
    _cert_expiry(report, now, obs)
    obs.good_steps |= _passing_steps(report, smtp_checked=smtp_checked)
    obs.carried = _carried(report, record, obs, smtp_checked=smtp_checked)
    return obs


def _finding_problems(report: DomainReport, saved: DomainState | None, obs: Observation) -> None:
    who = saved or DomainState(domain=report.domain)
    for f in report.findings:
        regressed = f.step in obs.good_steps and f.code not in OUR_SIDE
        step = f"step {f.step} ({STEP_NAMES.get(f.step, '')}) regressed"
        if f.code in DRIFT_CODES:
            what = f"drift: {describe_regression(who, f)}"
        elif f.severity == "error" and regressed:
            what = f"{step}: {describe_regression(who, f)}"
        elif f.severity == "error":
            what = f"error on step {f.step} ({STEP_NAMES.get(f.step, '')})"
        elif f.severity == "warning" and regressed:
            what = f"{step}: {describe_regression(who, f)}"
        else:
            continue
        obs.add(Problem(problem_key(f), f, what))


def _id_drift(report: DomainReport, obs: Observation) -> None:
    """The served policy changed under a TXT id that stood for another one (RFC 8461 §3.1)."""
    if report.policy is None or not report.sts_id:
        return
    text = report.policy.to_text()
    first = obs.ids.get(report.sts_id)
    if first is None:
        obs.ids[report.sts_id] = text
        return
    if first == text:
        return
    subject = f"_mta-sts.{report.domain}"
    f = finding(
        "sts-id-unchanged",
        f"the policy served at https://mta-sts.{report.domain}/.well-known/mta-sts.txt changed but the TXT id is "
        f"still {report.sts_id}; senders that cached the policy under this id will not fetch the new file",
        "once the file you want is served on every address, publish a new id in the _mta-sts TXT record",
        subject=subject,
    )
    key = problem_key(f)
    if key not in obs.problems:
        obs.add(Problem(key, f, "drift: the served policy changed but the TXT id did not"))


def _mx_lookup_ok(report: DomainReport) -> bool:
    mx = report.mx
    return mx is not None and not any(f.code == "dns-lookup-failed" for f in mx.findings)


def _mx_change(report: DomainReport, saved: DomainState | None, record: MonitorRecord, obs: Observation) -> None:
    if not _mx_lookup_ok(report) or report.mx is None or not report.mx.hosts:
        return
    current = sorted(report.mx.hosts)
    baseline = sorted(record.mx_hosts) if record.mx_hosts is not None else None
    if baseline is None or current == baseline:
        obs.mx_hosts = current
        return
    policy = saved.policy if saved is not None and saved.policy is not None else None
    patterns = list(policy.mx) if policy is not None else list(report.policy.mx) if report.policy else None
    mode = policy.mode if policy is not None else report.policy.mode if report.policy else "none"
    changed = f"the MX set of {report.domain} changed from {', '.join(baseline)} to {', '.join(current)}"
    uncovered = coverage(patterns, current).uncovered if patterns is not None and mode != "none" else []
    key = f"monitor-mx-changed|{report.domain}|"
    if not uncovered:
        obs.mx_hosts = current
        if key not in record.open:
            note = "; the policy covers every host" if patterns is not None and mode != "none" else ""
            f = monitor_finding("monitor-mx-changed", "info", STEP_POLICY, changed + note, "", report.domain)
            obs.notices.append(Problem(key, f, "the MX set changed"))
        return
    urgent = mode == "enforce"
    hosts = ", ".join(uncovered)
    if urgent:
        message = (
            f"URGENT: {changed}, and {hosts} is not in the enforced policy: senders refuse to deliver mail "
            "to it now (mail is being refused)"
        )
    else:
        message = f"{changed}, and {hosts} is not in the policy: mail to it fails once the policy is enforced"
    lines = " ".join(f"'mx: {h}'" for h in uncovered)
    fix = (
        f"follow the MX-change flow: open 'mta-sts-wizard {report.domain}', step 6, key g (Add MX patterns); it adds "
        f"{lines} to the policy; publish the file on every address of mta-sts.{report.domain}, then the new TXT id"
    )
    severity = "error" if urgent else "warning"
    f = monitor_finding("monitor-mx-changed", severity, STEP_POLICY, message, fix, report.domain)
    obs.add(Problem(key, f, "the MX set changed" + (" (URGENT: mail is being refused)" if urgent else ""), urgent))


def _cert_expiry(report: DomainReport, now: datetime, obs: Observation) -> None:
    """Days left on the policy host's and each MX's certificate, judged with the pass's clock."""
    seen: dict[str, tuple[float, datetime, int]] = {}
    probe = report.policy_probe
    if probe is not None:
        for fetch in probe.fetches:
            if fetch.cert is not None:
                _earliest(seen, probe.host, fetch.cert.days_left(now), fetch.cert.not_after, STEP_HOSTING)
    for smtp in report.smtp:
        if smtp.cert is not None:
            _earliest(seen, smtp.host, smtp.cert.days_left(now), smtp.cert.not_after, STEP_VERIFY)
    for host, (days, not_after, step) in sorted(seen.items()):
        level = next((lvl for band, lvl in CERT_BANDS if days <= band), 0)
        if not level:
            continue
        band = next(b for b, lvl in CERT_BANDS if lvl == level)
        what = "policy host" if step == STEP_HOSTING else "MX"
        message = (
            f"the certificate of the {what} {host} expires in {max(days, 0):.0f} day(s), on "
            f"{not_after:%Y-%m-%d %H:%M} UTC (within {band} day(s))"
        )
        f = monitor_finding("monitor-cert-expiring", "warning", step, message, CERT_FIX, host)
        obs.add(Problem(problem_key(f), f, f"certificate of {host} expires within {band} day(s)", level=level))


def _earliest(seen: dict[str, tuple[float, datetime, int]], host: str, days: float, at: datetime, step: int) -> None:
    if host not in seen or days < seen[host][0]:
        seen[host] = (days, at, step)


def _passing_steps(report: DomainReport, *, smtp_checked: bool) -> set[int]:
    if report.resolver_unreachable:
        return set()
    bad = {f.step for f in report.findings if f.severity in ("error", "warning")}
    steps = {c.step for c in report.checks}
    if not smtp_checked:
        steps.discard(STEP_VERIFY)
    return steps - bad


def _carried(report: DomainReport, record: MonitorRecord, obs: Observation, *, smtp_checked: bool) -> set[str]:
    """Previously open keys this pass cannot judge (and so must neither notify nor call recovered)."""
    gone = [k for k in record.open if k not in obs.problems]
    if not gone:
        return set()
    if report.resolver_unreachable:
        return set(gone)
    lookup_failed_steps = {f.step for f in report.findings if f.code == "dns-lookup-failed"}
    policy_blind = any(f.code in _POLICY_BLIND for f in report.findings) or report.policy_probe is None
    unreachable = {f.subject for f in report.findings if f.code == "mx-unreachable"}
    cert_hosts = {s.host for s in report.smtp if s.cert is not None}
    if report.policy_probe is not None and any(f.cert is not None for f in report.policy_probe.fetches):
        cert_hosts.add(report.policy_probe.host)
    out: set[str] = set()
    for key in gone:
        prev = record.open[key].finding
        code = prev.code
        if code.startswith("monitor-failure-spike") or code.startswith("monitor-report"):
            continue  # judged by wizard.monitor.reports_watch, which carries its own
        if code == "monitor-cert-expiring":
            if prev.subject not in cert_hosts:
                out.add(key)
            continue
        if code == "monitor-mx-changed":
            if not _mx_lookup_ok(report):
                out.add(key)
            continue
        blind_policy = code.startswith("policy-") and policy_blind and code not in _POLICY_BLIND
        mx_unseen = not smtp_checked or prev.subject in unreachable
        blind_mx = code.startswith("mx-") and prev.step == STEP_VERIFY and mx_unseen
        if prev.step in lookup_failed_steps or blind_policy or blind_mx:
            out.add(key)
    return out
