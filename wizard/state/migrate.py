"""Schema versions of the saved-progress files, and the migrations between them.

Every file carries `schema_version`. Reading:
- an older version is migrated step by step (n -> n+1) in memory; the next save writes
  the current version (the untouched original stays in `<name>.bak` after that save);
- the current version is read as is;
- a newer version (written by a newer mta-sts-wizard) is read as far as this version
  understands it, every unknown field kept, and opened READ-ONLY: this program never
  writes a file whose format it does not fully know, so a newer program's data is never
  damaged. The user is told to upgrade to change that domain.

To change the format: bump SCHEMA_VERSION in model.py and add a function to
MIGRATIONS keyed by the version it upgrades *from*. Each migration takes the raw JSON
object of version n and returns the object of version n+1; it must keep keys it does
not touch (they may come from a newer minor change).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wizard.state.model import SCHEMA_VERSION, StateFormatError

Migration = Callable[[dict[str, Any]], dict[str, Any]]

#: version n -> function turning a version-n object into version n+1.
#: Schema 1 is the first released format, so there is nothing to migrate yet.
MIGRATIONS: dict[int, Migration] = {}


@dataclass(frozen=True)
class Migrated:
    """The outcome of bringing a raw file object up to date."""

    data: dict[str, Any]
    """The object, at `min(found, current)` version."""
    found_version: int
    """The version the file was written as."""
    newer: bool
    """True when the file is from a newer program (to be opened read-only)."""

    @property
    def migrated(self) -> bool:
        """True when at least one migration ran (the next save rewrites the file)."""
        return not self.newer and self.found_version < self.data.get("schema_version", self.found_version)


def schema_version_of(data: Any) -> int:
    """The file's schema_version; raises StateFormatError when missing or not a positive integer."""
    if not isinstance(data, dict):
        raise StateFormatError("the file is not a JSON object")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StateFormatError("schema_version is missing or not a positive whole number")
    return version


def migrate(
    data: Any,
    *,
    current: int = SCHEMA_VERSION,
    migrations: Mapping[int, Migration] | None = None,
) -> Migrated:
    """Bring a raw file object to the current schema, or flag it as newer.

    `current` and `migrations` default to this program's; tests pass their own to
    exercise the chain.
    """
    steps = MIGRATIONS if migrations is None else migrations
    found = schema_version_of(data)
    if found > current:
        return Migrated(data=data, found_version=found, newer=True)
    obj = dict(data)
    version = found
    while version < current:
        step = steps.get(version)
        if step is None:
            raise StateFormatError(f"no migration from schema {version} to {version + 1}")
        obj = step(obj)
        version += 1
        obj["schema_version"] = version
    return Migrated(data=obj, found_version=found, newer=False)
