"""Forget a saved domain: delete its progress file and backup (the start screen's `x`, and
`status DOMAIN --forget --yes`).

Only saved progress goes; nothing published changes, and imported TLS reports stay in the report
store. A domain open in another window is refused (its lock is held) with a one-line reason.
"""

from __future__ import annotations

import contextlib

from wizard.state.store import StateError, StateStore, disk_errors, fsync_dir


def forget_domain(store: StateStore, domain: str) -> bool:
    """Delete `domain`'s saved progress; False when there was none. Raises StateError when another
    window holds the domain or the disk refuses."""
    if domain not in store.domains():
        return False
    lock = store.lock_for(domain)
    if not lock.try_acquire():
        pid = lock.holder_pid()
        who = f"pid {pid}" if pid is not None else "pid unknown"
        raise StateError(f"{domain} is open in another window ({who}); close it first, then forget it")
    try:
        with disk_errors("delete", store.path_for(domain)):
            for path in (store.path_for(domain), store.backup_for(domain)):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            fsync_dir(store.dir)
    finally:
        lock.release()
    with contextlib.suppress(OSError):
        lock.path.unlink()
    return True
