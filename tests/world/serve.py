"""Run a test world in its own process (benchmarks: the servers must not share our CPU and GIL).

`python -m tests.world.serve --domains N --mx 2 --delay 0.05` builds N correct domains
(bulk0.test ...), prints one JSON line {"nameserver", "ca_bundle", "domains"} and serves
until its standard input closes. Each line `stats` read on standard input is answered
with one JSON line of counters (DNS queries answered, HTTPS requests, SMTP sessions and
STARTTLS handshakes, this process's CPU seconds) so a benchmark can explain its figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.world.world import World

T = TypeVar("T")


def stats(world: World) -> dict[str, float | int]:
    """Counters since the world started; callers take differences."""
    https = [s for s in world._servers if hasattr(s, "requests")]
    smtp = [s for s in world._servers if hasattr(s, "sessions")]
    sessions = [log for s in smtp for log in s.sessions]
    return {
        "dns_queries": len(world.dns.queries),
        "https_requests": sum(len(s.requests) for s in https),
        "smtp_sessions": len(sessions),
        "smtp_starttls": sum(1 for log in sessions if "STARTTLS" in log),
        "cpu_s": time.process_time(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="serve a test world until stdin closes")
    parser.add_argument("--domains", type=int, default=1)
    parser.add_argument("--mx", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every DNS answer")
    parser.add_argument("--prefix", default="bulk")
    parser.add_argument("--knot", action="store_true", help="serve the zones with Debian's knotd instead (no delay)")
    parser.add_argument("--bare", action="store_true", help="only the MX hosts: nothing of MTA-STS published yet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp), dns_delay=args.delay)
        try:
            names = [f"{args.prefix}{i}.test" for i in range(args.domains)]
            for name in names:
                mx = [f"mx{j + 1}.{name}" for j in range(args.mx)]
                if args.bare:  # a new user's domain: the wizard starts at step 1 instead of adopting a live policy
                    world.domain(name, mx=mx, policy=None, sts_id=None, tlsrpt=None)
                else:
                    world.domain(name, mx=mx)
            nameserver = world.dns.address
            knot = None
            if args.knot:
                knot, nameserver = start_knot(world, Path(tmp) / "knot")
            print(json.dumps({"nameserver": nameserver, "ca_bundle": world.ca_bundle, "domains": names}))
            sys.stdout.flush()
            for line in sys.stdin:
                if line.strip() == "stats":
                    print(json.dumps(world.call(_on_loop(stats, world))))
                    sys.stdout.flush()
        finally:
            if args.knot and knot is not None:
                knot.terminate()
                knot.wait(10)
            world.close()
    return 0


def zone_files(world: World, directory: Path, ns_address: str) -> list[str]:
    """The test DNS server's data as one zone file per apex, with ns1.world.test at `ns_address`."""
    dns = world.dns
    with dns._lock:
        records = {k: list(v) for k, v in dns.records.items()}
        zones = sorted(dns.zones)
    records[("ns1.world.test", "A")] = [(3600, ns_address)]
    lines: dict[str, list[str]] = {z: [] for z in zones}
    for (owner, rtype), rrs in sorted(records.items()):
        apex = dns._zone_of(owner)
        if apex is None:
            continue
        lines[apex].extend(f"{owner}. {ttl} IN {rtype} {value}" for ttl, value in rrs)
    for apex, body in lines.items():
        (directory / f"{apex}.zone").write_text("\n".join(body) + "\n")
    return zones


def start_knot(world: World, base: Path) -> tuple[subprocess.Popen[bytes], str]:
    """knotd serving the world's zones on a free random loopback address (benchmarks: a fast server)."""
    for sub in ("run", "db", "zones"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for _ in range(30):
        address = world.free_address()
        zones = zone_files(world, base / "zones", address)
        conf = base / "knot.conf"
        conf.write_text(
            f'server:\n    rundir: "{base / "run"}"\n    listen: {address}@53\n    udp-workers: 1\n'
            f'    tcp-workers: 1\n    background-workers: 1\ndatabase:\n    storage: "{base / "db"}"\n'
            f'log:\n  - target: "{base / "knot.log"}"\n    any: warning\n'
            f'template:\n  - id: default\n    storage: "{base / "zones"}"\n    file: "%s.zone"\n'
            "    zonefile-sync: -1\n    journal-content: none\nzone:\n" + "".join(f"  - domain: {z}\n" for z in zones)
        )
        proc = subprocess.Popen(["knotd", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            if _answers(address, zones[-1]):
                return proc, address
            time.sleep(0.05)
        proc.kill()
        proc.wait()
    raise RuntimeError(f"knotd did not start; see {base / 'knot.log'}")


def _answers(address: str, zone: str) -> bool:
    import dns.exception
    import dns.message
    import dns.query

    try:
        return bool(dns.query.udp(dns.message.make_query(zone, "SOA"), address, timeout=0.2).answer)
    except (dns.exception.DNSException, OSError):
        return False


async def _on_loop(fn: Callable[[World], T], world: World) -> T:
    """Read the counters on the world's loop thread (the servers append to them there)."""
    return fn(world)


if __name__ == "__main__":
    raise SystemExit(main())
