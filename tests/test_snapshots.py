"""Snapshot tests of every screen at 100x30: fixed clock, fixed ids, no network, cursor blink off."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from screens.checks import Attempt
from tests.screens_support import FIXED_NOW, make_app
from wizard.findings import finding
from wizard.policy import PolicyFile
from wizard.state import StateStore, record_policy, record_served, set_step

SIZE = (100, 30)
DOMAIN = "example.com"
MX = ["mx1.example.com", "mx2.example.com"]


def seed(state_dir: Path, upto: int) -> None:
    """Saved progress with steps 1..upto-1 verified, a policy from a fixed time, testing since a fixed date."""
    session = StateStore(state_dir).open(DOMAIN)
    state = session.state
    state.created_at = FIXED_NOW - timedelta(days=3)
    if upto > 1:
        record_policy(state, PolicyFile(mode="testing", max_age=86400, mx=tuple(MX)), FIXED_NOW - timedelta(days=3))
        state.rua = [f"mailto:tlsrpt@{DOMAIN}"]
        state.hosting = "nginx"
    for step in range(1, upto):
        set_step(state, step, "verified", FIXED_NOW - timedelta(days=3))
    if upto > 5:
        record_served(state, "testing", 86400, state.policy_id or "", FIXED_NOW - timedelta(days=3))
    session.save(FIXED_NOW - timedelta(days=3))
    session.close()


def no_blink(app) -> None:  # type: ignore[no-untyped-def]
    for widget in app.screen.query("Input"):
        widget.cursor_blink = False


def opened(state_dir: Path, step: int | None = None, mx: bool = True):  # type: ignore[no-untyped-def]
    app = make_app(state_dir, DOMAIN, offline=True)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()  # the App shows its first screen once it has mounted
        if mx:
            app.mx_hosts = list(MX)
            app.broadcast(1)
        if step is not None:
            app.goto_step(step)
        await pilot.pause()
        no_blink(app)
        await pilot.pause()

    return app, run_before


def test_start_screen(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed(tmp_path, 3)
    app = make_app(tmp_path, None, offline=True)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press(*"https://x")
        no_blink(app)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_overview(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed(tmp_path, 3)
    app, before = opened(tmp_path)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await before(pilot)
        app.show_overview()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_step1_policy(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, before = opened(tmp_path, 1)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("step", [2, 3, 4])
def test_steps_2_to_4(snap_compare, tmp_path: Path, step: int) -> None:  # type: ignore[no-untyped-def]
    seed(tmp_path, step)
    app, before = opened(tmp_path, step)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_step5_with_findings(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed(tmp_path, 5)
    app, before = opened(tmp_path, 5)
    findings = [
        finding("policy-mode-testing", "the policy is in testing mode", "watch the reports", subject="x"),
        finding(
            "mx-tls-expiring",
            "the certificate of mx2.example.com expires in 9 days",
            "renew it",
            subject="mx2.example.com",
            address="192.0.2.25",
        ),
    ]

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await before(pilot)
        app.attempts[5] = [Attempt(5, DOMAIN, FIXED_NOW, True, findings, [])]
        app.broadcast(5)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_step6_monitor(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed(tmp_path, 6)
    app, before = opened(tmp_path, 6)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_help(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, before = opened(tmp_path, 1)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await before(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
