"""The live verification engine: what a sending MTA would see for a domain, as findings.

Every lookup and connection runs as its own asyncio task with its own deadline, and a
task starts as soon as what it depends on is known (the MX probes start per host as soon
as that host's addresses are in), so a check lasts about as long as its longest chain
of dependent round trips. Nothing here raises to callers: each failure is a Finding.
`check_domain` also ends by the options' `deadline`: a part not done by then (and each MX
host not probed) is a finding that says what was not reached; what finished is kept.

The per-step probes (`probe_mx`, `probe_policy`, `probe_sts_txt`, `probe_tlsrpt`) are
what the wizard screens poll; `check_domain` runs them all plus the MX TLS probes,
coverage and drift checks, and is what `check` prints.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import ipaddress
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, ParamSpec, TypeVar

import httpx

from wizard.dnsclient import AuthoritativeView, DnsClient, DnsResult, ZoneServers, normalise_name
from wizard.findings import STEP_HOSTING, STEP_POLICY, STEP_STS_TXT, STEP_TLSRPT, STEP_VERIFY, Finding, finding
from wizard.https import POLICY_PATH, AddressFetch, fetch_policy, policy_client
from wizard.mx import coverage, coverage_findings
from wizard.policy import PolicyFile, PolicyParse, parse_policy, policy_advice
from wizard.records import StsRecord, TlsRptRecord, select_sts_record, select_tlsrpt_record
from wizard.smtp import SmtpProbe
from wizard.smtp import probe_mx as smtp_probe

#: Connections at once to one IP address (a bulk check must not hammer one shared host).
PER_HOST_CONNECTIONS = 4
#: Connections at once overall.
TOTAL_CONNECTIONS = 128
#: MX hosts whose addresses are resolved and probed, in preference order. Senders try a few
#: hosts at most; real domains have 1-5, large providers up to ~10. A zone naming 40 hosts
#: with stalling servers must not hold a check for minutes: the rest are listed as skipped.
MAX_MX_HOSTS = 10

CheckStatus = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class CheckOptions:
    """How to check: which resolver and roots to trust, deadlines, what the user expects to see."""

    nameservers: tuple[str, ...] = ()
    ca_bundle: str | None = None
    timeout: float = 10.0
    deadline: float = 60.0
    """The most one domain's whole check may take (--deadline); what is not done by then becomes a finding."""
    expected_policy: PolicyFile | None = None
    expected_id: str | None = None
    probe_smtp: bool = True
    authoritative: bool = True
    https_port: int = 443
    smtp_port: int = 25

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> CheckOptions:
        """From `wizard.commands.common.network_settings(args)`."""
        return cls(
            nameservers=tuple(settings.nameservers),
            ca_bundle=settings.ca_bundle,
            timeout=float(settings.timeout),
            deadline=float(getattr(settings, "deadline", cls.deadline)),
            **overrides,
        )


@dataclass(frozen=True)
class CheckRecord:
    """One verification that ran: its id, wizard step, outcome and duration."""

    id: str
    step: int
    status: CheckStatus
    elapsed_ms: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "step": self.step, "status": self.status, "elapsed_ms": self.elapsed_ms}


# ----------------------------------------------------------------------------- probe results


@dataclass
class TxtProbe:
    """A TXT record as resolvers serve it and as the authoritative servers publish it."""

    name: str
    resolver: DnsResult
    authoritative: AuthoritativeView | None = None
    findings: list[Finding] = field(default_factory=list)
    propagation_seconds: int | None = None
    """Set when the authoritative servers already publish something resolvers do not serve yet:
    the longest time a resolver may keep serving its old answer (its TTL or SOA negative TTL)."""
    summary: str = ""

    @property
    def published(self) -> bool:
        """The authoritative servers (or, without that view, the resolver) have a record of our kind."""
        if self.authoritative is not None and self.authoritative.records() is not None:
            return bool(self.authoritative.records())
        return self.resolver.exists


@dataclass
class StsTxtProbe(TxtProbe):
    record: StsRecord | None = None


@dataclass
class TlsRptProbe(TxtProbe):
    record: TlsRptRecord | None = None


@dataclass
class PolicyProbe:
    """The policy host's addresses, what each served, and the policy senders would read."""

    host: str
    url: str
    addresses: tuple[str, ...] = ()
    fetches: list[AddressFetch] = field(default_factory=list)
    body: bytes | None = None
    parse: PolicyParse | None = None
    policy: PolicyFile | None = None
    findings: list[Finding] = field(default_factory=list)
    content_findings: list[Finding] = field(default_factory=list)
    """Findings about the policy's content (step 1), kept apart from the hosting ones (step 2)."""
    summary: str = ""


