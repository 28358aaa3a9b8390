"""The bridge from a screen's "check this step" to the engine, in the shape screens show.

No protocol logic lives here: the engine (wizard.engine) decides what is found and which
findings apply, and wizard.publication when a published step counts as seen. This module
only packs the engine's answer into an `Attempt`, the unit
the live-verification panel lists ("12:00:03 not seen yet: the resolver still says
NXDOMAIN, cached up to 300 s").
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from wizard.commands.common import NetworkSettings
from wizard.domain import Domain
from wizard.findings import Finding
from wizard.policy import PolicyFile
from wizard.publication import policy_seen, sts_seen, tlsrpt_seen
from wizard.state import status_from_findings
from wizard.text import shown

if TYPE_CHECKING:
    from wizard.engine import CheckOptions, PolicyProbe, StsTxtProbe, TlsRptProbe


T = TypeVar("T")


def _engine() -> ModuleType:
    """wizard.engine (httpx, cryptography, dnspython: ~100 ms of imports the start screen does without)."""
    return importlib.import_module("wizard.engine")


async def off_loop(job: Callable[[], Awaitable[T]]) -> T:
    """Run the async `job` on its own event loop in a daemon thread and await its result.

    A check's TLS handshakes, certificate parsing and DNS message parsing are CPU work that
    would otherwise run on the UI's event loop between key presses; in a thread they only
    share the GIL, which Python hands over every few milliseconds. A daemon thread (not the
    default executor) so that quitting never waits for a check against a slow server; a
    cancelled worker simply drops the result when it comes.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        async def call() -> T:
            return await job()

        try:
            result, error = asyncio.run(call()), None
        except BaseException as exc:  # handed to the awaiting worker, which shows it
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the UI's loop has closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="check", daemon=True).start()
    return await future


@dataclass(frozen=True)
class CheckContext:
    """What a check needs: the domain, the network options, and what the wizard generated."""

    domain: Domain
    settings: NetworkSettings
    policy: PolicyFile | None
    policy_id: str | None
    rua: tuple[str, ...] = ()


@dataclass
class Attempt:
    """One verification attempt of one step, as the user sees it."""

    step: int
    domain: str
    at: datetime
    seen: bool
    """The record or file was found (maybe with problems); polling stops once it is."""
    findings: list[Finding] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    """What was found, one line each (resolver vs authoritative view, each address's answer)."""
    served_policy: PolicyFile | None = None
    """Step 2 and the full check: the policy the host serves, when one parsed."""
    mismatch: str = ""
    """The source already serves another value than expected (wizard.publication.Seen.mismatch)."""
    report: Any = None
    """The full check only: the engine's DomainReport (wizard.lifecycle.adopt places the domain from it)."""
    checks: list[tuple[str, int, str, int]] = field(default_factory=list)
    """The full check: each verification that ran as (id, step, status, elapsed ms)."""

    def __post_init__(self) -> None:
        # The lines quote answers (TXT values, HTTP statuses and headers): escaped once here, so
        # every screen that lists them shows text that cannot drive the terminal.
        self.lines = [shown(line) for line in self.lines]

    @property
    def status(self) -> str:
        """waiting until seen; then failed / warning / verified from the step's findings."""
        if not self.seen:
            return "waiting"
        if self.step == 5:
            severities = {f.severity for f in self.findings}
            return "failed" if "error" in severities else "warning" if "warning" in severities else "verified"
        return status_from_findings(self.findings, self.step)

    @property
    def worst(self) -> str:
        severities = {f.severity for f in self.findings}
        for level in ("error", "warning", "info"):
            if level in severities:
                return level
        return ""

    @property
    def headline(self) -> str:
        status = self.status
        if status == "waiting" and self.mismatch:
            return f"published with a different value ({_STEP_THING[self.step]}): it will not change by waiting"
        if status == "waiting":
            return f"not seen yet ({_STEP_THING[self.step]})"
        if status == "verified":
            return f"{_STEP_THING[self.step]}: verified"
        count = sum(1 for f in self.findings if f.severity == ("error" if status == "failed" else "warning"))
        noun = "problem" if count == 1 else "problems"
        return f"{_STEP_THING[self.step]}: found, {count} {noun} to fix"


