"""What monitoring remembers per domain between passes, on disk with saved progress's durability.

Layout, inside the state dir:

    monitor/<a-label>.json    the record: open problems, baselines, the outbox of messages to send
    monitor/<a-label>.lock    one pass at a time per domain (wizard.state.lock.DomainLock)

The record is written like saved progress (wizard.state.store.durable_write: temp file, fsync,
atomic rename, folder fsync), so a pass killed at any instant leaves the old or the new record.
A pass holds the domain's lock from reading the record until its messages are sent and marked,
so two passes at once take turns and the second sees what the first notified.

Exactly-once delivery, as far as the receiver's acknowledgement reaches: the new record, holding
the message in `outbox` as pending, is written before anything is sent; each target is removed
from the entry as soon as it acknowledged, and the entry when no target is left. A pass killed
before a target acknowledged leaves the entry pending, and the next pass sends it first, so a
recovery is never lost; a target that acknowledged is never sent the entry again. Targets are
stored as SHA-256 digests of their URLs (URLs hold tokens and passwords), and matched against the
URLs the next pass knows (its --notify options and the domain's saved URLs).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from wizard.findings import Finding
from wizard.state.files import FileTooLargeError, NotRegularFileError, private_dir, read_bounded
from wizard.state.lock import DomainLock
from wizard.state.model import time_from_json, time_to_json
from wizard.state.store import MAX_STATE_BYTES, check_name, durable_write

MONITOR_DIR = "monitor"
RECORD_VERSION = 1
#: An entry that could not be delivered after this many passes is dropped (and said so).
MAX_ATTEMPTS = 48
#: What a record that cannot be read as one raises: moved aside, and the pass starts afresh.
_DAMAGED = (NotRegularFileError, FileTooLargeError, ValueError, KeyError, TypeError, AssertionError, RecursionError)
#: TXT ids remembered with the policy first served under them (for drift without saved progress).
MAX_IDS = 20


class RecordError(Exception):
    """The record cannot be read or written: one line for the user."""


def url_digest(url: str) -> str:
    """How a target is named on disk: never the URL itself, which may hold a token or password."""
    return hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class OpenProblem:
    """A problem notified (or recorded) as open, with when it was first seen."""

    finding: Finding
    what: str
    since: datetime
    urgent: bool = False
    level: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "finding": self.finding.to_json(),
            "what": self.what,
            "since": time_to_json(self.since),
            "urgent": self.urgent,
            "level": self.level,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OpenProblem:
        f = data["finding"]
        finding = Finding(
            code=str(f["code"]),
            severity=f["severity"],
            step=int(f["step"]),
            message=str(f.get("message", "")),
            fix=str(f.get("fix", "")),
            subject=str(f.get("subject", "")),
            address=f.get("address"),
            line=f.get("line"),
        )
        since = time_from_json(data["since"], "since")
        assert since is not None
        return cls(finding, str(data.get("what", "")), since, bool(data.get("urgent")), int(data.get("level", 0)))


@dataclass
class OutboxEntry:
    """One message to deliver: its text, and the targets (URL digests) that have not acknowledged it."""

    id: str
    created_at: datetime
    title: str
    body: str
    kind: str
    """apprise's notify type: failure, warning, success or info."""
    targets: list[str]
    attempts: int = 0
    last_error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": time_to_json(self.created_at),
            "title": self.title,
            "body": self.body,
            "kind": self.kind,
            "targets": list(self.targets),
            "attempts": self.attempts,
            "last_error": self.last_error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutboxEntry:
        created = time_from_json(data["created_at"], "created_at")
        assert created is not None
        return cls(
            id=str(data["id"]),
            created_at=created,
            title=str(data["title"]),
            body=str(data["body"]),
            kind=str(data.get("kind", "info")),
            targets=[str(t) for t in data.get("targets", [])],
            attempts=int(data.get("attempts", 0)),
            last_error=str(data.get("last_error", "")),
        )