@dataclass
class MxProbe:
    """The domain's MX hosts in preference order, with their addresses."""

    domain: str
    records: list[tuple[int, str]] = field(default_factory=list)
    addresses: dict[str, tuple[str, ...]] = field(default_factory=dict)
    null_mx: bool = False
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(host for _pref, host in sorted(self.records)))


@dataclass
class DomainReport:
    """Everything `check` found for one domain (CONTRACT `check --json`)."""

    domain: str
    checked_at: str
    policy: PolicyFile | None = None
    sts_id: str | None = None
    findings: list[Finding] = field(default_factory=list)
    checks: list[CheckRecord] = field(default_factory=list)
    sts: StsTxtProbe | None = None
    tlsrpt: TlsRptProbe | None = None
    policy_probe: PolicyProbe | None = None
    mx: MxProbe | None = None
    smtp: list[SmtpProbe] = field(default_factory=list)
    tlsa_hosts: tuple[str, ...] = ()
    resolver_unreachable: bool = False
    """No DNS query got any answer: the checks could not run (exit code 3)."""
    deadline_passed: bool = False
    """The check's deadline cut some part off; the findings say which (the rest is complete)."""
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        policy = None
        if self.policy is not None:
            policy = {
                "mode": self.policy.mode,
                "max_age": self.policy.max_age,
                "mx": list(self.policy.mx),
                "id": self.sts_id,
            }
        return {
            "domain": self.domain,
            "checked_at": self.checked_at,
            "ok": self.ok,
            "policy": policy,
            "findings": [f.to_json() for f in self.findings],
            "checks": [c.to_json() for c in self.checks],
        }


# ----------------------------------------------------------------------------- shared context


class SharedContext:
    """One DNS client, zone lookups and connection limits shared by all probes of one run (pass it
    as `ctx=` to check several domains with one query bound, as check_domains and monitor do)."""

    def __init__(self, options: CheckOptions) -> None:
        self.options = options
        self.dns = DnsClient(options.nameservers, options.timeout)
        self._zones: dict[str, asyncio.Task[ZoneServers]] = {}
        self._host_sems: dict[str, asyncio.Semaphore] = {}
        self._total = asyncio.Semaphore(TOTAL_CONNECTIONS)
        self._http: httpx.AsyncClient | None = None
        self._smtp: dict[tuple[str, str], asyncio.Task[SmtpProbe]] = {}

    @property
    def http(self) -> httpx.AsyncClient:
        """One HTTP client for every policy fetch of the run (made on first use)."""
        if self._http is None:
            self._http = policy_client(self.options.ca_bundle)
        return self._http

    def zone(self, name: str) -> Awaitable[ZoneServers]:
        task = self._zones.get(name)
        if task is None:
            task = asyncio.ensure_future(self.dns.find_zone(name))
            self._zones[name] = task
        return asyncio.shield(task)

    def smtp_probe(self, host: str, address: str) -> Awaitable[SmtpProbe]:
        """The STARTTLS probe of one MX address, once per run: domains hosted by the same mail
        provider share MX hosts, and their answer does not depend on which domain asked."""
        key = (host, address)
        task = self._smtp.get(key)
        if task is None:
            o = self.options
            work = smtp_probe(host, address, ca_bundle=o.ca_bundle, timeout=o.timeout, port=o.smtp_port)
            task = asyncio.ensure_future(self.connect_slot(address, work))
            self._smtp[key] = task
        return asyncio.shield(task)

    async def connect_slot(self, address: str, work: Awaitable[Any]) -> Any:
        sem = self._host_sems.setdefault(address, asyncio.Semaphore(PER_HOST_CONNECTIONS))
        async with self._total, sem:
            return await work

    async def aclose(self) -> None:
        """Stop what is still running (probes cut off by the deadline) and close the HTTP client."""
        for task in [*self._smtp.values(), *self._zones.values()]:
            task.cancel()
        await self.dns.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _ctx(options: CheckOptions, ctx: SharedContext | None) -> SharedContext:
    return ctx if ctx is not None else SharedContext(options)


P = ParamSpec("P")
R = TypeVar("R")


