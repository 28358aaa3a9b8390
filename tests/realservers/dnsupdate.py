"""Real DNS servers that accept changes, for `publish`: Knot (RFC 2136 + TSIG) and PowerDNS (HTTP API).

Each starts from a private directory (config, zone files or sqlite database, logs), binds one
fixed loopback address given to this lane (Knot 127.0.6.1, PowerDNS 127.0.6.2, both port 53;
the PowerDNS API on 127.0.6.2:8081; under pytest-xdist each worker takes ports of its own),
and is stopped by its pid. Zones are given as lists of zone-file lines relative to their
origin, so every test can own a zone of its own and start from a known state without a restart.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

KNOT_ADDRESS = "127.0.6.1"
PDNS_ADDRESS = "127.0.6.2"
PDNS_API_PORT = 8081


def worker_offset() -> int:
    """0 for a plain run; N for pytest-xdist's worker gwN, whose servers then use ports 5300+N and
    8081+N, so two workers never fight over one address's port 53."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) + 1 if worker.startswith("gw") and worker[2:].isdigit() else 0


def dns_port() -> int:
    offset = worker_offset()
    return 53 if offset == 0 else 5300 + offset


START_DEADLINE = 10.0
STOP_DEADLINE = 5.0
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
PDNS_SCHEMA = Path("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql")
TSIG_NAME = "wizard-key"
TSIG_ALG = "hmac-sha256"


class UpdateServerError(RuntimeError):
    """A server would not start; the message names it and shows its log's tail."""


def missing(kind: str) -> list[str]:
    """What this machine lacks to run `kind` ("knot" or "pdns")."""
    out = []
    if kind == "knot" and shutil.which("knotd", path=SBIN_PATH) is None:
        out.append("knotd (apt-get install knot)")
    if kind == "pdns":
        if shutil.which("pdns_server", path=SBIN_PATH) is None:
            out.append("pdns_server (apt-get install pdns-server)")
        if not PDNS_SCHEMA.exists():
            out.append("the sqlite3 backend (apt-get install pdns-backend-sqlite3)")
    if os.geteuid() != 0:
        out.append("root privileges (port 53)")
    return out


def zone_lines(zone: str, ns_address: str, extra: list[str]) -> list[str]:
    """A small zone: SOA, NS, the name server's address, an MX, an apex SPF, plus `extra`."""
    return [
        "@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 300",
        "@ 300 IN NS ns1",
        f"ns1 300 IN A {ns_address}",
        "@ 300 IN MX 10 mail",
        f"mail 300 IN A {ns_address}",
        '@ 300 IN TXT "v=spf1 mx -all"',
        *extra,
    ]


@dataclass
class Server:
    """A running server: where it listens, and how to reach its control."""

    kind: str
    root: Path
    address: str
    port: int
    pid: int
    tsig: str = ""
    """NAME:ALG:SECRET of the key Knot accepts updates with."""
    api_key: str = ""
    """PowerDNS's API key."""

    @property
    def nameserver(self) -> str:
        """ADDR[:PORT] for --nameserver/--server."""
        return self.address if self.port == 53 else f"{self.address}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.address}:{PDNS_API_PORT + worker_offset()}"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _soa_ready(address: str, port: int, zones: list[str]) -> bool:
    import dns.message
    import dns.query
    import dns.rcode

    for zone in zones:
        try:
            answer = dns.query.udp(dns.message.make_query(zone, "SOA"), address, port=port, timeout=0.3)
        except Exception:
            return False
        if answer.rcode() != dns.rcode.NOERROR or not answer.answer:
            return False
    return True


