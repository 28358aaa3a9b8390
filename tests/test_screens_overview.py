"""Pilot test: the overview's Detail column uses the table's width (100x30 and 80x24)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from screens.overview import OverviewScreen
from tests.screens_support import FIXED_NOW, make_app
from wizard.policy import PolicyFile
from wizard.state import StateStore, record_policy, set_step


def _table_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    table = app.screen.query_one("#steps-table", DataTable)
    return [table.render_line(y).text for y in range(table.size.height)]


@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
async def test_overview_detail_column_is_not_cut(tmp_path: Path, size: tuple[int, int]) -> None:
    detail = "testing, 2 MX"
    with StateStore(tmp_path).open("example.com") as session:
        state = session.state
        record_policy(state, PolicyFile(mode="testing", max_age=86400, mx=("mx1.example.com",)), FIXED_NOW)
        set_step(state, 1, "verified", FIXED_NOW, detail=detail)
        set_step(state, 2, "waiting", FIXED_NOW, detail="publish the file, then check it (p)")
        session.save(FIXED_NOW)
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=size) as pilot:
        app.show_overview()
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        lines = _table_lines(app)
        assert any(detail in line for line in lines), lines
        # The long detail fits on one line at 100 columns and wraps (never cut) at 80.
        joined = " ".join(line.strip() for line in lines)
        assert "→ next. publish the file" in joined and "then check it (p)" in joined, lines
        if size[0] >= 100:
            assert any("→ next. publish the file, then check it (p)" in line for line in lines), lines
        assert all(len(line.rstrip()) <= size[0] for line in lines)
        assert any("monitor & enforce" in line for line in lines)

        await pilot.resize_terminal(size[0] + 20, size[1])  # wider terminal: still the full text
        await pilot.pause()
        await pilot.pause()
        assert any("→ next. publish the file, then check it (p)" in line for line in _table_lines(app))


async def test_overview_and_headers_show_the_live_mode_and_each_steps_real_state(tmp_path: Path) -> None:
    from tests.step6_support import policy_for, saved_domain

    saved_domain(tmp_path, "example.com", policy_for("example.com", "enforce", 604800), 30)
    app = make_app(tmp_path, "example.com", offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        header = app.screen.query_one("#step-header").render().plain  # type: ignore[attr-defined]
        assert header.startswith("Step 6 of 6") and "✓ verified · live: enforce" in header
        assert "not-started" not in header and "not started" not in header
        app.show_overview()
        await pilot.pause()
        await pilot.pause()
        lines = _table_lines(app)
        row6 = next(line for line in lines if "monitor & enforce" in line)
        assert "✓ enforced" in row6 and "11:00" in row6  # the badge and the time of the last check
        assert all("✓ verified" in line for line in lines if line.strip()[:1] in "12345" and "│" not in line)
        title = app.screen.query_one("#step-header").render().plain  # type: ignore[attr-defined]
        assert "live: enforce" in title
