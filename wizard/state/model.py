"""What the wizard remembers about one domain, as plain dataclasses.

People set MTA-STS up over days or weeks, so everything a later run needs to resume
(and step 6 needs to change or remove a policy safely) lives here. Each class turns
into JSON with `to_json()` and back with `from_json()`; keys this version does not
know (written by a newer version) are kept in `extra` and written back unchanged,
so an older program never drops a newer program's data.

Times are timezone-aware UTC `datetime`s in memory and `2026-11-28T12:00:00Z`
strings on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

if TYPE_CHECKING:
    from wizard.findings import Finding

#: The saved-file format this program writes (see wizard/state/migrate.py).
SCHEMA_VERSION = 1

StepStatus = Literal["not-started", "waiting", "verified", "warning", "failed"]
STEP_STATUSES: tuple[str, ...] = get_args(StepStatus)
#: Statuses that count as "done" when resuming: a step verified with warnings is
#: still finished (e.g. TLSRPT is optional); "waiting" means waiting for the user.
DONE_STATUSES = frozenset({"verified", "warning"})

Mode = Literal["enforce", "testing", "none"]
MODES: tuple[str, ...] = get_args(Mode)

#: The six steps of the wizard, by number (wizard.findings uses the same numbers).
STEP_NAMES: dict[int, str] = {
    1: "policy file",
    2: "hosting",
    3: "_mta-sts TXT",
    4: "TLSRPT TXT",
    5: "verify everything",
    6: "monitor and enforce",
}
STEPS: tuple[int, ...] = tuple(STEP_NAMES)
#: Where DomainState.extra keeps entries of "steps" this version does not know.
STEPS_EXTRA = "__steps_extra__"


class StateFormatError(ValueError):
    """A saved file has the wrong shape (a field of the wrong type, a bad time, ...)."""


class PolicyLike(Protocol):
    """What the state needs from `wizard.policy.PolicyFile` (kept structural so the
    state package imports nothing from the parsers)."""

    @property
    def mode(self) -> str: ...
    @property
    def max_age(self) -> int: ...
    @property
    def mx(self) -> tuple[str, ...]: ...
    @property
    def version(self) -> str: ...
    @property
    def extensions(self) -> tuple[tuple[str, str], ...]: ...
    def to_text(self, newline: str = "\n") -> str: ...


# ---------------------------------------------------------------- JSON helpers


def utc_now() -> datetime:
    """The current time, UTC, to the second (saved files do not need microseconds)."""
    return datetime.now(UTC).replace(microsecond=0)


def as_utc(moment: datetime) -> datetime:
    """Normalise a time to aware UTC; a naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def time_to_json(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond:06d}Z" if moment.microsecond else "Z")


