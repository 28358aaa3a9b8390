"""End to end: the real `mta-sts-wizard` console script in tmux, driven by keys, against the test world.

A new user's path: open the wizard for a domain, accept the policy, write the hosting
files, publish each thing (the test plays the DNS host and web server between key
presses), and watch steps 1-5 turn verified. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.world.https_server import Site
from wizard.state import StateStore

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """One tmux server (own socket) running one window of the given size."""

    def __init__(self, name: str, cwd: Path, command: list[str], size: tuple[int, int] = (100, 30)) -> None:
        self.base = ["tmux", "-L", name]
        env = dict(os.environ, TERM="xterm-256color")
        env.pop("TMUX", None)
        cmd = " ".join(_quote(part) for part in command)
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", "e2e", "-x", str(size[0]), "-y", str(size[1]), "-c", str(cwd), cmd],
            check=True,
            env=env,
            timeout=10,
        )

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run([*self.base, "send-keys", "-t", "e2e", key], check=True, timeout=10)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", "e2e", "-l", text], check=True, timeout=10)
        time.sleep(0.2)

    def screen(self) -> str:
        out = subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", "e2e"], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def alive(self) -> bool:
        return subprocess.run([*self.base, "has-session", "-t", "e2e"], capture_output=True, timeout=10).returncode == 0

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear within {timeout} s; the screen shows:\n{screen}")

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=10)


def _quote(part: str) -> str:
    return "'" + part.replace("'", "'\\''") + "'"


def test_keyboard_alone_takes_a_new_domain_to_green_steps_1_to_5(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    name = world.fresh("e2e")
    site = Site()
    world.domain(name, mx=[f"mx.{name}"], policy=None, https=site, sts_id=None, tlsrpt=None)
    state_dir = tmp_path / "state"
    script = Path(sys.executable).parent / "mta-sts-wizard"
    command = [str(script), name, *world.cli_args(), "--state-dir", str(state_dir), "--timeout", "3"]
    tmux = Tmux(f"mta-sts-e2e-{os.getpid()}", tmp_path, command)
    try:
        tmux.wait_for("Step 1 of 6")
        tmux.wait_for(f"covers mx.{name}")  # prefilled from DNS
        tmux.keys("n")
        tmux.wait_for("Step 2 of 6")
        tmux.keys("w")
        tmux.wait_for("written")
        policy_file = tmp_path / f"mta-sts.{name}" / ".well-known" / "mta-sts.txt"
        site.body = policy_file.read_bytes()  # the user uploads the file to the web server
        tmux.keys("p")
        tmux.wait_for(f"{name} · ✓ verified")
        tmux.keys("n")
        tmux.wait_for("Step 3 of 6")
        state = StateStore(state_dir).read(name).state
        assert state is not None and state.policy_id
        world.txt(f"_mta-sts.{name}", [f"v=STSv1; id={state.policy_id}"])  # the user adds the TXT record
        tmux.keys("p")
        tmux.wait_for(f"{name} · ✓ verified")
        tmux.keys("n")
        tmux.wait_for("Step 4 of 6")
        tmux.type(f"mailto:tlsrpt@{name}")
        tmux.keys("Enter")
        tmux.wait_for(f"rua=mailto:tlsrpt@{name}")
        world.txt(f"_smtp._tls.{name}", [f"v=TLSRPTv1; rua=mailto:tlsrpt@{name}"])
        tmux.keys("p")
        tmux.wait_for(f"{name} · ✓ verified")
        tmux.keys("n")
        tmux.wait_for("Step 5 of 6")
        screen = tmux.wait_for("full check: verified", timeout=60)
        assert "✗ 0 error(s)" in screen and "check(s) passed" in screen
        tmux.keys("o")
        overview = tmux.wait_for("Overview")
        assert overview.count("verified") >= 5, overview
        tmux.keys("q")
        deadline = time.monotonic() + 10
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not tmux.alive()
    finally:
        tmux.close()
    saved = StateStore(state_dir).read(name).state
    assert saved is not None
    assert [saved.steps[n].status for n in range(1, 6)] == ["verified"] * 5


def test_a_live_enforce_domain_with_an_empty_state_dir_opens_at_step_6(tmp_path: Path, world) -> None:  # type: ignore[no-untyped-def]
    from wizard.policy import PolicyFile

    name = world.fresh("e2elive")
    world.domain(name, policy=PolicyFile("enforce", 604800, (f"mx.{name}",)), sts_id="20250101T000000")
    state_dir = tmp_path / "state"
    script = Path(sys.executable).parent / "mta-sts-wizard"
    command = [str(script), name, *world.cli_args(), "--state-dir", str(state_dir), "--timeout", "3"]
    tmux = Tmux(f"mta-sts-e2e-live-{os.getpid()}", tmp_path, command, size=(120, 40))
    try:
        screen = tmux.wait_for("Step 6 of 6", timeout=60)
        screen = tmux.wait_for("mode enforce (served:", timeout=30)  # the verdict card: what is in force
        assert "enforced" in screen
        assert "mode: testing" not in screen
        tmux.keys("q")
        deadline = time.monotonic() + 10
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not tmux.alive()
    finally:
        tmux.close()
    proc = subprocess.run(
        [str(script), "status", name, "--json", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    [doc] = json.loads(proc.stdout)["domains"]
    assert doc["mode"] == "enforce" and doc["live_mode"] == "enforce" and doc["id"] == "20250101T000000"
