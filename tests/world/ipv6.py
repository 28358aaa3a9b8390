"""IPv6 loopback for the test world: one shared address, so its port 443 is taken in turn.

Every other server of the world gets its own random 127.X.Y.Z, but IPv6 loopback is the
single address ::1, and senders fetch the policy on port 443 (the engine connects to port
`https_port`, 443 unless a test changes it). Two test runs serving a policy on [::1]:443 at
once would collide, so a run takes an exclusive `fcntl.flock` on LOCK_PATH for as long as
it may listen there (or needs nobody listening there), and waits at most LOCK_WAIT seconds.

When a test cannot run:
- the machine has no IPv6 loopback (no ::1 to bind): skip. Under CI=true this fails only
  when the kernel does support IPv6 (socket.has_ipv6 and /proc/net/if_inet6 present), i.e.
  the runner's loopback was configured without ::1, which the CI image must fix; a kernel
  without IPv6 at all cannot run these tests anywhere, so it skips even under CI.
- the lock stays held longer than LOCK_WAIT (another run is stuck): skip locally, fail under CI.
- something that does not take the lock listens on [::1]:443 (e.g. a system web server):
  skip locally, fail under CI.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

IPV6_LOOPBACK = "::1"
POLICY_PORT = 443
LOCK_PATH = Path("/tmp/mta-sts-wizard-tests-ipv6-443.lock")
LOCK_WAIT = 60.0
_POLL = 0.1


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def kernel_has_ipv6() -> bool:
    """The interpreter and the kernel both know IPv6 (the interfaces may still lack ::1)."""
    return socket.has_ipv6 and Path("/proc/net/if_inet6").exists()


def ipv6_loopback_problem() -> str | None:
    """Why ::1 cannot be used here, or None when a socket binds to it."""
    if not socket.has_ipv6:
        return "this Python was built without IPv6 support"
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind((IPV6_LOOPBACK, 0))
    except OSError as exc:
        return f"cannot bind to the IPv6 loopback ::1 ({exc.strerror or exc}); enable IPv6 on 'lo'"
    return None


def port_free(address: str = IPV6_LOOPBACK, port: int = POLICY_PORT) -> bool:
    """Nothing listens on [address]:port. SO_REUSEADDR, as servers use it, so the TIME_WAIT
    connections a previous run left on the port do not count; Linux still refuses a listener."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(1)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return False
        raise
    return True


def _give_up(reason: str, *, fail_in_ci: bool = True) -> None:
    if fail_in_ci and in_ci():
        pytest.fail(f"IPv6 tests must run under CI=true: {reason}")
    pytest.skip(reason)


def require_ipv6_loopback() -> None:
    """Skip (or fail under CI on an IPv6 kernel) when ::1 is unusable."""
    problem = ipv6_loopback_problem()
    if problem is not None:
        _give_up(problem, fail_in_ci=kernel_has_ipv6())


@contextlib.contextmanager
def ipv6_port_lock(wait: float = LOCK_WAIT, path: Path = LOCK_PATH) -> Iterator[None]:
    """Hold [::1]:443 for this process: an exclusive flock, waited for at most `wait` seconds.

    The lock is released when the block ends (or the process dies: the kernel drops flocks
    with the file descriptor), so a crashed run never blocks the next one.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + wait
        for _ in range(int(wait / _POLL) + 2):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    _give_up(f"another test run held {path} (the [::1]:443 lock) for more than {wait:g} s")
                time.sleep(_POLL)
        else:
            _give_up(f"could not take {path} within {wait:g} s")
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def ipv6_policy_port() -> Iterator[None]:
    """::1 is usable, this run holds the lock, and nobody else listens on [::1]:443."""
    require_ipv6_loopback()
    with ipv6_port_lock():
        if not port_free():
            _give_up("something outside the test lock already listens on [::1]:443 (a system web server?)")
        yield