_STEP_THING = {
    1: "policy file",
    2: "policy file at the URL",
    3: "_mta-sts TXT record",
    4: "TLSRPT record",
    5: "full check",
    6: "monitoring",
}


def check_options(ctx: CheckContext, eng: ModuleType) -> CheckOptions:
    """The engine's options from the command line's network settings and the saved policy."""
    return eng.CheckOptions(
        nameservers=ctx.settings.nameservers,
        ca_bundle=ctx.settings.ca_bundle,
        timeout=ctx.settings.timeout,
        expected_policy=ctx.policy,
        expected_id=ctx.policy_id,
    )


async def lookup_mx(domain: Domain, settings: NetworkSettings) -> tuple[list[str], list[Finding], str]:
    """The domain's MX hosts in preference order, the findings about them, and a summary line."""

    async def job() -> Any:
        eng = _engine()
        options = eng.CheckOptions(
            nameservers=settings.nameservers, ca_bundle=settings.ca_bundle, timeout=settings.timeout
        )
        return await eng.probe_mx(domain.ascii, options)

    probe = await off_loop(job)
    return list(probe.hosts), list(probe.findings), probe.summary


async def step_check(step: int, ctx: CheckContext, clock: Callable[[], datetime]) -> Attempt:
    """One live check of step 2 (the fetch), 3 (_mta-sts TXT) or 4 (TLSRPT TXT)."""
    if step not in (2, 3, 4):
        raise ValueError(f"step {step} has no live check")

    async def job() -> Any:
        eng = _engine()
        probe = {2: eng.probe_policy, 3: eng.probe_sts_txt, 4: eng.probe_tlsrpt}[step]
        return await probe(ctx.domain.ascii, check_options(ctx, eng))

    found = await off_loop(job)
    if step == 2:
        return _policy_attempt(found, ctx, clock())
    if step == 3:
        return _sts_attempt(found, ctx, clock())
    return _tlsrpt_attempt(found, ctx, clock())


async def full_check(ctx: CheckContext, clock: Callable[[], datetime]) -> Attempt:
    """Every verification at once (what `mta-sts-wizard check` runs)."""

    async def job() -> Any:
        eng = _engine()
        return await eng.check_domain(ctx.domain.ascii, check_options(ctx, eng))

    report = await off_loop(job)
    lines = [f"{c.id} (step {c.step}): {c.status}, {c.elapsed_ms} ms" for c in report.checks]
    checks = [(c.id, c.step, c.status, c.elapsed_ms) for c in report.checks]
    return Attempt(
        5,
        ctx.domain.ascii,
        clock(),
        True,
        list(report.findings),
        lines,
        served_policy=report.policy,
        report=report,
        checks=checks,
    )


def _policy_attempt(probe: PolicyProbe, ctx: CheckContext, at: datetime) -> Attempt:
    result = policy_seen(probe, ctx.policy)
    return Attempt(
        2,
        ctx.domain.ascii,
        at,
        result.seen,
        result.findings,
        result.lines,
        served_policy=probe.policy,
        mismatch=result.mismatch,
    )


def _sts_attempt(probe: StsTxtProbe, ctx: CheckContext, at: datetime) -> Attempt:
    result = sts_seen(probe, ctx.policy_id)
    return Attempt(3, ctx.domain.ascii, at, result.seen, result.findings, result.lines, mismatch=result.mismatch)


def _tlsrpt_attempt(probe: TlsRptProbe, ctx: CheckContext, at: datetime) -> Attempt:
    result = tlsrpt_seen(probe, ctx.rua)
    return Attempt(4, ctx.domain.ascii, at, result.seen, result.findings, result.lines, mismatch=result.mismatch)
