"""Pilot tests of step 6's monitoring setup: a test notification reaches a local endpoint, the URLs
are saved for the domain, and the systemd and cron texts name this wizard's state dir."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.widgets import TextArea

from screens.monitor_setup import MonitorSetup
from screens.widgets import CopyableValue
from tests.screens_support import FIXED_NOW, make_app, settle, wait_until
from tests.test_monitor_sinks import HttpSink, http_sink
from wizard.policy import PolicyFile
from wizard.state import StateStore, record_check, record_policy, record_served, set_step

__all__ = ["http_sink"]


def _saved(root: Path, name: str) -> None:
    started = FIXED_NOW - timedelta(days=20)
    with StateStore(root).open(name) as session:
        state = session.state
        policy = PolicyFile("testing", 86400, (f"mx.{name}",))
        record_policy(state, policy, started)
        record_served(state, policy.mode, policy.max_age, state.policy_id or "", started)
        for step in range(1, 6):
            set_step(state, step, "verified", started)
        record_check(state, [], FIXED_NOW - timedelta(hours=1))
        session.save(started)


def status_text(app) -> str:  # type: ignore[no-untyped-def]
    rendered = app.screen.query_one("#monitor-status").render()
    return getattr(rendered, "plain", str(rendered))


async def test_setup_sends_a_test_notification_and_saves_the_urls(tmp_path: Path, http_sink: HttpSink) -> None:
    name = "example.com"
    _saved(tmp_path, name)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MonitorSetup)
        app.screen.query_one("#monitor-urls", TextArea).focus()
        await pilot.press(*http_sink.url)
        await pilot.click("#monitor-test")
        await wait_until(pilot, lambda: "sent; check that it arrived" in status_text(app))
        assert len(http_sink.received) == 1
        assert http_sink.received[0]["title"] == f"mta-sts-wizard: test notification for {name}"

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "saved 1 URL(s)" in status_text(app))
        assert app.state.notify_urls == [http_sink.url]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MonitorSetup)
    assert StateStore(tmp_path).read(name).state.notify_urls == [http_sink.url]  # type: ignore[union-attr]


async def test_setup_refuses_a_url_apprise_cannot_use(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await pilot.pause()
        app.screen.query_one("#monitor-urls", TextArea).focus()
        await pilot.press(*"nosuch://x")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "line 1:" in status_text(app))
        assert "apprise cannot use this nosuch:// URL" in status_text(app)
        assert app.state.notify_urls == []


async def test_setup_shows_the_timer_service_and_crontab_with_the_state_dir(tmp_path: Path) -> None:
    name = "example.com"
    _saved(tmp_path, name)
    app = make_app(tmp_path, name, offline=True)
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(app, pilot)
        await pilot.press("m")
        await pilot.pause()
        values = {v.title.split(":")[0]: v.value for v in app.screen.query(CopyableValue)}
        assert set(values) == {"systemd service", "systemd timer", "crontab line"}
        assert f"monitor {name} --state-dir {tmp_path}" in values["systemd service"]
        assert "SuccessExitStatus=1" in values["systemd service"]
        assert "OnCalendar=hourly" in values["systemd timer"]
        assert values["crontab line"].startswith("17 * * * * ")
        assert f"--state-dir {tmp_path}" in values["crontab line"]
        explained = " ".join(str(s.render()) for s in app.screen.query(".explain"))
        assert str(tmp_path) in explained and "systemctl --user enable --now" in explained