def time_from_json(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise StateFormatError(f"{where}: expected a time string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise StateFormatError(f"{where}: {value!r} is not a time like 2026-11-28T12:00:00Z") from None
    return as_utc(parsed)


def _req_time(value: Any, where: str) -> datetime:
    moment = time_from_json(value, where)
    if moment is None:
        raise StateFormatError(f"{where}: a time is required")
    return moment


def _str(value: Any, where: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise StateFormatError(f"{where}: expected text, got {type(value).__name__}")
    return value


def _int(value: Any, where: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise StateFormatError(f"{where}: expected a whole number, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise StateFormatError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StateFormatError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _str_list(value: Any, where: str) -> list[str]:
    return [_str(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where))]


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> Any:
    if value not in allowed:
        raise StateFormatError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _extra(data: dict[str, Any], known: set[str]) -> dict[str, Any]:
    """Keys a newer version wrote that this one does not know: kept verbatim."""
    return {k: v for k, v in data.items() if k not in known}


def _with_extra(out: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        out.setdefault(key, value)
    return out


# ---------------------------------------------------------------- the records


@dataclass
class StepRecord:
    """Where one wizard step stands."""

    status: StepStatus = "not-started"
    """not-started, waiting (for the user: DNS to publish, a file to upload), verified,
    warning (verified with warnings; counts as done) or failed."""
    changed_at: datetime | None = None
    """When `status` last changed (None while not-started)."""
    checked_at: datetime | None = None
    """When the step was last checked or confirmed, even if the status stayed the same."""
    detail: str = ""
    """One line for the user about why the step is in this status (e.g. what it waits for)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys written by a newer version, kept on round trip."""

    _KEYS = frozenset({"status", "changed_at", "checked_at", "detail"})

    def to_json(self) -> dict[str, Any]:
        out = {
            "status": self.status,
            "changed_at": time_to_json(self.changed_at),
            "checked_at": time_to_json(self.checked_at),
            "detail": self.detail,
        }
        return _with_extra(out, self.extra)

    @classmethod
    def from_json(cls, data: Any, where: str) -> StepRecord:
        d = _dict(data, where)
        return cls(
            status=_choice(d.get("status", "not-started"), STEP_STATUSES, f"{where}.status"),
            changed_at=time_from_json(d.get("changed_at"), f"{where}.changed_at"),
            checked_at=time_from_json(d.get("checked_at"), f"{where}.checked_at"),
            detail=_str(d.get("detail", ""), f"{where}.detail"),
            extra=_extra(d, set(cls._KEYS)),
        )


@dataclass
class SavedPolicy:
    """The policy file exactly as the wizard generated it (step 1)."""

    text: str
    """The file's text, byte for byte what should be served at /.well-known/mta-sts.txt."""
    mode: Mode
    """enforce, testing or none."""
    max_age: int
    """Seconds senders may cache the policy (0..31557600)."""
    mx: list[str]
    """The mx patterns, in file order (`host` or `*.suffix`, A-labels)."""
    version: str = "STSv1"
    """The policy's version field (always STSv1 today)."""
    extensions: list[list[str]] = field(default_factory=list)
    """Extension key/value pairs the policy carries, in order, as [key, value]."""
    generated_at: datetime | None = None
    """When this text was generated."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys written by a newer version, kept on round trip."""

    _KEYS = frozenset({"text", "mode", "max_age", "mx", "version", "extensions", "generated_at"})

    @classmethod
    def from_policy(cls, policy: PolicyLike, now: datetime | None = None) -> SavedPolicy:
        """Capture a `wizard.policy.PolicyFile` (text and fields)."""
        return cls(
            text=policy.to_text(),
            mode=_choice(policy.mode, MODES, "policy.mode"),
            max_age=int(policy.max_age),
            mx=list(policy.mx),
            version=getattr(policy, "version", "STSv1"),
            extensions=[[str(k), str(v)] for k, v in getattr(policy, "extensions", ())],
            generated_at=as_utc(now) if now else utc_now(),
        )

    def to_policy_file(self) -> Any:
        """Rebuild the `wizard.policy.PolicyFile` this was saved from (to restore step 1's choices)."""
        from wizard.policy import PolicyFile

        return PolicyFile(
            mode=self.mode,
            max_age=self.max_age,
            mx=tuple(self.mx),
            version=self.version,
            extensions=tuple((k, v) for k, v in self.extensions),
        )

    def to_json(self) -> dict[str, Any]:
        out = {
            "text": self.text,
            "mode": self.mode,
            "max_age": self.max_age,
            "mx": list(self.mx),
            "version": self.version,
            "extensions": [list(p) for p in self.extensions],
            "generated_at": time_to_json(self.generated_at),
        }
        return _with_extra(out, self.extra)

    @classmethod
    def from_json(cls, data: Any, where: str) -> SavedPolicy:
        d = _dict(data, where)
        extensions = []
        for i, pair in enumerate(_list(d.get("extensions"), f"{where}.extensions")):
            pair = _str_list(pair, f"{where}.extensions[{i}]")
            if len(pair) != 2:
                raise StateFormatError(f"{where}.extensions[{i}]: expected [key, value]")
            extensions.append(pair)
        return cls(
            text=_str(d.get("text"), f"{where}.text"),
            mode=_choice(d.get("mode"), MODES, f"{where}.mode"),
            max_age=_int(d.get("max_age"), f"{where}.max_age"),
            mx=_str_list(d.get("mx"), f"{where}.mx"),
            version=_str(d.get("version", "STSv1"), f"{where}.version"),
            extensions=extensions,
            generated_at=time_from_json(d.get("generated_at"), f"{where}.generated_at"),
            extra=_extra(d, set(cls._KEYS)),
        )


@dataclass
class PolicyIdEntry:
    """One `id=` value the wizard has generated for the `_mta-sts` TXT record."""

    id: str
    """The id (1-32 alphanumerics, RFC 8461 §3.1)."""
    created_at: datetime
    """When the id was generated (because the policy text changed)."""
    retired_at: datetime | None = None
    """When a newer id replaced it; None for the current id."""
    mode: str = ""
    """The policy mode this id was generated for."""
    max_age: int | None = None
    """The policy max_age this id was generated for."""
    policy_text: str = ""
    """The policy text this id stands for, so an old body can be told apart from the current one."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys written by a newer version, kept on round trip."""

    _KEYS = frozenset({"id", "created_at", "retired_at", "mode", "max_age", "policy_text"})

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "created_at": time_to_json(self.created_at),
            "retired_at": time_to_json(self.retired_at),
            "mode": self.mode,
            "max_age": self.max_age,
            "policy_text": self.policy_text,
        }
        return _with_extra(out, self.extra)

    @classmethod
    def from_json(cls, data: Any, where: str) -> PolicyIdEntry:
        d = _dict(data, where)
        return cls(
            id=_str(d.get("id"), f"{where}.id"),
            created_at=_req_time(d.get("created_at"), f"{where}.created_at"),
            retired_at=time_from_json(d.get("retired_at"), f"{where}.retired_at"),
            mode=_str(d.get("mode", ""), f"{where}.mode"),
            max_age=_int(d.get("max_age"), f"{where}.max_age", optional=True),
            policy_text=_str(d.get("policy_text", ""), f"{where}.policy_text"),
            extra=_extra(d, set(cls._KEYS)),
        )


@dataclass
class ServedPolicy:
    """A stretch of time during which one policy was seen being served.

    Step 6 needs this for safe removal (RFC 8461 §8.3): senders may hold any policy
    they fetched for its max_age after they last fetched it.
    """

    mode: Mode
    """The served policy's mode."""
    max_age: int
    """The served policy's max_age, in seconds."""
    policy_id: str
    """The TXT id it was served under."""
    first_served_at: datetime
    """When it was first recorded as served."""
    last_served_at: datetime
    """The last time it was recorded as served, or when a different policy replaced it."""
    current: bool = True
    """True while this is the policy being served (only the last entry can be current)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys written by a newer version, kept on round trip."""

    _KEYS = frozenset({"mode", "max_age", "policy_id", "first_served_at", "last_served_at", "current"})

    def to_json(self) -> dict[str, Any]:
        out = {
            "mode": self.mode,
            "max_age": self.max_age,
            "policy_id": self.policy_id,
            "first_served_at": time_to_json(self.first_served_at),
            "last_served_at": time_to_json(self.last_served_at),
            "current": self.current,
        }
        return _with_extra(out, self.extra)

    @classmethod
    def from_json(cls, data: Any, where: str) -> ServedPolicy:
        d = _dict(data, where)
        current = d.get("current", False)
        if not isinstance(current, bool):
            raise StateFormatError(f"{where}.current: expected true or false")
        return cls(
            mode=_choice(d.get("mode"), MODES, f"{where}.mode"),
            max_age=_int(d.get("max_age"), f"{where}.max_age"),
            policy_id=_str(d.get("policy_id"), f"{where}.policy_id"),
            first_served_at=_req_time(d.get("first_served_at"), f"{where}.first_served_at"),
            last_served_at=_req_time(d.get("last_served_at"), f"{where}.last_served_at"),
            current=current,
            extra=_extra(d, set(cls._KEYS)),
        )


@dataclass
class ModeHistory:
    """How the domain moved between modes, and every max_age ever served."""

    testing_started_at: datetime | None = None
    """When a testing policy was last switched on (the start of the current testing period)."""
    enforce_started_at: datetime | None = None
    """When enforce was last switched on."""
    none_started_at: datetime | None = None
    """When mode none was last switched on (the start of a removal)."""
    served: list[ServedPolicy] = field(default_factory=list)
    """Every policy seen served, oldest first; consecutive sightings of the same policy share one entry."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys written by a newer version, kept on round trip."""

    _KEYS = frozenset({"testing_started_at", "enforce_started_at", "none_started_at", "served"})

    @property
    def current(self) -> ServedPolicy | None:
        """The policy being served now, as far as the wizard knows."""
        if self.served and self.served[-1].current:
            return self.served[-1]
        return None

    def to_json(self) -> dict[str, Any]:
        out = {
            "testing_started_at": time_to_json(self.testing_started_at),
            "enforce_started_at": time_to_json(self.enforce_started_at),
            "none_started_at": time_to_json(self.none_started_at),
            "served": [s.to_json() for s in self.served],
        }
        return _with_extra(out, self.extra)

    @classmethod
    def from_json(cls, data: Any, where: str) -> ModeHistory:
        d = _dict(data, where)
        return cls(
            testing_started_at=time_from_json(d.get("testing_started_at"), f"{where}.testing_started_at"),
            enforce_started_at=time_from_json(d.get("enforce_started_at"), f"{where}.enforce_started_at"),
            none_started_at=time_from_json(d.get("none_started_at"), f"{where}.none_started_at"),
            served=[
                ServedPolicy.from_json(s, f"{where}.served[{i}]")
                for i, s in enumerate(_list(d.get("served"), f"{where}.served"))
            ],
            extra=_extra(d, set(cls._KEYS)),
        )


@dataclass
class SavedFinding:
    """One finding of the last check, reduced to what resuming and re-verifying need."""

    code: str
    """The CONTRACT.md finding code."""
    severity: str
    """error, warning or info (as the contract fixes it for the code)."""
    step: int
    """The wizard step the finding belongs to."""
    subject: str = ""
    """The DNS name, URL, MX host or file concerned."""
    address: str | None = None
    """The resolved address concerned, when there was one."""
    message: str = ""
    """The message the user saw."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys written by a newer version, kept on round trip."""

    _KEYS = frozenset({"code", "severity", "step", "subject", "address", "message"})

    @classmethod
    def from_finding(cls, finding: Finding) -> SavedFinding:
        """Capture a `wizard.findings.Finding`."""
        return cls(
            code=finding.code,
            severity=finding.severity,
            step=int(finding.step),
            subject=finding.subject or "",
            address=finding.address,
            message=finding.message,
        )

    def key(self) -> tuple[str, str, str | None]:
        """What makes two findings "the same problem" across checks."""
        return (self.code, self.subject, self.address)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "step": self.step,
            "subject": self.subject,
            "address": self.address,
            "message": self.message,
        }
        return _with_extra(out, self.extra)

    @classmethod
    def from_json(cls, data: Any, where: str) -> SavedFinding:
        d = _dict(data, where)
        return cls(
            code=_str(d.get("code"), f"{where}.code"),
            severity=_str(d.get("severity"), f"{where}.severity"),
            step=_int(d.get("step"), f"{where}.step"),
            subject=_str(d.get("subject", ""), f"{where}.subject"),
            address=_str(d.get("address"), f"{where}.address", optional=True),
            message=_str(d.get("message", ""), f"{where}.message"),
            extra=_extra(d, set(cls._KEYS)),
        )


@dataclass
class CheckResults:
    """The outcome of the last verification run, kept so a later run can spot regressions."""

    checked_at: datetime
    """When the check finished."""
    findings: list[SavedFinding] = field(default_factory=list)
    """Every finding of that check (all severities)."""
    steps: list[int] = field(default_factory=list)
    """The steps that check covered (an absent step was not checked, so it cannot have regressed)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys written by a newer version, kept on round trip."""

    _KEYS = frozenset({"checked_at", "findings", "steps"})

    @property
    def codes(self) -> list[str]:
        """The finding codes, in order (duplicates kept)."""
        return [f.code for f in self.findings]

    def to_json(self) -> dict[str, Any]:
        out = {
            "checked_at": time_to_json(self.checked_at),
            "steps": list(self.steps),
            "findings": [f.to_json() for f in self.findings],
        }
        return _with_extra(out, self.extra)

    @classmethod
    def from_json(cls, data: Any, where: str) -> CheckResults:
        d = _dict(data, where)
        return cls(
            checked_at=_req_time(d.get("checked_at"), f"{where}.checked_at"),
            findings=[
                SavedFinding.from_json(f, f"{where}.findings[{i}]")
                for i, f in enumerate(_list(d.get("findings"), f"{where}.findings"))
            ],
            steps=[_int(s, f"{where}.steps[{i}]") for i, s in enumerate(_list(d.get("steps"), f"{where}.steps"))],
            extra=_extra(d, set(cls._KEYS)),
        )


@dataclass
class PendingChange:
    """An ordered update step 6 has started but not finished (RFC 8461 §8.1: body first, then id).

    Saved so that quitting between "new policy published" and "id bumped" resumes in
    the middle instead of starting over or, worse, bumping the id before the body.
    """

    kind: str
    """What is being changed, in step 6's words: e.g. "enforce", "max-age", "mx-change", "remove"."""
    stage: str
    """How far it got, in step 6's words: e.g. "planned", "policy-published", "id-published", "done"."""
    started_at: datetime
    """When the change was started."""
    updated_at: datetime | None = None
    """When `stage` last moved."""
    new_policy: SavedPolicy | None = None
    """The policy being rolled out (text and fields)."""
    new_id: str | None = None
    """The TXT id to publish once the new body is served."""
    previous_id: str | None = None
    """The id in force when the change started."""
    data: dict[str, Any] = field(default_factory=dict)
    """Anything else step 6 wants to keep for this change (JSON values only)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys written by a newer version, kept on round trip."""

    _KEYS = frozenset({"kind", "stage", "started_at", "updated_at", "new_policy", "new_id", "previous_id", "data"})

    def to_json(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "stage": self.stage,
            "started_at": time_to_json(self.started_at),
            "updated_at": time_to_json(self.updated_at),
            "new_policy": self.new_policy.to_json() if self.new_policy else None,
            "new_id": self.new_id,
            "previous_id": self.previous_id,
            "data": self.data,
        }
        return _with_extra(out, self.extra)

    @classmethod
    def from_json(cls, data: Any, where: str) -> PendingChange:
        d = _dict(data, where)
        policy = d.get("new_policy")
        return cls(
            kind=_str(d.get("kind"), f"{where}.kind"),
            stage=_str(d.get("stage"), f"{where}.stage"),
            started_at=_req_time(d.get("started_at"), f"{where}.started_at"),
            updated_at=time_from_json(d.get("updated_at"), f"{where}.updated_at"),
            new_policy=SavedPolicy.from_json(policy, f"{where}.new_policy") if policy is not None else None,
            new_id=_str(d.get("new_id"), f"{where}.new_id", optional=True),
            previous_id=_str(d.get("previous_id"), f"{where}.previous_id", optional=True),
            data=_dict(d.get("data", {}), f"{where}.data"),
            extra=_extra(d, set(cls._KEYS)),
        )


@dataclass
class DomainState:
    """Everything saved for one domain: one JSON file, `<A-label>.json`."""

    domain: str
    """The domain as an A-label (lowercase, no trailing dot); also the file name."""
    unicode_name: str = ""
    """The domain as the user typed it in Unicode (for display); empty when the same as `domain`."""
    schema_version: int = SCHEMA_VERSION
    """The file format version this state was read from or will be written as."""
    created_at: datetime | None = None
    """When the wizard first saved this domain."""
    updated_at: datetime | None = None
    """When the state was last saved."""
    steps: dict[int, StepRecord] = field(default_factory=lambda: {n: StepRecord() for n in STEPS})
    """The status of each step 1..6 (always all six)."""
    policy: SavedPolicy | None = None
    """The policy as generated in step 1 (or as last changed by step 6)."""
    policy_id: str | None = None
    """The current `_mta-sts` TXT id; regenerated only when the policy text changes."""
    id_history: list[PolicyIdEntry] = field(default_factory=list)
    """Every id ever generated, oldest first; the last one is `policy_id`."""
    mode_history: ModeHistory = field(default_factory=ModeHistory)
    """When testing began, when enforce was switched on, every max_age served and when."""
    hosting: str | None = None
    """The hosting choice of step 2 (e.g. "nginx", "apache", "caddy", "github-pages", "netlify",
    "cloudflare-workers", "folder"); None until chosen."""
    hosting_options: dict[str, str] = field(default_factory=dict)
    """Answers that go with the hosting choice (e.g. a web root or output folder)."""
    rua: list[str] = field(default_factory=list)
    """The TLSRPT report destinations of step 4 (mailto: and https: URIs), in order."""
    last_check: CheckResults | None = None
    """The last verification run, to compare against on resume."""
    notes: str = ""
    """Free notes the user keeps about this domain."""
    pending_change: PendingChange | None = None
    """An ordered policy update step 6 started and has not finished."""
    publish_method: dict[str, str] = field(default_factory=dict)
    """How the wizard publishes this domain's records for the user (wizard.publish): "via"
    ("rfc2136" or "lexicon:<provider>") and, for RFC 2136, "server". Never a secret."""
    notify_urls: list[str] = field(default_factory=list)
    """Where `monitor` sends notifications for this domain (apprise URLs, saved from step 6)."""
    report_folders: list[str] = field(default_factory=list)
    """Folders of TLSRPT reports `monitor` imports on each pass (paths, as the user gave them)."""
    report_imap: dict[str, Any] = field(default_factory=dict)
    """The IMAP mailbox `monitor` reads reports from: host, user, port, folder. Never a password:
    that comes from MTA_STS_WIZARD_IMAP_PASSWORD. Empty when there is none."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Top-level keys written by a newer version, kept on round trip."""

    _KEYS = frozenset(
        {
            "schema_version",
            "domain",
            "unicode_name",
            "created_at",
            "updated_at",
            "steps",
            "policy",
            "policy_id",
            "id_history",
            "mode_history",
            "hosting",
            "hosting_options",
            "rua",
            "last_check",
            "notes",
            "pending_change",
            "publish_method",
            "notify_urls",
            "report_folders",
            "report_imap",
        }
    )

    @property
    def mode(self) -> str | None:
        """The mode of the saved policy, or None before step 1."""
        return self.policy.mode if self.policy else None

    def to_json(self) -> dict[str, Any]:
        """The file's content. `schema_version` is written as read, so a newer file stays newer."""
        out = {
            "schema_version": self.schema_version,
            "domain": self.domain,
            "unicode_name": self.unicode_name,
            "created_at": time_to_json(self.created_at),
            "updated_at": time_to_json(self.updated_at),
            "steps": self._steps_json(),
            "policy": self.policy.to_json() if self.policy else None,
            "policy_id": self.policy_id,
            "id_history": [e.to_json() for e in self.id_history],
            "mode_history": self.mode_history.to_json(),
            "hosting": self.hosting,
            "hosting_options": dict(self.hosting_options),
            "rua": list(self.rua),
            "last_check": self.last_check.to_json() if self.last_check else None,
            "notes": self.notes,
            "pending_change": self.pending_change.to_json() if self.pending_change else None,
            "publish_method": dict(self.publish_method),
            "notify_urls": list(self.notify_urls),
            "report_folders": list(self.report_folders),
            "report_imap": dict(self.report_imap),
        }
        return _with_extra(out, {k: v for k, v in self.extra.items() if k != STEPS_EXTRA})

    def _steps_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {str(n): rec.to_json() for n, rec in sorted(self.steps.items())}
        for key, value in self.extra.get(STEPS_EXTRA, {}).items():
            out.setdefault(key, value)
        return out

    @classmethod
    def from_json(cls, data: Any) -> DomainState:
        """Build from a (migrated) file's content; raises StateFormatError on a wrong shape."""
        d = _dict(data, "file")
        steps: dict[int, StepRecord] = {n: StepRecord() for n in STEPS}
        step_extra: dict[str, Any] = {}
        for key, value in _dict(d.get("steps", {}), "steps").items():
            if key.isdigit() and int(key) in STEP_NAMES:
                steps[int(key)] = StepRecord.from_json(value, f"steps.{key}")
            else:
                step_extra[key] = value
        extra = _extra(d, set(cls._KEYS))
        if step_extra:
            # Steps a newer version added: kept aside and written back inside "steps".
            extra[STEPS_EXTRA] = step_extra
        policy = d.get("policy")
        last_check = d.get("last_check")
        pending = d.get("pending_change")
        options = _dict(d.get("hosting_options", {}), "hosting_options")
        return cls(
            schema_version=_int(d.get("schema_version"), "schema_version"),
            domain=_str(d.get("domain"), "domain"),
            unicode_name=_str(d.get("unicode_name", ""), "unicode_name"),
            created_at=time_from_json(d.get("created_at"), "created_at"),
            updated_at=time_from_json(d.get("updated_at"), "updated_at"),
            steps=steps,
            policy=SavedPolicy.from_json(policy, "policy") if policy is not None else None,
            policy_id=_str(d.get("policy_id"), "policy_id", optional=True),
            id_history=[
                PolicyIdEntry.from_json(e, f"id_history[{i}]")
                for i, e in enumerate(_list(d.get("id_history"), "id_history"))
            ],
            mode_history=ModeHistory.from_json(d.get("mode_history", {}), "mode_history"),
            hosting=_str(d.get("hosting"), "hosting", optional=True),
            hosting_options={k: _str(v, f"hosting_options.{k}") for k, v in options.items()},
            rua=_str_list(d.get("rua"), "rua"),
            last_check=CheckResults.from_json(last_check, "last_check") if last_check is not None else None,
            notes=_str(d.get("notes", ""), "notes"),
            pending_change=PendingChange.from_json(pending, "pending_change") if pending is not None else None,
            publish_method={
                k: _str(v, f"publish_method.{k}")
                for k, v in _dict(d.get("publish_method", {}), "publish_method").items()
            },
            notify_urls=_str_list(d.get("notify_urls"), "notify_urls"),
            report_folders=_str_list(d.get("report_folders"), "report_folders"),
            report_imap=_dict(d.get("report_imap") or {}, "report_imap"),
            extra=extra,
        )
