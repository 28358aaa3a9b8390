"""Saved progress: per-domain state that survives quitting, crashes and a second window.

The public API, re-exported here so callers write `from wizard.state import ...`:
- model: `DomainState` and the records it holds (model.py);
- disk: `StateStore`, `DomainSession`, `LoadResult`, `DomainSummary` (store.py);
- changes: `set_step`, `record_policy`, `record_served`, `record_check`, ... (progress.py);
- resume: `first_unverified_step`, `done_steps`, `regressions` (progress.py, regress.py).
"""

from __future__ import annotations

from wizard.state.model import (
    DONE_STATUSES,
    MODES,
    SCHEMA_VERSION,
    STEP_NAMES,
    STEP_STATUSES,
    STEPS,
    CheckResults,
    DomainState,
    ModeHistory,
    PendingChange,
    PolicyIdEntry,
    SavedFinding,
    SavedPolicy,
    ServedPolicy,
    StateFormatError,
    StepRecord,
    StepStatus,
    utc_now,
)
from wizard.state.progress import (
    done_steps,
    first_unverified_step,
    largest_max_age,
    policy_id_for,
    record_check,
    record_policy,
    record_served,
    removal_remaining,
    removal_safe_at,
    set_step,
    status_from_findings,
    step_done,
)
from wizard.state.regress import regressed_findings, regressions
from wizard.state.store import (
    DomainSession,
    DomainSummary,
    LoadResult,
    LockedError,
    NewerSchemaError,
    ReadOnlyError,
    StateError,
    StateStore,
    new_state,
)

__all__ = [
    "DONE_STATUSES",
    "MODES",
    "SCHEMA_VERSION",
    "STEPS",
    "STEP_NAMES",
    "STEP_STATUSES",
    "CheckResults",
    "DomainSession",
    "DomainState",
    "DomainSummary",
    "LoadResult",
    "LockedError",
    "ModeHistory",
    "NewerSchemaError",
    "PendingChange",
    "PolicyIdEntry",
    "ReadOnlyError",
    "SavedFinding",
    "SavedPolicy",
    "ServedPolicy",
    "StateError",
    "StateFormatError",
    "StateStore",
    "StepRecord",
    "StepStatus",
    "done_steps",
    "first_unverified_step",
    "largest_max_age",
    "new_state",
    "policy_id_for",
    "record_check",
    "record_policy",
    "record_served",
    "regressed_findings",
    "regressions",
    "removal_remaining",
    "removal_safe_at",
    "set_step",
    "status_from_findings",
    "step_done",
    "utc_now",
]