@dataclass
class MonitorRecord:
    """Everything one domain's monitoring keeps between passes."""

    domain: str
    last_pass_at: datetime | None = None
    open: dict[str, OpenProblem] = field(default_factory=dict)
    """Problems open after the last pass, by key."""
    mx_hosts: list[str] | None = None
    """The MX set last accepted (the policy covered it); None before the first pass saw one."""
    ids: dict[str, str] = field(default_factory=dict)
    """TXT id -> the policy text first served under it."""
    good_steps: list[int] = field(default_factory=list)
    """Steps seen passing (or saved as verified): a warning there later is a regression."""
    outbox: list[OutboxEntry] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": RECORD_VERSION,
            "domain": self.domain,
            "last_pass_at": time_to_json(self.last_pass_at),
            "open": {k: p.to_json() for k, p in sorted(self.open.items())},
            "mx_hosts": self.mx_hosts,
            "ids": dict(list(self.ids.items())[-MAX_IDS:]),
            "good_steps": sorted(set(self.good_steps)),
            "outbox": [e.to_json() for e in self.outbox],
        }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], domain: str) -> MonitorRecord:
        known = {"version", "domain", "last_pass_at", "open", "mx_hosts", "ids", "good_steps", "outbox"}
        mx = data.get("mx_hosts")
        return cls(
            domain=domain,
            last_pass_at=time_from_json(data.get("last_pass_at"), "last_pass_at"),
            open={str(k): OpenProblem.from_json(v) for k, v in dict(data.get("open") or {}).items()},
            mx_hosts=[str(h) for h in mx] if isinstance(mx, list) else None,
            ids={str(k): str(v) for k, v in dict(data.get("ids") or {}).items()},
            good_steps=[int(s) for s in data.get("good_steps") or []],
            outbox=[OutboxEntry.from_json(e) for e in data.get("outbox") or []],
            extra={k: v for k, v in data.items() if k not in known},
        )


class RecordFile:
    """One domain's record file and lock under a state dir."""

    def __init__(self, root: Path | str, domain: str) -> None:
        self.domain = check_name(domain)
        self.dir = Path(root) / MONITOR_DIR
        self.path = self.dir / f"{domain}.json"
        self.lock = DomainLock(self.dir / f"{domain}.lock")

    def acquire(self, timeout: float) -> bool:
        """Take the domain's monitoring lock, waiting at most `timeout` seconds (blocking: call in a thread)."""
        try:
            private_dir(self.dir)
            return self.lock.acquire(timeout)
        except OSError as exc:
            raise RecordError(f"could not lock {self.lock.path}: {exc.strerror or exc}; check the state dir") from None

    def release(self) -> None:
        self.lock.release()

    def read(self) -> MonitorRecord:
        """The record, or a fresh one. A damaged record is moved aside (the next pass starts afresh):
        one that does not parse, and one that is no regular file or too large to be a record, read
        bounded as saved progress is (a FIFO would block the pass, `/dev/zero` exhaust memory)."""
        try:
            data = json.loads(read_bounded(self.path, MAX_STATE_BYTES).decode("utf-8"))
            if not isinstance(data, dict) or data.get("domain") != self.domain:
                raise ValueError("not a monitoring record of this domain")
            return MonitorRecord.from_json(data, self.domain)
        except FileNotFoundError:
            return MonitorRecord(self.domain)
        except _DAMAGED:
            stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(f"{self.path.name}.corrupt-{stamp}"))
            return MonitorRecord(self.domain)
        except OSError as exc:
            raise RecordError(f"could not read {self.path}: {exc.strerror or exc}; check its permissions") from None

    def write(self, record: MonitorRecord) -> None:
        """Save durably (the caller holds the lock)."""
        data = (json.dumps(record.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            private_dir(self.dir)
            durable_write(self.path, data)
        except OSError as exc:
            raise RecordError(
                f"could not save {self.path}: {exc.strerror or exc}; check the folder's permissions and free space"
            ) from None
