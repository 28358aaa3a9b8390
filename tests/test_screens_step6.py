"""Pilot tests of step 6: the verdict and chart a user sees, and the guided switch driven by keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from screens.step6_dashboard import DailyChart
from tests.reports_factory import detail, gz, report
from tests.screens_support import FIXED_NOW, make_app, settle, wait_until
from tests.world.world import World
from wizard.policy import PolicyFile
from wizard.reports import ReportStore, import_paths, store_path
from wizard.state import StateStore, record_check, record_policy, record_served, set_step


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """What the screen says, scrolled into view or not: texts, button labels, the chart, table cells."""
    from textual.widgets import Button, DataTable, Static

    from screens.step6_dashboard import DailyChart

    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, Static | DailyChart):
            rendered = widget.render()
            parts.append(getattr(rendered, "plain", str(rendered)))
        elif isinstance(widget, Button):
            parts.append(getattr(widget.label, "plain", str(widget.label)))
        elif isinstance(widget, DataTable):
            for row in range(widget.row_count):
                parts.append("  ".join(getattr(c, "plain", str(c)) for c in widget.get_row_at(row)))
    return "\n".join(parts)


def _saved(root: Path, name: str, policy: PolicyFile, days_ago: int) -> str:
    started = FIXED_NOW - timedelta(days=days_ago)
    with StateStore(root).open(name) as session:
        state = session.state
        record_policy(state, policy, started)
        record_served(state, policy.mode, policy.max_age, state.policy_id or "", started)
        for step in range(1, 6):
            set_step(state, step, "verified", started)
        record_check(state, [], FIXED_NOW - timedelta(hours=1))
        session.save(started)
        return state.policy_id or ""


def _reports(root: Path, name: str, days: int, failing_day: int | None = None) -> None:
    folder = root / "incoming"
    folder.mkdir(exist_ok=True)
    for i in range(days):
        day = (FIXED_NOW - timedelta(days=days - i)).date()
        failing = failing_day == i
        doc = report(
            report_id=f"r{i}",
            domain=name,
            day=day.isoformat(),
            success=900,
            failure=100 if failing else 0,
            details=[detail("starttls-not-supported", 100, mx=f"mx.{name}")] if failing else None,
            mx_host=(f"mx.{name}",),
        )
        (folder / f"s!{name}!{i}!{i}.json.gz").write_bytes(gz(doc))
    with ReportStore(store_path(root)) as store:
        assert import_paths(store, [folder]).imported == days


async def _serve_new_file(app, pilot, scenario) -> str:  # type: ignore[no-untyped-def]
    """Phases 2-3 of a pending change: the world serves its new file, `p` verifies it and reveals the
    new id (returned)."""
    scenario.https[0].sites[scenario.policy_host].body = app.state.pending_change.new_policy.text.encode()
    await pilot.press("p")
    await settle(app, pilot)
    await wait_until(pilot, lambda: "publish this TXT record" in screen_text(app))
    return app.state.policy_id


async def _publish_id(app, pilot, world: World, name: str, new_id: str, shown: str) -> None:  # type: ignore[no-untyped-def]
    """Phase 4: the world publishes the new id, `i` verifies it, until `shown` is on screen."""
    world.txt(f"_mta-sts.{name}", [f"v=STSv1; id={new_id}"])
    await pilot.press("i")
    await settle(app, pilot)
    await wait_until(pilot, lambda: shown in screen_text(app))


async def test_step6_shows_blocked_verdict_evidence_and_failure_chart(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name, PolicyFile("testing", 86400, (f"mx.{name}",)), 20)
    _reports(tmp_path, name, 15, failing_day=14)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)  # the report store is read in a thread worker
        text = screen_text(app)
        assert "TLS reports: 15 report(s) imported, all in the window" in text
        assert "✗ BLOCKED" in text
        assert "no STARTTLS on mx.example.com (100 failed session(s) in reports" in text
        assert "Fix: enable STARTTLS on mx.example.com" in text
        assert "2026-11-13 to 2026-11-27; peak 10.00%" in text
        chart = app.screen.query_one(DailyChart)
        assert len(chart.points) == 15 and chart.points[-1].rate_pct == 10.0


async def test_step6_guided_switch_refuses_the_id_until_the_file_is_served(tmp_path: Path, world: World) -> None:
    name = world.fresh("ui")
    policy = PolicyFile("testing", 86400, (f"mx.{name}",))
    policy_id = _saved(tmp_path, name, policy, 20)
    _reports(tmp_path, name, 15)
    scenario = world.domain(name, policy=policy, sts_id=policy_id)
    app = make_app(tmp_path, name, world=world, offline=True)
    async with app.run_test(size=(120, 80)) as pilot:
        await settle(app, pilot)
        assert "✓ READY" in screen_text(app)
        assert "e Switch to enforce" in screen_text(app)
        await pilot.press("e")
        await pilot.pause()
        text = screen_text(app)
        assert "Switch to enforce: phase 1 of 4" in text
        assert "mode: enforce" in text  # the new file, copyable
        assert "[>] 2. publish it: every address must serve it" in text

        await pilot.press("p")  # the world still serves the testing file
        await settle(app, pilot)
        await wait_until(pilot, lambda: "not shown yet" in screen_text(app))
        assert "[OLD]" in screen_text(app)
        assert "v=STSv1; id=" not in screen_text(app)

        new_id = await _serve_new_file(app, pilot, scenario)
        assert new_id != policy_id
        assert f"v=STSv1; id={new_id}" in screen_text(app)
        assert "[>] 4. the new id is live" in screen_text(app)

        await _publish_id(app, pilot, world, name, new_id, "done: the change is live and recorded")
        assert "mode enforce (served: enforce)" in screen_text(app)
        assert "raise max_age from 86400 s (1 day) to 604800 s (7 days)" in screen_text(app)
    saved = StateStore(tmp_path).read(name).state
    assert saved is not None and saved.mode == "enforce" and saved.pending_change is None
    assert saved.mode_history.current is not None and saved.mode_history.current.policy_id == new_id


async def test_step6_rollback_key_plans_testing(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name, PolicyFile("enforce", 604800, (f"mx.{name}",)), 30)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        assert "TLS reports: no reports imported yet" in screen_text(app)  # no store: known without a worker
        assert "t Roll back to testing" in screen_text(app)
        await pilot.press("t")
        await pilot.pause()
        assert "Roll back to testing: phase 1 of 4" in screen_text(app)
        assert "mode: testing" in screen_text(app)
        await pilot.press("z")
        await pilot.pause()
        assert "change cancelled" in screen_text(app)
        assert app.state.pending_change is None


async def test_step6_shows_loading_while_the_report_store_is_read_and_keys_keep_working(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import threading

    import screens.step6_lifecycle as lifecycle

    name = "example.com"
    _saved(tmp_path, name, PolicyFile("testing", 86400, (f"mx.{name}",)), 20)
    _reports(tmp_path, name, 15, failing_day=14)
    release = threading.Event()
    real = lifecycle.evidence_for

    def slow_evidence_for(state, root):  # type: ignore[no-untyped-def]
        assert threading.current_thread() is not threading.main_thread(), "the store is read on the UI thread"
        release.wait(20)  # a slow disk: held until the test has looked at the screen
        return real(state, root)

    monkeypatch.setattr(lifecycle, "evidence_for", slow_evidence_for)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Readiness for enforce: loading reports…" in text
        assert "TLS reports: loading reports…" in text
        assert "BLOCKED" not in text
        assert not app.screen.query_one(DailyChart).points
        await pilot.press("e")  # keys work while the store is read
        await pilot.pause()
        assert "Switch to enforce: phase 1 of 4" in screen_text(app)
        release.set()
        await settle(app, pilot)
        text = screen_text(app)
        assert "loading reports" not in text
        assert "TLS reports: 15 report(s) imported, all in the window" in text
        assert "2026-11-13 to 2026-11-27; peak 10.00%" in text
        assert len(app.screen.query_one(DailyChart).points) == 15


async def test_step6_mx_key_plans_the_new_patterns_when_dns_has_an_uncovered_mx(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name, PolicyFile("enforce", 604800, (f"mx.{name}",)), 30)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("g")  # DNS not looked up (offline): nothing to add, and the screen says why
        await pilot.pause()
        assert "MX change: not available now: the MX hosts are not looked up yet" in screen_text(app)
        assert app.state.pending_change is None

        app.mx_hosts = [f"mx.{name}", f"mx2.{name}"]  # the MX lookup finds a host the policy lacks
        app.broadcast(6)
        await pilot.press("g")
        await pilot.pause()
        text = screen_text(app)
        assert "The new policy file is below: publish it, then press p." in text
        assert f"mx: mx2.{name}" in text and f"mx: mx.{name}" in text and "mode: enforce" in text
        pending = app.state.pending_change
        assert pending is not None and f"mx: mx2.{name}" in pending.new_policy.text
        assert not app.screen.query_one(".act-served").disabled  # the ordered update follows
        await pilot.press("z")
        await pilot.pause()
        assert "change cancelled" in screen_text(app) and app.state.pending_change is None


async def test_step6_turn_off_plans_mode_none_and_removal_waits_for_the_countdown(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name, PolicyFile("enforce", 604800, (f"mx.{name}",)), 30)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        assert "d Turn off" in screen_text(app)
        await pilot.press("d")
        await pilot.pause()
        text = screen_text(app)
        assert "phase 1 of 4" in text and "mode: none" in text
        assert app.state.pending_change is not None and app.state.pending_change.kind == "remove"
        assert app.screen.query_one(".act-remove").disabled  # one change at a time
        await pilot.press("k")  # "records removed" while 'mode: none' is not even published: refused
        await pilot.pause()
        assert "not yet" in screen_text(app)
        assert app.state.steps[6].status != "verified"


async def test_step6_records_removed_is_accepted_once_every_old_policy_expired(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name, PolicyFile("enforce", 604800, (f"mx.{name}",)), 60)
    with StateStore(tmp_path).open(name) as session:
        state = session.state
        none_at = FIXED_NOW - timedelta(days=20)  # 'mode: none' served 20 days ago; largest max_age 7 days
        record_policy(state, PolicyFile("none", 86400, (f"mx.{name}",)), none_at)
        record_served(state, "none", 86400, state.policy_id or "", none_at)
        session.save(none_at)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        assert "k Records removed" in screen_text(app)
        await pilot.press("k")
        await pilot.pause()
        assert "MTA-STS removed: every old policy had expired" in screen_text(app)
    saved = StateStore(tmp_path).read(name).state
    assert saved is not None and saved.steps[6].status == "verified"


async def test_step6_mx_change_runs_in_order_and_k_finishes_it(tmp_path: Path, world: World) -> None:
    name = world.fresh("mxui")
    policy = PolicyFile("enforce", 604800, (f"mx.{name}",))
    policy_id = _saved(tmp_path, name, policy, 30)
    scenario = world.domain(name, policy=policy, sts_id=policy_id)
    app = make_app(tmp_path, name, world=world, offline=True)
    async with app.run_test(size=(120, 80)) as pilot:
        await settle(app, pilot)
        app.mx_hosts = [f"mx.{name}", f"mx2.{name}"]  # mx2 is in DNS already, not in the policy
        app.broadcast(6)
        await pilot.press("g")
        await pilot.pause()
        assert f"mx: mx2.{name}" in app.state.pending_change.new_policy.text

        new_id = await _serve_new_file(app, pilot, scenario)
        assert new_id != policy_id
        await _publish_id(app, pilot, world, name, new_id, "k MX records changed")
        await pilot.press("k")
        await pilot.pause()
        assert "MX change finished" in screen_text(app)
        assert app.state.pending_change is None
    saved = StateStore(tmp_path).read(name).state
    assert saved is not None and saved.policy is not None and f"mx2.{name}" in saved.policy.mx
