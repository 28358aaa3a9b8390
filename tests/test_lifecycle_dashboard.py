"""wizard.lifecycle.dashboard / step_state / fix_records: what step 5, step 6 and the headers show, without a screen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.screens_support import FIXED_NOW
from tests.step6_support import import_folder, policy_for, saved_domain, write_reports
from wizard.fix_records import records_in_fix
from wizard.lifecycle import dashboard
from wizard.lifecycle.hooks import Saved, evidence_for, verdict_from_last_check
from wizard.lifecycle.step_state import live_mode, step_state
from wizard.lifecycle.switch import enforce_policy, start_change
from wizard.state import StateStore

NAME = "example.com"


def _judged(root: Path):  # type: ignore[no-untyped-def]
    state = StateStore(root).read(NAME).state
    assert state is not None
    evidence, problem = evidence_for(state, root)
    saved = Saved(state, evidence, problem)
    return state, evidence, verdict_from_last_check(saved, FIXED_NOW)


def test_a_ready_verdict_ticks_every_item_and_blocked_unticks_the_failure_rate(tmp_path: Path) -> None:
    clean, failing = tmp_path / "clean", tmp_path / "failing"
    for root, bad in ((clean, set()), (failing, {14})):  # the failing one: a failure yesterday
        saved_domain(root, NAME, policy_for(NAME), 20)
        import_folder(root, write_reports(root / "in", NAME, 15, failing=bad))
    state, evidence, verdict = _judged(clean)
    assert verdict.status == "ready"
    assert all(item.done for item in dashboard.checklist(state, verdict, evidence, FIXED_NOW))

    state, evidence, verdict = _judged(failing)
    items = {i.key: i for i in dashboard.checklist(state, verdict, evidence, FIXED_NOW)}
    assert verdict.status == "blocked"
    assert not items["rate"].done and items["rate"].detail.endswith("last on 2026-11-27")
    assert items["days"].done and items["check"].done and items["reports"].done


def test_counts_say_why_the_store_and_the_window_differ(tmp_path: Path) -> None:
    saved_domain(tmp_path, NAME, policy_for(NAME), 5)
    import_folder(tmp_path, write_reports(tmp_path / "in", NAME, 10))
    _state, evidence, _verdict = _judged(tmp_path)
    line = dashboard.count_line(10, evidence)
    assert line == (
        "10 report(s) imported, 5 since testing started on 2026-11-23; "
        "the other 5 cover earlier days and do not count toward enforce"
    )
    assert dashboard.count_line(None, None) == "no reports imported yet"


def test_actions_say_why_and_a_change_in_progress_adds_its_phase_keys(tmp_path: Path) -> None:
    saved_domain(tmp_path, NAME, policy_for(NAME), 20)
    state, _evidence, verdict = _judged(tmp_path)
    by = {a.action: a for a in dashboard.actions(state, verdict, FIXED_NOW, None)}
    assert by["enforce"].enabled and by["enforce"].advice == "not advised: evidence missing"
    assert by["ladder"].reason == "only in enforce mode"
    assert by["mx"].reason == "the MX hosts are not looked up yet"
    assert dashboard.actions(state, verdict, FIXED_NOW, [f"mx1.{NAME}", f"mx2.{NAME}"])[-1].action == "remove"
    read_only = dashboard.actions(state, verdict, FIXED_NOW, None, read_only="open in another window")
    assert {a.reason for a in read_only if a.action in ("enforce", "import")} == {"read-only: open in another window"}

    start_change(state, "enforce", enforce_policy(state), FIXED_NOW)
    by = {a.action: a for a in dashboard.actions(state, verdict, FIXED_NOW, None)}
    assert by["served"].enabled and by["cancel"].enabled
    assert by["id_live"].reason == "the new id is not given yet"
    assert "in progress first" in by["enforce"].reason
    assert [r.title for r in dashboard.records(state)] == ["New policy file (mta-sts.txt)"]
    assert step_state(state, 6) == "waiting" and live_mode(state) == "testing"


def test_step_state_of_a_live_enforce_domain_is_verified(tmp_path: Path) -> None:
    saved_domain(tmp_path, NAME, policy_for(NAME, "enforce", 604800), 30)
    state = StateStore(tmp_path).read(NAME).state
    assert state is not None
    assert step_state(state, 6) == "verified" and step_state(state, 6, "blocked") == "failing"
    assert live_mode(state) == "enforce"
    assert step_state(state, 1) == "verified"


def test_patterns_covering_a_host_follow_rfc_8461_matching(tmp_path: Path) -> None:
    saved_domain(tmp_path, NAME, policy_for(NAME), 1)
    state = StateStore(tmp_path).read(NAME).state
    assert state is not None and state.policy is not None
    state.policy.mx.append("*.backup.example.com")
    assert dashboard.covering_patterns(state, "MX1.example.com.") == ["mx1.example.com"]
    assert dashboard.covering_patterns(state, "b1.backup.example.com") == ["*.backup.example.com"]
    assert dashboard.covering_patterns(state, "a.b1.backup.example.com") == []  # one label only


def test_records_in_a_fix_are_filled_from_the_saved_values_or_left_out() -> None:
    fix = "publish a TXT record at _mta-sts.x with the value 'v=STSv1; id=<new id>'"
    assert records_in_fix(fix, policy_id="20261128T120000") == ["v=STSv1; id=20261128T120000"]
    assert records_in_fix(fix) == []  # still a template
    assert records_in_fix("add 'mx: mx2.example.com' to the policy") == ["mx: mx2.example.com"]
    rua = "publish 'v=TLSRPTv1; rua=mailto:<your address>'"
    assert records_in_fix(rua, rua=["mailto:tls@example.com"]) == ["v=TLSRPTv1; rua=mailto:tls@example.com"]
    assert records_in_fix("write 'key: value' lines, see 'v=STSv1;'") == []


def test_the_days_count_whole_days(tmp_path: Path) -> None:
    saved_domain(tmp_path, NAME, policy_for(NAME), 1)
    state, evidence, verdict = _judged(tmp_path)
    first = dashboard.checklist(state, verdict, evidence, FIXED_NOW)[0]
    assert first.detail == "1 day so far, until 2026-12-11" and not first.done
    almost = FIXED_NOW + timedelta(days=12, hours=23)
    assert verdict.days_in_testing == 1
    card = dashboard.card(state, verdict, evidence)
    assert (card.days_so_far, card.days_needed) == (1, 14)
    assert almost < verdict.earliest  # type: ignore[operator]


def test_chart_points_keep_a_column_for_each_day_without_reports(tmp_path: Path) -> None:
    folder = write_reports(tmp_path / "in", NAME, 15, failing={12, 13, 14})
    for report_file in folder.glob(f"*!{NAME}!5.json.gz"):  # day 5: no sender reported
        report_file.unlink()
    saved_domain(tmp_path, NAME, policy_for(NAME), 20)
    import_folder(tmp_path, folder)
    _, evidence, _ = _judged(tmp_path)
    points = dashboard.chart_points(evidence)
    assert [p.day for p in points] == [points[0].day + timedelta(days=n) for n in range(15)]
    gap = points[5]
    assert (gap.rate_pct, gap.sessions, gap.failures) == (None, 0, 0)
    assert [i for i, p in enumerate(points) if p.rate_pct] == [12, 13, 14]
