"""Reading `--nameserver ADDR[:PORT]` values.

Kept apart from wizard.dnsclient so validating the option costs no dnspython import: the
wizard's first screen must paint fast, and it only needs to know the value is well formed.
"""

from __future__ import annotations

import ipaddress


def parse_nameserver(text: str) -> tuple[str, int]:
    """`ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address -> (address, port).

    Raises ValueError with a message that says what to type.
    """
    raw = text.strip()
    host, port = raw, 53
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0:
            raise ValueError(f"nameserver {text!r}: missing ']'; write [::1]:5353 or ::1")
        host, rest = raw[1:close], raw[close + 1 :]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"nameserver {text!r}: write [ADDR]:PORT, e.g. [::1]:5353")
            port = int(rest[1:])
    elif raw.count(":") == 1:
        host, _, p = raw.partition(":")
        if not p.isdigit():
            raise ValueError(f"nameserver {text!r}: the port must be a number, e.g. 127.0.0.1:5353")
        port = int(p)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"nameserver {text!r} is not an IP address; give ADDR or ADDR:PORT, e.g. 9.9.9.9") from None
    if not 0 < port < 65536:
        raise ValueError(f"nameserver {text!r}: port {port} is out of range 1-65535")
    return host, port
