"""`monitor` from the command line, as cron runs it: notifications reach a real SMTP server and an
HTTP endpoint through apprise; each new problem once, its recovery once, nothing in between;
a pass killed mid-send, and two passes at once, still notify exactly once. Single passes run the
command line in this process (tests/cli_runner.py); the killed and concurrent ones are processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli_runner import CliResult, run_cli
from tests.test_monitor_sinks import HttpSink, MailSink, http_sink, mail_sink
from tests.world.https_server import Site
from tests.world.world import World

__all__ = ["http_sink", "mail_sink"]
ROOT = Path(__file__).resolve().parent.parent


def monitor(*args: str) -> CliResult:
    return run_cli("monitor", *args)


def test_new_problem_once_nothing_while_unchanged_recovery_once(
    world: World, tmp_path: Path, http_sink: HttpSink, mail_sink: MailSink
) -> None:
    name = world.fresh("watch")
    scenario = world.domain(name, https=Site(content_type="text/html"))
    args = [name, "--notify", http_sink.url, "--notify", mail_sink.url, *world.cli_args(), "--state-dir", str(tmp_path)]

    first = monitor(*args, "--json")
    assert first.returncode == 1, first.stderr
    entry = json.loads(first.stdout)["domains"][0]
    assert [f["code"] for f in entry["new"]] == ["policy-content-type"]
    assert entry["ok"] is False and [f["code"] for f in entry["open"]] == ["policy-content-type"]
    assert sorted(entry["notified"]) == ["json", "mailto"]
    assert len(http_sink.received) == 1 and len(mail_sink.messages) == 1
    posted = http_sink.received[0]
    assert name in posted["title"] and posted["type"] == "failure"
    assert "NEW (since " in posted["message"] and "policy-content-type" in posted["message"]
    fix = entry["new"][0]["fix"]
    assert f"Fix: {fix}" in posted["message"]  # the same fix text as the finding
    subject, body = mail_sink.messages[0]
    assert name in subject and f"Fix: {fix}" in body

    second = monitor(*args)
    assert second.returncode == 1
    assert "open since" in second.stdout and "NEW" not in second.stdout
    assert len(http_sink.received) == 1 and len(mail_sink.messages) == 1

    site = scenario.https[0].sites[scenario.policy_host]
    site.content_type = "text/plain"
    third = monitor(*args, "--json")
    assert third.returncode == 0, third.stdout
    entry = json.loads(third.stdout)["domains"][0]
    assert entry["ok"] is True and entry["open"] == [] and entry["new"] == []
    assert [f["code"] for f in entry["recovered"]] == ["policy-content-type"]
    assert len(http_sink.received) == 2 and len(mail_sink.messages) == 2
    assert "RECOVERED" in http_sink.received[1]["message"] and http_sink.received[1]["type"] == "success"
    assert "1 recovered" in mail_sink.messages[1][0]

    fourth = monitor(*args)
    assert fourth.returncode == 0 and f"{name}: OK" in fourth.stdout
    assert len(http_sink.received) == 2 and len(mail_sink.messages) == 2


def test_a_pass_killed_mid_send_notifies_exactly_once(world: World, tmp_path: Path, http_sink: HttpSink) -> None:
    name = world.fresh("killed")
    world.domain(name, tlsrpt=None, sts_txt=["v=STSv1; id=bad id"])
    args = [name, "--notify", http_sink.url, *world.cli_args(), "--state-dir", str(tmp_path), "--no-smtp"]
    http_sink.hold_next = True
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "monitor", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert http_sink.holding.wait(60), "the pass never sent its message"
        os.kill(proc.pid, signal.SIGKILL)  # killed while the endpoint has not acknowledged it
    finally:
        proc.wait(30)
        http_sink.release.set()
    assert http_sink.received == [] and len(http_sink.held) == 1
    record = json.loads((tmp_path / "monitor" / f"{name}.json").read_text())
    assert len(record["outbox"]) == 1  # written as pending before sending

    after = monitor(*args, "--json")
    assert after.returncode == 1
    assert json.loads(after.stdout)["domains"][0]["new"] == []  # the problem is not new again...
    assert len(http_sink.received) == 1  # ...but the pending message went out, once
    assert "sts-txt-invalid" in http_sink.received[0]["message"]
    again = monitor(*args)
    assert again.returncode == 1 and len(http_sink.received) == 1
    assert json.loads((tmp_path / "monitor" / f"{name}.json").read_text())["outbox"] == []


def test_two_passes_at_once_notify_once(world: World, tmp_path: Path, http_sink: HttpSink) -> None:
    name = world.fresh("twice")
    world.domain(name, https=Site(status=404, body=b"not here"))
    args = [name, "--notify", http_sink.url, *world.cli_args(), "--state-dir", str(tmp_path), "--no-smtp"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "wizard", "monitor", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    deadline = time.monotonic() + 120
    codes = [p.wait(max(1.0, deadline - time.monotonic())) for p in procs]
    for p in procs:
        assert p.stdout is not None
        p.stdout.close()
    assert codes == [1, 1]
    assert len(http_sink.received) == 1
    assert "policy-http-status" in http_sink.received[0]["message"]


def test_bad_notify_url_is_a_usage_error(tmp_path: Path) -> None:
    proc = monitor("example.com", "--notify", "nosuchservice://x", "--state-dir", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--notify nosuchservice://" in proc.stderr


def test_no_resolver_means_the_pass_could_not_run(world: World, tmp_path: Path) -> None:
    silent = world.silent_dns()
    proc = monitor(
        "example.com", "--nameserver", silent.address, "--timeout", "1", "--state-dir", str(tmp_path), "--no-smtp"
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "could not run" in proc.stderr


def test_served_policy_drifting_from_the_saved_one_is_notified(
    world: World, tmp_path: Path, http_sink: HttpSink
) -> None:
    from datetime import UTC, datetime, timedelta

    from wizard.policy import PolicyFile
    from wizard.state import StateStore, record_policy, record_served

    name = world.fresh("saveddrift")
    saved = PolicyFile("testing", 604800, (f"mx.{name}",))
    started = datetime.now(UTC) - timedelta(days=3)
    with StateStore(tmp_path).open(name) as session:
        record_policy(session.state, saved, started)
        record_served(session.state, "testing", 604800, session.state.policy_id or "", started)
        session.state.notify_urls = [http_sink.url]  # saved in step 6: no --notify needed
        session.save(started)
        policy_id = session.state.policy_id
    world.domain(name, policy=PolicyFile("testing", 86400, (f"mx.{name}",)), sts_id=policy_id)
    proc = monitor(name, "--json", *world.cli_args(), "--state-dir", str(tmp_path), "--no-smtp")
    entry = json.loads(proc.stdout)["domains"][0]
    assert {f["code"] for f in entry["new"]} == {"policy-differs-from-saved", "sts-id-unchanged"}
    assert all(f["what"].startswith("drift: ") for f in entry["new"])
    assert proc.returncode == 1 and entry["notified"] == ["json"]
    assert "max_age 86400" in http_sink.received[0]["message"]
