"""Snapshot tests: fixed clock, fixed ids, no network, cursor blink off.

Every screen at 100x30; the overview, step 5 and step 6 (each of its verdicts) also at 80x24
and 160x50, in the dark and the light theme: each state once per size, the themes alternating,
so both sizes and both themes are covered without the full cross product."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from screens.checks import Attempt
from tests.screens_support import FIXED_NOW, make_app
from tests.step6_support import import_folder, policy_for, saved_domain, write_reports
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


def test_step1_policy(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, before = opened(tmp_path, 1)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


@pytest.mark.parametrize("step", [2, 3, 4])
def test_steps_2_to_4(snap_compare, tmp_path: Path, step: int) -> None:  # type: ignore[no-untyped-def]
    seed(tmp_path, step)
    app, before = opened(tmp_path, step)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_help(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, before = opened(tmp_path, 1)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await before(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


#: (terminal size, theme) pairs: each state is taken at both sizes, the themes alternating.
SMALL_DARK = ((80, 24), "textual-dark")
SMALL_LIGHT = ((80, 24), "textual-light")
LARGE_DARK = ((160, 50), "textual-dark")
LARGE_LIGHT = ((160, 50), "textual-light")
#: Every size and theme issue 19 asks for: 80x24 and 160x50, each in the dark and the light theme.
VIEWS = {"80x24-dark": SMALL_DARK, "80x24-light": SMALL_LIGHT, "160x50-dark": LARGE_DARK, "160x50-light": LARGE_LIGHT}


def every_view(*states: str) -> dict[str, object]:
    """parametrize arguments: each state at every size and theme, ids like `blocked-80x24-light`."""
    cases = [(state, *view) for state in states for view in VIEWS.values()]
    return {"argvalues": cases, "ids": [f"{state}-{name}" for state in states for name in VIEWS]}


def themed(app, before, theme: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app.theme = theme
        await before(pilot)
        await app.workers.wait_for_complete()  # the report store is read in a thread worker
        await pilot.pause()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()  # the failure tabs' underline slides in
        await pilot.pause()

    return run_before


@pytest.mark.parametrize(("size", "theme"), list(VIEWS.values()), ids=list(VIEWS))
def test_overview(snap_compare, tmp_path: Path, size, theme) -> None:  # type: ignore[no-untyped-def]
    seed(tmp_path, 6)
    app, before = opened(tmp_path)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await before(pilot)
        app.show_overview()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=themed(app, run_before, theme))


def _step5_findings(errors: bool) -> list:  # type: ignore[type-arg]
    found = [finding("policy-mode-testing", "the policy is in testing mode", "watch the reports", subject="x")]
    if errors:
        found += [
            finding(
                "mx-not-covered",
                "the MX host mx3.example.com matches no mx pattern of the policy",
                "add 'mx: mx3.example.com' to the policy, publish it, then change the TXT id",
                subject="mx3.example.com",
            ),
            finding(
                "mx-tls-expiring",
                "the certificate of mx2.example.com expires in 9 days",
                "renew it",
                subject="mx2.example.com",
                address="192.0.2.25",
            ),
        ]
    return found


_CHECKS = [
    ("mx-records", 1, "pass", 4),
    ("policy-fetch", 2, "pass", 31),
    ("sts-txt", 3, "pass", 6),
    ("tlsrpt-txt", 4, "pass", 5),
    ("mx-starttls", 5, "pass", 120),
]


@pytest.mark.parametrize(("outcome", "size", "theme"), **every_view("clean", "errors"))
def test_step5_checklist(snap_compare, tmp_path: Path, outcome: str, size, theme) -> None:  # type: ignore[no-untyped-def]
    errors = outcome == "errors"
    seed(tmp_path, 5)
    app, before = opened(tmp_path, 5)
    checks = [c for c in _CHECKS if not (errors and c[0] in ("mx-records", "mx-starttls"))]

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await before(pilot)
        app.attempts[5] = [Attempt(5, DOMAIN, FIXED_NOW, True, _step5_findings(errors), [], checks=checks)]
        app.broadcast(5)
        await pilot.pause()
        if errors:  # Enter on the first row (the error): its fix and the record to copy
            app.screen.query_one("#check-table").focus()
            await pilot.press("enter")
            await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=themed(app, run_before, theme))


def _step6_state(root: Path, state: str) -> None:
    """no-reports / failures (old ones, testing too short: not yet) / ready / blocked (failing now)."""
    policy = policy_for(DOMAIN)
    if state == "failures":
        saved_domain(root, DOMAIN, policy, 10)
        import_folder(root, write_reports(root / "in", DOMAIN, 9, failing={1, 2, 3}, orgs=2))
    elif state == "no-reports":
        saved_domain(root, DOMAIN, policy, 20)
    else:
        saved_domain(root, DOMAIN, policy, 20)
        failing = {12, 13, 14} if state == "blocked" else set()
        import_folder(root, write_reports(root / "in", DOMAIN, 15, failing=failing, orgs=2))


@pytest.mark.parametrize(("state", "size", "theme"), **every_view("no-reports", "failures", "ready", "blocked"))
def test_step6_dashboard(snap_compare, tmp_path: Path, state: str, size, theme) -> None:  # type: ignore[no-untyped-def]
    _step6_state(tmp_path, state)
    app, before = opened(tmp_path, 6)
    assert snap_compare(app, terminal_size=size, run_before=themed(app, before, theme))
