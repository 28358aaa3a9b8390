"""Helpers for the Pilot and snapshot tests of screens/: an App wired to a temp state dir."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from screens.app import WizardApp
from wizard.commands.common import NetworkSettings
from wizard.domain import normalise_domain
from wizard.state import StateStore

FIXED_NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_NOW


def make_app(
    state_dir: Path,
    domain: str | None = None,
    *,
    world: Any = None,
    offline: bool = False,
    poll_seconds: float = 10.0,
    clock: Callable[[], datetime] = fixed_clock,
    timeout: float = 3.0,
) -> WizardApp:
    """A WizardApp on a temp state dir; with `world`, resolving through its DNS and trusting its CA."""
    if world is not None:
        settings = NetworkSettings((world.dns.address,), world.ca_bundle, timeout)
    else:
        # No world: an unreachable resolver on loopback, so nothing leaves the machine.
        settings = NetworkSettings(("127.0.0.1:9",), None, 1.0)
    return WizardApp(
        StateStore(state_dir),
        settings,
        normalise_domain(domain) if domain else None,
        poll_seconds=poll_seconds,
        clock=clock,
        offline=offline,
    )


async def wait_until(pilot: Any, condition: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Pause the pilot until `condition()` holds (bounded in time and count)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


async def confirm_dialog(app: WizardApp, pilot: Any) -> None:
    """A risky move's confirmation is up, with Cancel focused (the default): press Confirm."""
    from screens.confirm import ConfirmScreen

    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    assert app.screen.focused is not None and app.screen.focused.id == "confirm-cancel"
    await pilot.click("#confirm-ok")
    await pilot.pause()


async def settle(app: WizardApp, pilot: Any) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


Runner = Callable[..., Awaitable[None]]