def _wait(what: str, ready, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while True:
        if proc.poll() is not None:
            raise UpdateServerError(f"{what} exited with {proc.returncode}; log {log}:\n{_tail(log)}")
        with contextlib.suppress(OSError):
            if ready():
                return
        if time.monotonic() > deadline:
            stop_process(proc.pid)
            raise UpdateServerError(f"{what} did not answer within {START_DEADLINE:.0f} s; log {log}:\n{_tail(log)}")
        time.sleep(0.05)


def _spawn(root: Path, name: str, argv: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = root / f"{name}.out"
    log = open(log_path, "ab")  # noqa: SIM115 (the child keeps it)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    log.close()
    (root / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc, log_path


# ---------------------------------------------------------------- Knot


def start_knot(root: Path, zones: dict[str, list[str]]) -> Server:
    """Knot serving `zones` on 127.0.6.1:53, accepting RFC 2136 updates signed with one TSIG key."""
    root, port = root.resolve(), dns_port()
    for sub in ("run", "db", "zones"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    for zone, lines in zones.items():
        (root / "zones" / f"{zone}.zone").write_text(f"$ORIGIN {zone}.\n" + "\n".join(lines) + "\n")
    zone_list = "".join(f"  - domain: {z}\n    acl: update\n" for z in zones)
    conf = root / "knot.conf"
    conf.write_text(
        f"""server:
    rundir: "{root / "run"}"
    pidfile: "{root / "run" / "knot.pid"}"
    listen: {KNOT_ADDRESS}@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

control:
    listen: "{root / "run" / "knot.sock"}"

database:
    storage: "{root / "db"}"

log:
  - target: "{root / "knot.log"}"
    any: info

key:
  - id: {TSIG_NAME}
    algorithm: {TSIG_ALG}
    secret: {secret}

acl:
  - id: update
    key: {TSIG_NAME}
    action: update

template:
  - id: default
    storage: "{root / "zones"}"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: changes

zone:
{zone_list}"""
    )
    knotd = shutil.which("knotd", path=SBIN_PATH) or "knotd"
    proc, _log = _spawn(root, "knotd", [knotd, "-c", str(conf)])
    _wait("knotd", lambda: _soa_ready(KNOT_ADDRESS, port, list(zones)), proc, root / "knot.log")
    return Server("knot", root, KNOT_ADDRESS, port, proc.pid, tsig=f"{TSIG_NAME}:{TSIG_ALG}:{secret}")


# ---------------------------------------------------------------- PowerDNS


def start_pdns(root: Path, zones: dict[str, list[str]]) -> Server:
    """PowerDNS authoritative with the sqlite3 backend on 127.0.6.2:53, its API on :8081."""
    root, port = root.resolve(), dns_port()
    root.mkdir(parents=True, exist_ok=True)
    database = root / "pdns.sqlite3"
    with sqlite3.connect(database) as db:
        db.executescript(PDNS_SCHEMA.read_text())
        for zone, lines in zones.items():
            _pdns_zone(db, zone, lines)
    api_key = secrets.token_hex(16)
    (root / "pdns.conf").write_text(
        f"""launch=gsqlite3
gsqlite3-database={database}
local-address={PDNS_ADDRESS}
local-port={port}
api=yes
api-key={api_key}
webserver=yes
webserver-address={PDNS_ADDRESS}
webserver-port={PDNS_API_PORT + worker_offset()}
webserver-allow-from=127.0.0.0/8
socket-dir={root}
daemon=no
guardian=no
disable-syslog=yes
write-pid=no
loglevel=4
cache-ttl=0
negquery-cache-ttl=0
query-cache-ttl=0
zone-cache-refresh-interval=0
distributor-threads=1
receiver-threads=1
"""
    )
    pdns = shutil.which("pdns_server", path=SBIN_PATH) or "pdns_server"
    proc, log = _spawn(root, "pdns", [pdns, f"--config-dir={root}"])
    _wait("pdns_server", lambda: _soa_ready(PDNS_ADDRESS, port, list(zones)) and _api_ready(), proc, log)
    return Server("pdns", root, PDNS_ADDRESS, port, proc.pid, api_key=api_key)


def _api_ready() -> bool:
    import socket

    with socket.create_connection((PDNS_ADDRESS, PDNS_API_PORT + worker_offset()), timeout=0.3):
        return True


def _pdns_zone(db: sqlite3.Connection, zone: str, lines: list[str]) -> None:
    """Insert a zone given as relative zone-file lines (`owner ttl IN type content`)."""
    cursor = db.execute("INSERT INTO domains (name, type) VALUES (?, 'NATIVE')", (zone,))
    domain_id = cursor.lastrowid
    for line in lines:
        owner, ttl, _in, rtype, content = line.split(None, 4)
        name = zone if owner == "@" else f"{owner}.{zone}"
        prio = 0
        if rtype == "MX":  # the backend keeps an MX preference in its own column
            first, content = content.split(None, 1)
            prio = int(first)
        if rtype in ("NS", "MX", "SOA", "CNAME"):
            content = " ".join(_absolute(part, zone) for part in content.split())
        db.execute(
            "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, 1)",
            (domain_id, name, rtype, content, int(ttl), prio),
        )


def _absolute(part: str, zone: str) -> str:
    if part.isdigit() or part.endswith("."):
        return part.rstrip(".")
    return f"{part}.{zone}"


# ---------------------------------------------------------------- stopping


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def stop_process(pid: int) -> None:
    """SIGTERM the server's process group, wait a bounded time, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_DEADLINE
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _alive(pid):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def stop(server: Server) -> None:
    stop_process(server.pid)
