"""The store on disk: durable saves with a backup, damaged files moved aside, newer schemas kept
read-only, migrations, and quit-and-resume at every step."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wizard.policy import PolicyFile
from wizard.state import (
    SCHEMA_VERSION,
    STEPS,
    LockedError,
    NewerSchemaError,
    ReadOnlyError,
    StateError,
    StateFormatError,
    StateStore,
    first_unverified_step,
    record_policy,
    set_step,
)
from wizard.state.migrate import migrate

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
DOMAIN = "example.com"


def saved_twice(tmp_path: Path) -> tuple[StateStore, bytes, bytes]:
    """A domain saved twice: returns the store, the first and the second file bytes."""
    store = StateStore(tmp_path)
    with store.open(DOMAIN) as session:
        record_policy(session.state, PolicyFile("testing", 86400, ("mail.example.com",)), T0)
        set_step(session.state, 1, "verified", T0)
        session.save(T0)
        first = store.path_for(DOMAIN).read_bytes()
        session.state.hosting = "nginx"
        set_step(session.state, 2, "waiting", T0 + timedelta(minutes=5), detail="upload the file")
        session.save(T0 + timedelta(minutes=5))
        second = store.path_for(DOMAIN).read_bytes()
    return store, first, second


def test_save_writes_readable_json_and_keeps_the_previous_version(tmp_path: Path) -> None:
    store, first, second = saved_twice(tmp_path)
    path = store.path_for(DOMAIN)
    assert path == tmp_path / "progress" / "example.com.json"
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "schema_version": 1,\n  "domain": "example.com",')
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data["steps"]["2"] == {
        "status": "waiting",
        "changed_at": "2026-11-28T12:05:00Z",
        "checked_at": "2026-11-28T12:05:00Z",
        "detail": "upload the file",
    }
    assert store.backup_for(DOMAIN).read_bytes() == first
    assert path.read_bytes() == second
    assert sorted(p.name for p in (tmp_path / "progress").iterdir()) == [
        "example.com.json",
        "example.com.json.bak",
        "example.com.lock",
    ]


def test_quit_and_resume_at_each_step_restores_choices_and_keeps_the_id(tmp_path: Path) -> None:
    policy = PolicyFile("testing", 604800, ("mx1.example.com", "mx2.example.com"))
    for stop_at in STEPS:
        store = StateStore(tmp_path / f"quit-at-{stop_at}")
        with store.open(DOMAIN) as session:
            state = session.state
            record_policy(state, policy, T0)
            state.hosting = "caddy"
            state.rua = ["mailto:tls@example.com"]
            state.notes = f"stopped at {stop_at}"
            for n in STEPS:
                if n < stop_at:
                    set_step(state, n, "verified", T0 + timedelta(minutes=n))
            set_step(state, stop_at, "waiting", T0 + timedelta(hours=1), detail="waiting for DNS")
            session.save(T0 + timedelta(hours=1))
            saved_id = state.policy_id
        # A new run, days later.
        with store.open(DOMAIN) as again:
            assert not again.read_only and again.messages == []
            resumed = again.state
            assert first_unverified_step(resumed) == stop_at
            assert resumed.steps[stop_at].detail == "waiting for DNS"
            assert resumed.hosting == "caddy" and resumed.rua == ["mailto:tls@example.com"]
            assert resumed.notes == f"stopped at {stop_at}"
            assert resumed.policy is not None and resumed.policy.to_policy_file() == policy
            assert record_policy(resumed, policy, T0 + timedelta(days=3)) is False
            assert resumed.policy_id == saved_id
        summary = store.list_domains()[0]
        assert (summary.domain, summary.step_reached, summary.mode) == (DOMAIN, stop_at, "testing")


def test_opening_an_unknown_domain_writes_nothing_until_saved(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    with store.open("new.example", unicode_name="new.example") as session:
        assert session.source == "none" and not session.read_only
        assert first_unverified_step(session.state) == 1
    assert not store.path_for("new.example").exists()
    assert store.list_domains() == []


def test_unicode_name_is_kept_for_display(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    with store.open("xn--bcher-kva.example", unicode_name="bücher.example") as session:
        session.save(T0)
    [summary] = store.list_domains()
    assert (summary.domain, summary.unicode_name) == ("xn--bcher-kva.example", "bücher.example")


@pytest.mark.parametrize(
    ("name", "damage", "reason"),
    [
        ("truncated", lambda b: b[: len(b) // 2], "not valid JSON, probably cut short"),
        ("empty", lambda b: b"", "the file is empty"),
        ("binary garbage", lambda b: b"\xff\xfe\x00garbage", "not UTF-8"),
        ("wrong shape", lambda b: b"[1, 2, 3]\n", "not a JSON object"),
        ("bad field", lambda b: b.replace(b'"status": "waiting"', b'"status": "almost"'), "steps.2.status"),
        ("another domain", lambda b: b.replace(b'"domain": "example.com"', b'"domain": "example.org"'), "example.org"),
    ],
)
def test_a_damaged_file_is_moved_aside_and_the_backup_used(tmp_path: Path, name: str, damage, reason: str) -> None:
    store, first, second = saved_twice(tmp_path)
    path = store.path_for(DOMAIN)
    damaged = damage(second)
    path.write_bytes(damaged)
    with store.open(DOMAIN) as session:
        [message] = session.messages
        assert "\n" not in message
        assert "damaged" in message and reason in message
        assert "continuing from the backup saved 2026-11-28 12:00 UTC" in message
        assert session.source == "backup" and not session.read_only
        assert session.state.hosting is None and first_unverified_step(session.state) == 2
    aside = list(path.parent.glob("example.com.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged
    assert aside[0].name in message
    assert path.read_bytes() == first  # the backup was put back in place
    with store.open(DOMAIN) as session:
        assert session.messages == []


def test_a_damaged_file_is_only_reported_when_reading_without_repair(tmp_path: Path) -> None:
    store, _first, second = saved_twice(tmp_path)
    store.path_for(DOMAIN).write_bytes(second[:40])
    result = store.read(DOMAIN)
    assert result.source == "backup" and result.state is not None
    assert "damaged" in result.messages[0] and "moved" not in result.messages[0]
    assert store.path_for(DOMAIN).read_bytes() == second[:40]
    assert not list(tmp_path.glob("progress/*.corrupt-*"))


def test_damaged_file_and_damaged_backup_start_afresh_without_deleting_either(tmp_path: Path) -> None:
    store, first, second = saved_twice(tmp_path)
    store.path_for(DOMAIN).write_bytes(second[:10])
    store.backup_for(DOMAIN).write_bytes(first[:10])
    with store.open(DOMAIN) as session:
        [message] = session.messages
        assert "the backup is damaged too" in message and message.endswith("starting afresh")
        assert session.source == "none" and first_unverified_step(session.state) == 1
    kept = sorted(p.read_bytes() for p in tmp_path.glob("progress/*.corrupt-*"))
    assert kept == sorted([first[:10], second[:10]])


def test_a_damaged_file_without_backup_says_so(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    with store.open(DOMAIN) as session:
        session.save(T0)
    store.path_for(DOMAIN).write_bytes(b'{"schema_version": 1, "dom')
    with store.open(DOMAIN) as session:
        assert session.messages[0].endswith("there is no backup, so starting afresh")
    assert store.list_domains() == []  # nothing readable left; the damaged file is kept aside
    assert len(list(tmp_path.glob("progress/example.com.json.corrupt-*"))) == 1


def test_stale_temp_files_of_a_killed_writer_are_cleaned_on_open(tmp_path: Path) -> None:
    store, _, second = saved_twice(tmp_path)
    stale = tmp_path / "progress" / ".example.com.json.tmp-999999-abcd"
    stale.write_bytes(second[:30])
    with store.open(DOMAIN) as session:
        assert session.messages == []
    assert not stale.exists()


def newer_file(store: StateStore) -> dict:
    data = json.loads(store.path_for(DOMAIN).read_text())
    data["schema_version"] = SCHEMA_VERSION + 5
    data["dkim_selectors"] = ["s1", "s2"]
    data["steps"]["2"]["attempts"] = 3
    data["steps"]["7"] = {"status": "verified"}
    data["policy"]["signed"] = True
    return data


def test_a_newer_schema_file_opens_read_only_and_keeps_every_field(tmp_path: Path) -> None:
    store, _, _ = saved_twice(tmp_path)
    data = newer_file(store)
    raw = json.dumps(data, indent=2).encode()
    store.path_for(DOMAIN).write_bytes(raw)
    with store.open(DOMAIN) as session:
        assert session.read_only and session.newer
        assert any("newer mta-sts-wizard" in m and "read-only" in m for m in session.messages)
        assert session.state.hosting == "nginx" and first_unverified_step(session.state) == 2
        assert session.state.to_json() == data
        with pytest.raises(ReadOnlyError, match="upgrade mta-sts-wizard"):
            session.save()
        # It does not hold the lock: a newer program in another window may still write.
        with store.open(DOMAIN) as other:
            assert other.holder_pid is None
        with pytest.raises(ReadOnlyError):
            store.write(session.state)
    assert store.path_for(DOMAIN).read_bytes() == raw
    [summary] = store.list_domains()
    assert summary.newer and summary.step_reached == 2


def test_a_newer_file_this_version_cannot_read_is_refused_not_moved(tmp_path: Path) -> None:
    store, _, _ = saved_twice(tmp_path)
    data = newer_file(store)
    data["rua"] = {"mailto": ["tls@example.com"]}  # a known field changed type in the future
    store.path_for(DOMAIN).write_text(json.dumps(data))
    with pytest.raises(NewerSchemaError, match="upgrade mta-sts-wizard"):
        store.open(DOMAIN)
    assert json.loads(store.path_for(DOMAIN).read_text()) == data
    assert not list(tmp_path.glob("progress/*.corrupt-*"))


def test_migrations_run_in_order_and_a_gap_is_an_error() -> None:
    def one_to_two(d: dict) -> dict:
        note = d.pop("note", "")
        return {**d, "notes": note}

    def two_to_three(d: dict) -> dict:
        return {**d, "rua": [d["rua"]] if isinstance(d.get("rua"), str) else d.get("rua", [])}

    old = {"schema_version": 1, "domain": "example.com", "note": "hello", "rua": "mailto:a@example.com", "x": 1}
    result = migrate(old, current=3, migrations={1: one_to_two, 2: two_to_three})
    assert result.data == {
        "schema_version": 3,
        "domain": "example.com",
        "notes": "hello",
        "rua": ["mailto:a@example.com"],
        "x": 1,
    }
    assert result.found_version == 1 and result.migrated and not result.newer
    with pytest.raises(StateFormatError, match="no migration from schema 2 to 3"):
        migrate(old, current=3, migrations={1: one_to_two})
    assert migrate({"schema_version": 4}, current=3).newer
    with pytest.raises(StateFormatError, match="schema_version is missing"):
        migrate({"domain": "example.com"})


def test_domain_names_that_are_not_a_labels_are_refused(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    for bad in ("../etc/passwd", "Example.com", "a/b.example", "bücher.example", "", "-a.example"):
        with pytest.raises(ValueError, match="A-label"):
            store.open(bad)


def test_update_rereads_under_the_lock_and_refuses_while_a_window_holds_it(tmp_path: Path) -> None:
    store, _, _ = saved_twice(tmp_path)
    state = store.update(DOMAIN, lambda s: setattr(s, "notes", "from cron"), now=T0 + timedelta(hours=1))
    assert state.hosting == "nginx" and state.notes == "from cron"
    with store.open(DOMAIN) as window:
        assert not window.read_only and window.state.notes == "from cron"
        with pytest.raises(LockedError, match=r"open in another window \(pid \d+\)"):
            store.update(DOMAIN, lambda s: None, timeout=0.1)


def test_list_domains_gives_step_and_mode_of_each(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    for domain, steps_done, mode in (("a.example", 0, None), ("b.example", 3, "testing"), ("c.example", 6, "enforce")):
        with store.open(domain) as session:
            if mode:
                record_policy(session.state, PolicyFile(mode, 604800, (f"mx.{domain}",)), T0)
            for n in range(1, steps_done + 1):
                set_step(session.state, n, "verified", T0)
            session.save(T0)
    rows = [(s.domain, s.step_reached, s.step_name, s.mode) for s in store.list_domains()]
    assert rows == [
        ("a.example", 1, "policy file", None),
        ("b.example", 4, "TLSRPT TXT", "testing"),
        ("c.example", 6, "monitor and enforce", "enforce"),
    ]


def test_an_unusable_state_dir_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("I am a file")
    store = StateStore(not_a_dir)
    with pytest.raises(StateError, match=r"^could not lock .*file/progress/example\.com\.lock: .*--state-dir\)$"):
        store.open(DOMAIN)
    assert store.list_domains() == []


def test_a_state_that_could_not_be_read_back_is_never_written(tmp_path: Path) -> None:
    store, _, second = saved_twice(tmp_path)
    with store.open(DOMAIN) as session:
        session.state.hosting = 42  # type: ignore[assignment]  # a programming error in a caller
        with pytest.raises(StateFormatError, match="hosting"):
            session.save()
    assert store.path_for(DOMAIN).read_bytes() == second