def _own_context(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """A probe called without a shared context gets its own, closed when the probe ends."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs.get("ctx") is not None:
            return await fn(*args, **kwargs)
        options = kwargs.get("options", args[1] if len(args) > 1 else None)
        c = SharedContext(options)  # type: ignore[arg-type]
        kwargs["ctx"] = c
        try:
            return await fn(*args, **kwargs)
        finally:
            await c.aclose()

    return wrapper


@functools.lru_cache(maxsize=4096)
def normalise_domain_text(domain: str) -> str:
    """A-label form when the Foundation accepts it; else lowercased as typed (callers validated it).

    Cached: every probe of a check normalises the same name again (IDNA checks cost ~20 us a label).
    """
    try:
        from wizard.domain import normalise_domain

        return normalise_domain(domain).ascii
    except ValueError:
        return normalise_name(domain)


def _lookup_failed(result: DnsResult, step: int, why: str, fix: str = "") -> Finding:
    return finding(
        "dns-lookup-failed",
        f"{why}: {result.describe()}",
        fix or _lookup_fix(result),
        subject=result.canonical_name,
        step=step,
    )


def _lookup_fix(result: DnsResult) -> str:
    """What to do depends on how the lookup failed: refused, timed out, or a server failure."""
    if result.status == "timeout":
        return "check that the resolver is reachable (or pass --nameserver) and that the zone's servers answer"
    if "REFUSED" in result.error:
        return (
            "the server refused the query: it does not serve this zone or does not resolve for you; "
            "pass --nameserver with a resolver that does, or fix the delegation"
        )
    if result.status == "noresolver":
        return "configure a resolver in /etc/resolv.conf or pass --nameserver ADDR"
    return "check that the zone's name servers answer (SERVFAIL often means broken DNSSEC or a lame delegation)"


async def _addresses(ctx: SharedContext, host: str) -> tuple[DnsResult, DnsResult]:
    a, aaaa = await asyncio.gather(ctx.dns.query(host, "A"), ctx.dns.query(host, "AAAA"))
    return a, aaaa


def _sorted_addresses(*results: DnsResult) -> tuple[str, ...]:
    """The IP addresses among the records, IPv4 first, each in numeric order (each parsed once)."""
    parsed: dict[str, ipaddress.IPv4Address | ipaddress.IPv6Address] = {}
    for res in results:
        if res.exists:
            for r in res.records:
                if r not in parsed:
                    ip = _ip(r)
                    if ip is not None:
                        parsed[r] = ip
    return tuple(sorted(parsed, key=lambda a: (parsed[a].version, parsed[a])))


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# ----------------------------------------------------------------------------- TXT records


@_own_context
async def probe_sts_txt(domain: str, options: CheckOptions, *, ctx: SharedContext | None = None) -> StsTxtProbe:
    """The `_mta-sts` TXT record: grammar, count rule, wrong places, and the authoritative view."""
    c = _ctx(options, ctx)
    domain = normalise_domain_text(domain)
    name = f"_mta-sts.{domain}"
    misplaced = (domain, f"_mta_sts.{domain}", f"_mta-sts.mta-sts.{domain}")
    # SPEC §3.4 / pitfall 21: a parent's policy never covers this domain; look, so we can say so.
    parent = f"_mta-sts.{domain.split('.', 1)[1]}" if domain.count(".") >= 2 else None
    lookups = [c.dns.query(name, "TXT"), *(c.dns.query(n, "TXT") for n in misplaced)]
    if parent is not None:
        lookups.append(c.dns.query(parent, "TXT"))
    auth_task = _authoritative(c, domain, name, "TXT")
    results, auth = await asyncio.gather(asyncio.gather(*lookups), auth_task)
    res, others = results[0], results[1 : 1 + len(misplaced)]
    parent_res = results[-1] if parent is not None else None
    probe = StsTxtProbe(name=name, resolver=res, authoritative=auth)
    probe.findings.extend(_servers_skipped(auth))
    if res.failed:
        probe.findings.append(_lookup_failed(res, STEP_STS_TXT, "the _mta-sts record could not be read"))
    else:
        record, findings = select_sts_record(list(res.records) if res.exists else [], name)
        probe.record = record
        if res.cnames and record is None:
            findings = [_with_cname_note(f, res) for f in findings]
        if parent_res is not None and parent_res.exists and any(v.startswith("v=STSv1") for v in parent_res.records):
            note = (
                f"; {parent_res.name} has a policy, but a parent domain's policy never covers {domain} (RFC 8461 §3.4)"
            )
            findings = [_replace(f, message=f.message + note) if f.code == "sts-txt-missing" else f for f in findings]
        probe.findings.extend(findings)
    for wrong in others:
        if wrong.exists and any(v.startswith("v=STSv1") for v in wrong.records):
            probe.findings.append(
                finding(
                    "sts-txt-wrong-place",
                    f"a v=STSv1 record is published at {wrong.name}, where senders never look",
                    f"delete it there and publish it at {name} instead",
                    subject=wrong.name,
                )
            )
    _propagation(probe)
    probe.summary = _txt_summary(probe, probe.record.to_text() if probe.record else None)
    return probe


@_own_context
async def probe_tlsrpt(domain: str, options: CheckOptions, *, ctx: SharedContext | None = None) -> TlsRptProbe:
    """The `_smtp._tls` TXT record (RFC 8460 §3), and the authoritative view."""
    c = _ctx(options, ctx)
    domain = normalise_domain_text(domain)
    name = f"_smtp._tls.{domain}"
    wrong_names = (f"_smtp._tcp.{domain}", f"_tls._smtp.{domain}")  # SPEC §11.24
    (res, *wrongs), auth = await asyncio.gather(
        asyncio.gather(c.dns.query(name, "TXT"), *(c.dns.query(n, "TXT") for n in wrong_names)),
        _authoritative(c, domain, name, "TXT"),
    )
    probe = TlsRptProbe(name=name, resolver=res, authoritative=auth)
    probe.findings.extend(_servers_skipped(auth))
    if res.failed:
        probe.findings.append(_lookup_failed(res, STEP_TLSRPT, "the TLSRPT record could not be read"))
    else:
        record, findings = select_tlsrpt_record(list(res.records) if res.exists else [], name)
        probe.record = record
        misplaced_at = [w.name for w in wrongs if w.exists and any(v.startswith("v=TLSRPTv1") for v in w.records)]
        if record is None and misplaced_at:
            findings = [
                _replace(f, message=f"{f.message}; a TLSRPT record sits at {', '.join(misplaced_at)}, the wrong name")
                if f.code == "tlsrpt-missing"
                else f
                for f in findings
            ]
        probe.findings.extend(findings)
    _propagation(probe)
    probe.summary = _txt_summary(probe, probe.record.to_text() if probe.record else None)
    return probe


async def _authoritative(c: SharedContext, domain: str, name: str, rdtype: str) -> AuthoritativeView | None:
    if not c.options.authoritative:
        return None
    # The zone of the policy domain: `_mta-sts`/`_smtp._tls` are almost never zones of their own,
    # and asking about the domain lets both records share one lookup.
    zone = await c.zone(domain)
    return await c.dns.authoritative(name, rdtype, zone)


def _servers_skipped(auth: AuthoritativeView | None) -> list[Finding]:
    """A zone naming more name servers than are asked (dnsclient.MAX_NS_HOSTS): say which were not."""
    if auth is None or not auth.skipped:
        return []
    return [
        finding(
            "dns-lookup-failed",
            f"{auth.skipped}, so what they publish is unknown",
            "a zone needs 2-4 name servers (13 at most): remove the NS records of servers that do not serve it",
            subject=auth.zone or auth.name,
        )
    ]


def _propagation(probe: TxtProbe) -> None:
    auth = probe.authoritative
    if auth is None or probe.resolver.failed:
        return
    published = auth.records()
    if published is None:
        return
    served = tuple(sorted(probe.resolver.records)) if probe.resolver.exists else ()
    if published == served:
        return
    probe.propagation_seconds = probe.resolver.ttl if probe.resolver.exists else probe.resolver.negative_ttl


def _txt_summary(probe: TxtProbe, value: str | None) -> str:
    res = probe.resolver
    if value is not None:
        text = f"{probe.name}: {value} (TTL {res.ttl})"
    elif res.failed:
        text = f"{probe.name}: {res.describe()}"
    else:
        text = f"{probe.name}: no usable record ({res.describe()})"
    if probe.propagation_seconds is not None:
        if probe.published:
            text += (
                f"; your DNS host already publishes the new answer; resolvers may serve the old answer "
                f"for up to {probe.propagation_seconds} more seconds"
            )
        else:
            text += (
                f"; your DNS host no longer publishes it; resolvers may keep serving it for up to "
                f"{probe.propagation_seconds} more seconds"
            )
    return text


def _with_cname_note(f: Finding, res: DnsResult) -> Finding:
    return _replace(f, message=f"{f.message} ({res.name} is a CNAME: {' -> '.join(res.cnames)})")


def _replace(f: Finding, **changes: Any) -> Finding:
    from dataclasses import replace

    return replace(f, **changes)


# ----------------------------------------------------------------------------- MX


@_own_context
async def probe_mx(domain: str, options: CheckOptions, *, ctx: SharedContext | None = None) -> MxProbe:
    """The MX records (null MX and none told apart) and every MX host's addresses."""
    c = _ctx(options, ctx)
    domain = normalise_domain_text(domain)
    probe = MxProbe(domain=domain)
    res = await c.dns.query(domain, "MX")
    if res.failed:
        probe.findings.append(_lookup_failed(res, STEP_POLICY, f"the MX records of {domain} could not be read"))
        probe.summary = f"MX of {domain}: {res.describe()}"
        return probe
    records = _mx_records(res)
    if any(host == "" for _p, host in records):
        probe.null_mx = True
        probe.findings.append(
            finding(
                "mx-missing",
                f"{domain} publishes a null MX ('0 .'): it declares that it receives no mail",
                "MTA-STS protects mail you receive; publish your real MX records first, or skip MTA-STS",
                subject=domain,
            )
        )
        probe.summary = f"MX of {domain}: null MX (accepts no mail)"
        return probe
    probe.records = sorted(records)
    if not records:
        why = "does not exist" if res.status == "nxdomain" else "has no MX records"
        probe.findings.append(
            finding(
                "mx-missing",
                f"{domain} {why}; senders fall back to its A record and MTA-STS has nothing to protect",
                f"publish MX records for {domain} (e.g. '{domain}. MX 10 mail.{domain}.')",
                subject=domain,
            )
        )
        probe.summary = f"MX of {domain}: none"
        return probe
    hosts = probe.hosts[:MAX_MX_HOSTS]
    resolved = await asyncio.gather(*(_addresses(c, h) for h in hosts))
    for host, (a, aaaa) in zip(hosts, resolved, strict=True):
        probe.addresses[host] = _sorted_addresses(a, aaaa)
        probe.findings.extend(_mx_address_findings(host, a, aaaa))
    skipped = probe.hosts[MAX_MX_HOSTS:]
    if skipped:
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        probe.findings.append(
            finding(
                "mx-unreachable",
                f"{domain} has {len(probe.hosts)} MX hosts; only the first {MAX_MX_HOSTS} by preference were "
                f"checked, {len(skipped)} were skipped ({', '.join(skipped[:5])}{more})",
                "senders try only a few MX hosts: publish the ones that receive your mail (most domains need 1-5)",
                subject=domain,
            )
        )

    def shown(host: str) -> str:
        return " ".join(probe.addresses[host]) or "no address" if host in probe.addresses else "skipped"

    listing = ", ".join(f"{p} {h} ({shown(h)})" for p, h in probe.records)
    probe.summary = f"MX of {domain}: {listing}"
    return probe


def _mx_records(res: DnsResult) -> list[tuple[int, str]]:
    """(preference, host) of an MX answer, in the order senders try them (host names break ties)."""
    return sorted((int(r.preference), normalise_name(r.exchange.to_text())) for r in res.rdatas) if res.exists else []


def _mx_address_findings(host: str, a: DnsResult, aaaa: DnsResult) -> list[Finding]:
    out = [
        _lookup_failed(r, STEP_VERIFY, f"the addresses of MX host {host} could not be read")
        for r in (a, aaaa)
        if r.failed
    ]
    if not a.exists and not aaaa.exists and not out:
        out.append(
            finding(
                "mx-unresolvable",
                f"the MX host {host} has no A or AAAA record ({a.describe()})",
                f"publish an address for {host}, or remove that MX record",
                subject=host,
            )
        )
    return out


# ----------------------------------------------------------------------------- policy


@_own_context
async def probe_policy(domain: str, options: CheckOptions, *, ctx: SharedContext | None = None) -> PolicyProbe:
    """Fetch the policy from every address of `mta-sts.<domain>` and parse what was served."""
    c = _ctx(options, ctx)
    domain = normalise_domain_text(domain)
    host = f"mta-sts.{domain}"
    url = f"https://{host}{POLICY_PATH}"
    probe = PolicyProbe(host=host, url=url)
    a, aaaa = await _addresses(c, host)
    probe.addresses = _sorted_addresses(a, aaaa)
    failed = [r for r in (a, aaaa) if r.failed]
    for r in failed:
        probe.findings.append(
            _lookup_failed(r, STEP_HOSTING, f"the address of the policy host {host} could not be read")
        )
    if not probe.addresses:
        if not failed:
            target = a.canonical_name
            probe.findings.append(
                finding(
                    "policy-host-unresolvable",
                    f"{host} has no A or AAAA record ({a.describe()}); senders cannot fetch the policy",
                    f"publish an A/AAAA record (or a CNAME to your web host) for {host}",
                    subject=target,
                )
            )
        probe.summary = f"{host}: no address"
        return probe
    probe.fetches = list(
        await asyncio.gather(
            *(
                c.connect_slot(
                    addr,
                    fetch_policy(
                        host,
                        addr,
                        ca_bundle=c.options.ca_bundle,
                        timeout=c.options.timeout,
                        port=c.options.https_port,
                        client=c.http,
                    ),
                )
                for addr in probe.addresses
            )
        )
    )
    for fetch in probe.fetches:
        probe.findings.extend(fetch.findings)
    served = [f for f in probe.fetches if f.served]
    bodies = {f.body for f in served}
    if len(bodies) > 1:
        groups: dict[bytes | None, list[str]] = {}
        for f in served:
            groups.setdefault(f.body, []).append(f.address)
        variants = "; ".join(f"{', '.join(addrs)} serve {len(b or b'')} bytes" for b, addrs in groups.items())
        probe.findings.append(
            finding(
                "policy-addresses-differ",
                f"the addresses of {host} serve different policy files ({variants}); senders get one at random",
                "publish the same file on every server behind this name (or remove the stale address from DNS)",
                subject=url,
            )
        )
    if served:
        probe.body = served[0].body
        probe.parse = parse_policy(probe.body or b"", subject=url)
        probe.content_findings.extend(probe.parse.findings)
        probe.policy = probe.parse.policy
        if probe.policy is not None:
            probe.content_findings.extend(policy_advice(probe.policy, subject=url, domain=domain))
    states = "; ".join(f.summary() for f in probe.fetches)
    probe.summary = f"{url}: {states}"
    return probe


# ----------------------------------------------------------------------------- the full check


class _Timer:
    """Collects CheckRecords: each check's findings decide its status."""

    def __init__(self) -> None:
        self.records: list[CheckRecord] = []

    def add(self, check_id: str, step: int, findings: Iterable[Finding], elapsed_ms: int) -> None:
        severities = {f.severity for f in findings}
        status: CheckStatus = "fail" if "error" in severities else "warn" if "warning" in severities else "pass"
        self.records.append(CheckRecord(check_id, step, status, elapsed_ms))


async def _timed(work: Awaitable[Any]) -> tuple[Any, int]:
    started = time.monotonic()
    result = await work
    return result, int((time.monotonic() - started) * 1000)


async def _mx_tls(
    c: SharedContext, domain: str, deadline: float
) -> tuple[list[SmtpProbe], list[Finding], tuple[str, ...]]:
    """Per MX host: resolve, then probe each address and look up TLSA, without waiting for other hosts.

    At most MAX_MX_HOSTS hosts (probe_mx says which were skipped); a host not done by `deadline`
    (event loop time) is an mx-unreachable finding, and the hosts done keep their results.
    """
    mx = await _until(deadline, c.dns.query(domain, "MX"), lambda: _late_lookup(domain, "MX", c.options))
    if not mx.exists:  # not in time: the MX part says so
        return [], [], ()
    hosts = tuple(dict.fromkeys(host for _pref, host in _mx_records(mx) if host))[:MAX_MX_HOSTS]

    async def one_host(host: str) -> tuple[list[SmtpProbe], list[Finding], bool]:
        tlsa_task = asyncio.ensure_future(c.dns.query(f"_25._tcp.{host}", "TLSA"))
        probes: list[SmtpProbe] = []
        if c.options.probe_smtp:
            a, aaaa = await _addresses(c, host)
            addrs = _sorted_addresses(a, aaaa)
            probes = list(await asyncio.gather(*(c.smtp_probe(host, addr) for addr in addrs)))
        tlsa = await tlsa_task
        notes: list[Finding] = []
        if tlsa.exists:
            notes.append(
                finding(
                    "dane-tlsa-present",
                    f"{host} publishes TLSA records at _25._tcp.{host}: DANE-aware senders check those too, "
                    "and MTA-STS never overrides a DANE failure",
                    "keep the TLSA records in step with every certificate change on this MX",
                    subject=f"_25._tcp.{host}",
                )
            )
        elif tlsa.failed:
            notes.append(
                _lookup_failed(
                    tlsa,
                    STEP_VERIFY,
                    f"the TLSA lookup for MX host {host} failed; DANE-aware senders defer mail when it does",
                )
            )
        return probes, notes, tlsa.exists

    def late(host: str) -> tuple[list[SmtpProbe], list[Finding], bool]:
        message = f"the MX host {host} was not probed: {_deadline_text(c.options)}"
        return [], [finding("mx-unreachable", message, DEADLINE_FIX, subject=host)], False

    results = await asyncio.gather(*(_until(deadline, one_host(h), functools.partial(late, h)) for h in hosts))
    probes = [p for r in results for p in r[0]]
    notes = [n for r in results for n in r[1]]
    tlsa_hosts = tuple(h for h, r in zip(hosts, results, strict=True) if r[2])
    return probes, notes, tlsa_hosts


@_own_context
async def check_domain(domain: str, options: CheckOptions, *, ctx: SharedContext | None = None) -> DomainReport:
    """Run every verification for one domain concurrently; never raises."""
    started = time.monotonic()
    c = _ctx(options, ctx)
    domain = normalise_domain_text(domain)
    report = DomainReport(domain=domain, checked_at=_now_text())
    deadline = asyncio.get_running_loop().time() + options.deadline
    try:
        (
            (sts, t_sts),
            (tlsrpt, t_rpt),
            (mx, t_mx),
            (pol, t_pol),
            ((smtp, tlsa_notes, tlsa_hosts), t_tls),
        ) = await asyncio.gather(
            _timed(_until(deadline, probe_sts_txt(domain, options, ctx=c), lambda: _late_sts(domain, options))),
            _timed(_until(deadline, probe_tlsrpt(domain, options, ctx=c), lambda: _late_tlsrpt(domain, options))),
            _timed(_until(deadline, probe_mx(domain, options, ctx=c), lambda: _late_mx(domain, options))),
            _timed(_until(deadline, probe_policy(domain, options, ctx=c), lambda: _late_policy(domain, options))),
            _timed(_mx_tls(c, domain, deadline)),
        )
    except Exception as exc:  # a bug must still not become a traceback for the user
        report.findings.append(
            finding(
                "dns-lookup-failed",
                f"the check stopped unexpectedly ({type(exc).__name__}: {exc})",
                "run the check again; if it repeats, report it with this message",
                subject=domain,
            )
        )
        report.checks.append(CheckRecord("internal", STEP_VERIFY, "fail", int((time.monotonic() - started) * 1000)))
        return report
    report.deadline_passed = asyncio.get_running_loop().time() >= deadline  # some part was cut off
    report.sts, report.tlsrpt, report.mx, report.policy_probe, report.smtp = sts, tlsrpt, mx, pol, smtp
    report.tlsa_hosts = tlsa_hosts
    report.policy = pol.policy
    report.sts_id = sts.record.id if sts.record else None
    timer = _Timer()
    timer.add("mx-records", STEP_POLICY, mx.findings, t_mx)
    cov: list[Finding] = []
    if pol.policy is not None and pol.policy.mode != "none" and mx.hosts:  # none: senders ignore the mx lines
        cov = coverage_findings(coverage(pol.policy.mx, mx.hosts), pol.policy.mode, subject=pol.url)
    policy_content = pol.content_findings
    timer.add("policy-content", STEP_POLICY, policy_content, t_pol)
    timer.add("mx-coverage", STEP_POLICY, cov, 0)
    timer.add("policy-fetch", STEP_HOSTING, pol.findings, t_pol)
    drift = _drift(options, pol, report.sts_id)
    if options.expected_policy is not None:
        timer.add("saved-policy", STEP_HOSTING, drift, 0)
    timer.add("sts-txt", STEP_STS_TXT, sts.findings, t_sts)
    timer.add("tlsrpt-txt", STEP_TLSRPT, tlsrpt.findings, t_rpt)
    smtp_findings = [f for p in smtp for f in p.findings]
    if options.probe_smtp:
        timer.add("mx-starttls", STEP_VERIFY, smtp_findings, t_tls)
    timer.add("dane-tlsa", STEP_VERIFY, tlsa_notes, t_tls)
    all_findings = [
        *mx.findings,
        *policy_content,
        *cov,
        *pol.findings,
        *drift,
        *sts.findings,
        *tlsrpt.findings,
        *smtp_findings,
        *tlsa_notes,
    ]
    report.findings = sorted(_dedupe(all_findings), key=lambda f: f.step)
    report.checks = sorted(timer.records, key=lambda r: r.step)
    report.resolver_unreachable = c.dns.unreachable
    report.elapsed_ms = int((time.monotonic() - started) * 1000)
    return report


# ----------------------------------------------------------------------------- the deadline

DEADLINE_FIX = "run the check again with a longer --deadline, or find out why this part answers so slowly"


async def _until(deadline: float, work: Awaitable[R], late: Callable[[], R]) -> R:
    """`work`'s result, or `late()` when the event loop's clock reaches `deadline` first (work cancelled)."""
    scope = asyncio.timeout_at(deadline)
    try:
        async with scope:
            return await work
    except TimeoutError:
        if not scope.expired():  # the work's own timeout, not the deadline
            raise
        return late()


def _deadline_text(options: CheckOptions) -> str:
    return f"the {options.deadline:g} s check deadline (--deadline) passed first"


def _late_lookup(name: str, rdtype: str, options: CheckOptions) -> DnsResult:
    return DnsResult(name, rdtype, "timeout", error=_deadline_text(options))


def _late_txt(probe: TxtProbe, step: int, what: str) -> None:
    probe.findings.append(_lookup_failed(probe.resolver, step, what, DEADLINE_FIX))
    probe.summary = f"{probe.name}: {probe.resolver.describe()}"


def _late_sts(domain: str, options: CheckOptions) -> StsTxtProbe:
    name = f"_mta-sts.{domain}"
    probe = StsTxtProbe(name=name, resolver=_late_lookup(name, "TXT", options))
    _late_txt(probe, STEP_STS_TXT, "the _mta-sts record could not be read")
    return probe


def _late_tlsrpt(domain: str, options: CheckOptions) -> TlsRptProbe:
    name = f"_smtp._tls.{domain}"
    probe = TlsRptProbe(name=name, resolver=_late_lookup(name, "TXT", options))
    _late_txt(probe, STEP_TLSRPT, "the TLSRPT record could not be read")
    return probe


def _late_mx(domain: str, options: CheckOptions) -> MxProbe:
    res = _late_lookup(domain, "MX", options)
    probe = MxProbe(domain=domain, summary=f"MX of {domain}: {res.describe()}")
    probe.findings.append(
        _lookup_failed(res, STEP_POLICY, f"the MX records of {domain} could not be read", DEADLINE_FIX)
    )
    return probe


def _late_policy(domain: str, options: CheckOptions) -> PolicyProbe:
    host = f"mta-sts.{domain}"
    url = f"https://{host}{POLICY_PATH}"
    message = f"the policy at {url} was not fetched: {_deadline_text(options)}"
    probe = PolicyProbe(host=host, url=url, summary=f"{url}: {message}")
    probe.findings.append(finding("policy-timeout", message, DEADLINE_FIX, subject=url))
    return probe


def _drift(options: CheckOptions, pol: PolicyProbe, sts_id: str | None) -> list[Finding]:
    expected = options.expected_policy
    served = pol.policy
    if expected is None or served is None or served.same_as(expected):
        return []
    out = [
        finding(
            "policy-differs-from-saved",
            f"{pol.url} serves mode {served.mode}, max_age {served.max_age}, mx {', '.join(served.mx) or '-'}; "
            f"the policy saved for this domain has mode {expected.mode}, max_age {expected.max_age}, "
            f"mx {', '.join(expected.mx) or '-'}",
            "upload the saved policy file to the web server (or regenerate it if the served one is what you want)",
            subject=pol.url,
        )
    ]
    if options.expected_id is not None and sts_id == options.expected_id:
        out.append(
            finding(
                "sts-id-unchanged",
                f"the TXT id is still {sts_id} although the served policy is not the saved one; senders that "
                "cached the policy under this id will not fetch the new file",
                "after the new file is served, publish a new id in the _mta-sts TXT record",
                subject=f"_mta-sts.{pol.host.removeprefix('mta-sts.')}",
            )
        )
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def check_domains(domains: Iterable[str], options: CheckOptions) -> list[DomainReport]:
    """Check several domains concurrently with one shared resolver client and connection limits."""
    c = SharedContext(options)
    try:
        return list(await asyncio.gather(*(check_domain(d, options, ctx=c) for d in domains)))
    finally:
        await c.aclose()
