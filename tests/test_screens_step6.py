"""Pilot tests of step 6: the verdict and chart a user sees, and the guided switch driven by keys."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, Static
from textual.widgets._data_table import ColumnKey

from screens.app import WizardApp
from screens.step6_dashboard import DailyChart
from screens.step6_dialogs import FailureDetailsDialog, ImportDialog, ImportRequest
from screens.step6_lifecycle import ImportProgress
from screens.step6_monitor import MonitorStep
from screens.widgets import CopyableValue
from tests.reports_factory import detail, gz, report
from tests.screens_support import FIXED_NOW, confirm_dialog, make_app, settle, wait_until
from tests.step6_support import import_folder, policy_for, saved_domain, write_reports
from tests.world.world import World
from wizard.lifecycle.importing import ImapRequest
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
        await confirm_dialog(app, pilot)
        text = screen_text(app)
        assert "Switch to enforce: the new policy file:" in text
        assert "phase 1 of 4" not in text  # one phase at a time
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
        assert "[>] 3. publish the new TXT id" in screen_text(app)
        assert "[x] 3." not in screen_text(app)  # shown, not yet published
        assert "Enforced" not in screen_text(app) and app.state.mode_history.enforce_started_at is None
        records = {v.title: v.value for v in app.screen.query("#step6-records CopyableValue").results(CopyableValue)}
        assert records[f"New TXT record at _mta-sts.{name}"] == f"v=STSv1; id={new_id}"  # copyable, savable
        assert "mode: enforce" in records["New policy file (mta-sts.txt)"]

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
        await wait_until(pilot, lambda: "mode enforce -> testing" in screen_text(app))  # says what it does first
        await confirm_dialog(app, pilot)
        assert "Roll back to testing: the new policy file:" in screen_text(app)
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
        await confirm_dialog(app, pilot)
        assert "Switch to enforce: the new policy file:" in screen_text(app)
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
        await confirm_dialog(app, pilot)  # an MX change in enforce is gated
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
        await confirm_dialog(app, pilot)
        text = screen_text(app)
        assert "phase 2 of 4" in text and "mode: none" in text
        assert app.state.pending_change is not None and app.state.pending_change.kind == "remove"
        assert app.screen.query_one(".act-remove").disabled  # one change at a time
        await pilot.press("k")  # "records removed" while 'mode: none' is not even published: refused
        await pilot.pause()
        assert "Done: not available now: no MX change is waiting, and removal is not due" in screen_text(app)
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
        await confirm_dialog(app, pilot)
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


# ---------------------------------------------------------------------- the dashboard


def _write_custom(folder: Path, name: str, org: str, day: str, details: list, rid: str) -> None:  # type: ignore[type-arg]
    folder.mkdir(parents=True, exist_ok=True)
    failures = sum(d["failed-session-count"] for d in details)
    doc = report(
        report_id=rid,
        org=org,
        domain=name,
        day=day,
        success=1000,
        failure=failures,
        details=details,
        mx_host=(f"mx1.{name}", f"mx2.{name}"),
    )
    (folder / f"{rid}.json.gz").write_bytes(gz(doc))


async def test_failure_table_sorts_by_name_and_by_count(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    day = (FIXED_NOW - timedelta(days=1)).date().isoformat()
    _write_custom(
        tmp_path / "in",
        name,
        "Sender",
        day,
        [detail("starttls-not-supported", 100, mx=f"mx2.{name}"), detail("certificate-expired", 10, mx=f"mx1.{name}")],
        "a",
    )
    import_folder(tmp_path, tmp_path / "in")
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("#failures-result", DataTable)

        def first() -> str:
            return table.get_row_at(0)[0].plain

        assert first() == "starttls-not-supported"  # most failed sessions first
        await pilot.press("s")
        await pilot.pause()
        assert first() == "certificate-expired"  # by name
        await pilot.press("s")
        await pilot.pause()
        assert first() == "starttls-not-supported"  # by count again
        table.focus()
        table.post_message(
            DataTable.HeaderSelected(table, ColumnKey("failures"), 1, table.columns[ColumnKey("failures")].label)
        )
        await pilot.pause()
        # the same column again: fewest first
        assert first() == "certificate-expired"


async def test_enter_on_a_failure_row_shows_reason_codes_uris_and_covering_patterns(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    import_folder(tmp_path, write_reports(tmp_path / "in", name, 15, failing={13, 14}))
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("#failures-result", DataTable)
        assert table.get_row_at(0)[0].plain == "certificate-expired"
        table.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, FailureDetailsDialog)
        text = dialog.query_one("#details-text", Static).render().plain  # type: ignore[union-attr]
        assert "Failures with result type certificate-expired" in text
        assert "reason code: X509_V_ERR_CERT_HAS_EXPIRED" in text
        assert "additional information: https://tlsrpt.sender.example/info#expired" in text
        assert f"mx1.{name}: mx1.{name}" in text  # the policy pattern that covers the host
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MonitorStep)


async def test_report_strings_are_escaped_and_never_read_as_markup(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    day = (FIXED_NOW - timedelta(days=1)).date().isoformat()
    hostile = "Evil [bold red]Org[/] \x1b]0;owned\x07"
    _write_custom(tmp_path / "in", name, hostile, day, [detail("starttls-not-supported", 5, mx=f"mx1.{name}")], "h")
    import_folder(tmp_path, tmp_path / "in")
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        org = app.screen.query_one("#failures-org", DataTable).get_row_at(0)[0]
        assert org.plain == "Evil [bold red]Org[/] \\x1b]0;owned\\x07"
        assert not org.spans  # shown as typed, no style taken from it


async def test_each_unavailable_action_says_why(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MonitorStep)
        unavailable = [a for a in screen.step6_actions() if not a.enabled]
        assert {"ladder", "mx"} <= {a.action for a in unavailable}
        assert not {"import", "check", "enforce", "remove"} & {a.action for a in unavailable}
        for item in unavailable:
            button = screen.query_one(f".act-{item.action}", Button)
            assert button.disabled and button.tooltip == item.reason
            await pilot.press(item.key)
            await pilot.pause()
            assert f"{item.label}: not available now: {item.reason}" in screen_text(app)
        assert app.state.pending_change is None

        await pilot.press("e")  # a change in progress: now the others say why
        await confirm_dialog(app, pilot)
        unavailable = {a.action: a for a in screen.step6_actions() if not a.enabled}
        assert {"id_live", "enforce", "ladder", "mx", "remove"} <= set(unavailable)
        for action in ("id_live", "enforce", "remove"):
            item = unavailable[action]
            await pilot.press(item.key)
            await pilot.pause()
            assert f"{item.label}: not available now: {item.reason}" in screen_text(app)
        assert "finish the switch to enforce in progress first (or cancel it)" in unavailable["remove"].reason.lower()


async def test_import_from_the_wizard_shows_progress_then_the_counts_and_skipped_inputs(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    folder = write_reports(tmp_path / "incoming", name, 45, orgs=3, failing={44})
    (folder / "notes.txt").write_text("not a report\n")
    messages: list[object] = []
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60), message_hook=messages.append) as pilot:
        await settle(app, pilot)
        assert "TLS reports: no reports imported yet" in screen_text(app)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ImportDialog)
        field = app.screen.query_one("#import-paths", Input)
        field.value = str(tmp_path / "inc")
        await pilot.pause(0.2)  # the completion of the folder's name is offered
        await pilot.press("right")
        assert field.value == str(folder) + "/"
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.screen.query(".act-import") or not app.screen._importing)  # type: ignore[attr-defined]
        await settle(app, pilot)
        progress = [m for m in messages if isinstance(m, ImportProgress)]
        assert progress and progress[-1].imported == 135  # each commit is reported as it happens
        text = screen_text(app)
        assert "imported 135 new report(s); 0 already in the store; 1 input(s) skipped" in text
        assert f"skipped {folder / 'notes.txt'}:" in text
        # 45 days imported, testing started 20 days ago: the counts say why they differ
        assert "135 report(s) imported, 60 since testing started on 2026-11-08; the other 75 cover earlier days" in text
        assert "✗ BLOCKED" in text  # the fresh reports judge at once
        # The folder is remembered for monitor's passes (issue 16), and said so.
        assert f"monitor will import new reports from {folder.resolve()} on each pass" in " ".join(text.split())
    saved = StateStore(tmp_path).read(name).state
    assert saved is not None and saved.report_folders == [str(folder.resolve())]


async def test_import_dialog_refuses_a_missing_path_and_keeps_the_imap_password_out_of_reprs(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one("#import-paths", Input).value = str(tmp_path / "nowhere")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ImportDialog)
        assert (
            f"no such file or folder: {tmp_path / 'nowhere'}"
            in app.screen.query_one("#import-error", Static).render().plain
        )  # type: ignore[union-attr]
        password = app.screen.query_one("#imap-password", Input)
        assert password.password  # masked
    request = ImportRequest(imap=ImapRequest("imap.example.com", "me"), password="s3cret")
    assert "s3cret" not in repr(request)


async def test_step6_records_copy_and_save(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pyperclip

    copied: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", copied.append)
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        await confirm_dialog(app, pilot)
        value = app.screen.query_one("#step6-records CopyableValue", CopyableValue)
        assert value.title == "New policy file (mta-sts.txt)" and "mode: enforce" in value.value
        value.focus()
        await pilot.press("c")
        await pilot.pause()
        assert copied == [value.value]
        await pilot.press("s")
        await pilot.pause()
        target = tmp_path / "out" / "policy.txt"
        app.screen.query_one("#save-path", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text() == value.value


async def test_days_in_testing_count_whole_days_without_an_off_by_one(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 1)  # started exactly one day before the clock
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "testing 1 day (14 needed)" in text
        assert "☐ 14 days in testing  1 day so far, until 2026-12-11" in text
        assert "14 days of testing: 1 so far, 13 more" in text


async def test_the_running_line_clears_when_the_fresh_check_ends(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    import screens.checks as checks

    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    release = asyncio.Event()
    real = checks.full_check

    async def held_check(ctx, clock):  # type: ignore[no-untyped-def]
        await asyncio.wait_for(release.wait(), 20)  # a slow network: held until the test has looked
        return await real(ctx, clock)

    monkeypatch.setattr(checks, "full_check", held_check)
    app = make_app(tmp_path, name, offline=True)  # the resolver does not answer: the check fails fast
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        assert "fresh full check running" in screen_text(app)
        assert app.screen.query_one(".act-check", Button).disabled  # one check at a time
        await pilot.press("c")
        await pilot.pause()
        assert "Fresh check: not available now: a full check is running" in screen_text(app)
        release.set()
        await wait_until(pilot, lambda: "fresh full check at 12:00:00: full check:" in screen_text(app), timeout=30)
        assert "running" not in screen_text(app)
        assert not app.screen.query_one(".act-check", Button).disabled


async def test_a_one_day_chart_writes_its_figures(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 3)
    import_folder(tmp_path, write_reports(tmp_path / "in", name, 1, failing={0}))
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        chart = app.screen.query_one(DailyChart).render().plain
        assert "2026-11-27: 5.26% failed, 50 of 950 sessions" in chart
        assert "0% ──────────" in chart and "enforce threshold" in chart


async def test_imap_import_from_the_wizard_uses_the_masked_password_once_and_saves_it_nowhere(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    secret = "pa55-w0rd-never-saved"
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#imap-host", Input).value = "127.0.0.1"  # nothing listens there on 993
        dialog.query_one("#imap-user", Input).value = "reports"
        password = dialog.query_one("#imap-password", Input)
        assert password.password  # typed masked
        password.focus()
        await pilot.press(*secret)
        assert secret not in password.render_line(0).text  # never on screen
        await pilot.press("enter")
        await wait_until(pilot, lambda: "import failed:" in screen_text(app), timeout=30)
        assert "import failed: cannot connect to 127.0.0.1:993" in screen_text(app)  # the session's own words
        await settle(app, pilot)
        assert isinstance(app.screen, MonitorStep)
        assert secret not in screen_text(app)
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert secret.encode() not in file.read_bytes(), file


async def test_the_keys_of_a_change_say_why_when_no_change_is_in_progress(tmp_path: Path) -> None:
    name = "example.com"
    saved_domain(tmp_path, name, policy_for(name), 20)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        for key, said in (
            ("p", "Published: verify: not available now: no change is in progress"),
            ("z", "Cancel change: not available now: no change is in progress"),
            ("t", "Roll back: not available now: only in enforce mode, with no change in progress"),
            ("k", "Done: not available now: no MX change is waiting, and removal is not due"),
        ):
            await pilot.press(key)
            await pilot.pause()
            assert said in screen_text(app)
        assert app.state.pending_change is None


def _svg_runs(svg: str) -> list[tuple[int, int, str]]:
    """(screen row, column, text) of each <text> run of an SVG screenshot: where a viewer draws it.
    A run is drawn from its own x; a viewer may drop a run's leading blanks (librsvg does), so a
    run that starts with blanks is drawn left of where the terminal shows it."""
    runs = []
    for tag in re.finditer(r"<text ([^>]*)>([^<]*)</text>", svg):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(1)))
        line = re.search(r"-line-(\d+)\)", attrs.get("clip-path", ""))
        text = html.unescape(tag.group(2)).replace("\xa0", " ")
        if line is None or "textLength" not in attrs or not text:
            continue  # the window title
        cell = float(attrs["textLength"]) / len(text)
        runs.append((int(line.group(1)), round(float(attrs["x"]) / cell), text))
    return runs


def _blocked_15_days(root: Path) -> WizardApp:
    """15 days of reports from two senders, failures on the last 3 (days 12-14): blocked."""
    name = "example.com"
    saved_domain(root, name, policy_for(name), 20)
    import_folder(root, write_reports(root / "in", name, 15, failing={12, 13, 14}, orgs=2))
    return make_app(root, name, offline=True)


async def test_the_daily_chart_puts_each_failing_day_over_its_sessions_bar_and_its_date(tmp_path: Path) -> None:
    app = _blocked_15_days(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        chart = app.screen.query_one(DailyChart)
        lines = [strip.text for strip in chart.render_lines(chart.size.region)]
        rates = lines[1 : 1 + chart.rate_rows]
        sessions = lines[-2]  # the bottom row of the sessions bars: every day had sessions
        start = 9 + len(sessions[9:]) - len(sessions[9:].lstrip())  # 9: the labels' column
        end = len(sessions.rstrip())
        assert (end - start) % 15 == 0  # 15 days, one column each, all as wide
        bar = (end - start) // 15
        filled = [i for row in rates for i, c in enumerate(row) if i >= 9 and c != " "]
        assert min(filled) == start + 12 * bar == chart.day_column(12)  # the first failing day
        assert max(filled) + 1 == end  # the last day, on the last sessions bar
        # no line wraps: the dates under the chart are its last line, under the first and last bars
        assert len(lines) == chart.size.height
        assert lines[-1].index("2026-11-13") == start and len(lines[-1].rstrip()) == end
        threshold = lines[1 + chart.rate_rows]
        assert threshold.rstrip().endswith("enforce threshold: any failure above the line blocks")

        # The snapshot's SVG draws the red bars from their own column, not from the chart's edge.
        runs = _svg_runs(app.export_screenshot())
        row = chart.region.y + 1 + chart.rate_rows - 1  # the lowest rate row: all 3 failing days
        bars = [(col, text) for y, col, text in runs if y == row and "█" in text]
        assert bars and bars[0][0] == chart.region.x + start + 12 * bar
        assert bars[0][1].startswith("█")


@pytest.mark.parametrize("size", [(160, 50), (80, 24)])
async def test_failure_rows_are_drawn_as_soon_as_the_dashboard_shows(tmp_path: Path, size: tuple[int, int]) -> None:
    app = _blocked_15_days(tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.pause()
        table = app.screen.query_one("#failures-result", DataTable)
        assert table.row_count == 2
        app.screen.query_one("#step-body").scroll_to_widget(table, animate=False, top=True)
        await pilot.pause()
        drawn = "\n".join(text for _, _, text in _svg_runs(app.export_screenshot()))
        assert "certificate-expired" in drawn and "starttls-not-supported" in drawn


async def test_the_why_line_draws_each_key_apart_from_its_label(tmp_path: Path) -> None:
    app = _blocked_15_days(tmp_path)
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(app, pilot)
        why = app.screen.query_one("#action-why", Static)
        assert "! e Switch to enforce: not advised: blocked" in why.render().plain
        runs = _svg_runs(app.export_screenshot())
        key = next((y, col) for y, col, text in runs if text == "! e")
        # the label is its own run, one column after the key, and starts with its first letter
        assert (key[0], key[1] + 4) in {(y, col) for y, col, text in runs if text.startswith("Switch to enforce")}
