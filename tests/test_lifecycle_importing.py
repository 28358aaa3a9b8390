"""Where step 6 imported reports from is remembered for `monitor` (issue 16), never a password."""

from __future__ import annotations

from pathlib import Path

from wizard.lifecycle.importing import ImapRequest, remember_source
from wizard.state.model import DomainState


def test_folders_are_remembered_once_as_absolute_paths_and_files_are_not(tmp_path: Path) -> None:
    state = DomainState(domain="example.com")
    folder = tmp_path / "reports"
    folder.mkdir()
    (tmp_path / "one.json").write_text("{}")
    lines = remember_source(state, [str(folder), str(tmp_path / "one.json")], None)
    assert state.report_folders == [str(folder.resolve())]
    assert lines == [f"monitor will import new reports from {folder.resolve()} on each pass"]
    assert remember_source(state, [str(folder)], None) == [] and state.report_folders == [str(folder.resolve())]


def test_the_imap_mailbox_is_remembered_without_its_password() -> None:
    state = DomainState(domain="example.com")
    lines = remember_source(state, [], ImapRequest(" imap.example.com ", "reports", "TLSRPT", 993))
    assert state.report_imap == {"host": "imap.example.com", "user": "reports", "port": 993, "folder": "TLSRPT"}
    assert "MTA_STS_WIZARD_IMAP_PASSWORD" in lines[0]
    assert remember_source(state, [], ImapRequest("imap.example.com", "reports", "TLSRPT", 993)) == []
