"""Pilot tests of step 5 as a checklist: errors first, Enter opens the fix with the record to copy."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from screens.checks import Attempt
from screens.widgets import CopyableValue
from tests.screens_support import FIXED_NOW, make_app, settle
from tests.step6_support import policy_for, saved_domain
from wizard.findings import finding
from wizard.state import StateStore, set_step

NAME = "example.com"


def _findings() -> list:  # type: ignore[type-arg]
    return [
        finding("policy-mode-testing", "the policy is in testing mode", "watch the reports", subject="x"),
        finding(
            "sts-txt-missing",
            "there is no _mta-sts TXT record \x1b[31m",
            "publish a TXT record at _mta-sts.example.com with the value 'v=STSv1; id=<new id>'",
            subject="_mta-sts.example.com",
        ),
        finding("mx-tls-expiring", "expires in 9 days", "renew it", subject="mx2.example.com", address="192.0.2.25"),
    ]


async def test_step5_rows_put_errors_first_and_enter_offers_the_record_to_copy(tmp_path: Path) -> None:
    policy_id = saved_domain(tmp_path, NAME, policy_for(NAME), 3)
    with StateStore(tmp_path).open(NAME) as session:
        set_step(session.state, 5, "waiting", FIXED_NOW)
        session.save(FIXED_NOW)
    app = make_app(tmp_path, NAME, offline=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.attempts[5] = [Attempt(5, NAME, FIXED_NOW, True, _findings(), [], checks=[("mx-records", 1, "pass", 3)])]
        app.broadcast(5)
        await pilot.pause()
        table = app.screen.query_one("#check-table", DataTable)
        results = [table.get_row_at(i)[3].plain for i in range(table.row_count)]
        assert results == ["✗ error", "! warning", "i info", "✓ ok"]
        status = app.screen.query_one("#check-status", Static).render().plain  # type: ignore[union-attr]
        assert "✗ 1 error(s)  ·  ! 1 warning(s)  ·  i 1 info  ·  ✓ 1 check(s) passed" in status
        assert "to fix first: sts-txt-missing" in status

        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen.query_one(".check-finding", Static).render().plain  # type: ignore[union-attr]
        assert "there is no _mta-sts TXT record \\x1b[31m" in detail  # received text escaped
        assert "fix: publish a TXT record at _mta-sts.example.com" in detail
        record = app.screen.query_one("#check-detail CopyableValue", CopyableValue)
        assert record.value == f"v=STSv1; id={policy_id}"  # the placeholder filled from the saved id
        record.focus()
        await pilot.press("s")
        await pilot.pause()
        target = tmp_path / "txt.txt"
        app.screen.query_one("#save-path").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text() == record.value
