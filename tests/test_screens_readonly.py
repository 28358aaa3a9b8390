"""Pilot test: a read-only second window takes the domain over once the first one closes."""

from __future__ import annotations

import os
from pathlib import Path

from tests.screens_support import make_app, wait_until
from tests.test_screens_flow import screen_text
from wizard.state import StateStore


async def test_read_only_window_takes_over_when_the_other_closes(tmp_path: Path) -> None:
    holder = StateStore(tmp_path).open("example.com")
    holder.save()
    try:
        app = make_app(tmp_path, "example.com", offline=True)
        app.upgrade_seconds = 0.1
        async with app.run_test(size=(100, 30)) as pilot:
            assert app.session is not None and app.session.read_only
            assert f"open in another window (pid {os.getpid()})" in screen_text(app)
            await pilot.pause(0.4)  # several tries while the other window still holds it
            assert app.session.read_only
            assert app.screen.query("#read-only-banner")

            holder.close()  # the other window quits
            await wait_until(pilot, lambda: app.session is not None and not app.session.read_only, timeout=10)
            await pilot.pause()
            assert not app.screen.query("#read-only-banner")
            assert "Read-only" not in screen_text(app)
            assert any("this window now saves your progress" in n.message for n in app._notifications)

            # It really saves now: a pattern typed and accepted reaches the disk.
            await pilot.press("a", *"mx.example.com", "enter", "escape", "n")
            await pilot.pause()
            assert app.screen.STEP == 2
        saved = StateStore(tmp_path).read("example.com").state
        assert saved is not None and saved.policy is not None and list(saved.policy.mx) == ["mx.example.com"]
    finally:
        holder.close()
