"""Pick a loopback address nobody else on this machine is using for ports 80 and 443."""

from __future__ import annotations

import errno
import random
import socket


def random_loopback(ports: tuple[int, ...] = (443, 80), attempts: int = 20) -> str:
    """A random 127.X.Y.Z (X, Y, Z in 2..250) whose `ports` are free right now.

    Another test run may still grab it between this probe and the server's own bind, so the
    server starters retry with a new address when the server reports EADDRINUSE.
    """
    for _ in range(attempts):
        address = "127.{}.{}.{}".format(*(random.randint(2, 250) for _ in range(3)))
        if all(_port_free(address, port) for port in ports):
            return address
    raise RuntimeError(f"no free loopback address found in {attempts} tries")


def _port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True
