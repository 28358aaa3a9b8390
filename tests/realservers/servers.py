"""Start and stop Debian's knot, nginx and postfix on random loopback addresses.

The real-server lane runs `check` against the daemons senders actually meet, so the wizard is
not only tested against our own in-process imitations. Everything is private to one directory:
configs, zone files, certificates, pid files, logs and postfix's queue. Nothing in /etc is read
or written, and no fixed address is used, so several runs can share the machine.

As a library (pytest fixtures):  `world = start(path)` ... `stop(path)`.
From the shell:  `python -m tests.realservers.servers start DIR` prints the world as JSON
(nameserver, CA bundle, domains and their expected codes); `... stop DIR` stops it again.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import pty
import random
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import scenarios as sc
from .certs import PemPair, TestCA

SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"])
BINARIES = ("knotd", "nginx", "postfix")
START_DEADLINE = 20.0  # seconds for all three daemons to answer
STOP_DEADLINE = 5.0  # seconds per daemon before SIGKILL


class ServersError(RuntimeError):
    """A daemon would not start; the message names it and points at its log."""


def which(name: str) -> str | None:
    return shutil.which(name, path=SBIN_PATH)


def missing_binaries() -> list[str]:
    """What this machine lacks for the lane: the daemons (apt-get install knot nginx-light postfix),
    and root, which binding ports 25/53/443 and running postfix's master need."""
    missing = [name for name in BINARIES if which(name) is None]
    if os.geteuid() != 0:
        missing.append("root privileges")
    return missing


# --------------------------------------------------------------------------- addresses


def _free(address: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


class AddressPlan:
    """Hands out addresses 127.X.Y.2, .3, ... in one random /24, checked free on the ports used."""

    def __init__(self, rng: random.Random, needs: list[tuple[str, int]], attempts: int = 30) -> None:
        for _ in range(attempts):
            self.prefix = f"127.{rng.randint(2, 250)}.{rng.randint(2, 250)}"
            if self._all_free(needs):
                self.next_host = 2
                self.allocated: dict[str, str] = {}
                return
        raise ServersError(f"no free 127.X.Y.0/24 block after {attempts} tries; is the loopback crowded?")

    def _all_free(self, needs: list[tuple[str, int]]) -> bool:
        for host, (_, port) in enumerate(needs, start=2):
            address = f"{self.prefix}.{host}"
            if not _free(address, port, socket.SOCK_STREAM):
                return False
            if port == 53 and not _free(address, port, socket.SOCK_DGRAM):
                return False
        return True

    def take(self, key: str) -> str:
        if key not in self.allocated:
            if self.next_host > 250:
                raise ServersError("more than 249 loopback addresses asked for one world")
            self.allocated[key] = f"{self.prefix}.{self.next_host}"
            self.next_host += 1
        return self.allocated[key]


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """What a running world offers to `check`: where to resolve and which roots to trust."""

    root: Path
    nameserver: str
    ca_bundle: Path
    addresses: dict[str, str]
    scenarios: tuple[sc.Scenario, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "nameserver": self.nameserver,
            "ca_bundle": str(self.ca_bundle),
            "addresses": self.addresses,
            "domains": {s.domain: sorted(s.expected) for s in self.scenarios},
        }


def _site_key(scenario: sc.Scenario, index: int) -> str:
    return f"site:{scenario.name}:{index}"


def _smtp_key(kind: str) -> str:
    return f"smtp:{kind}"


def plan_addresses(scenarios: Iterable[sc.Scenario], rng: random.Random) -> AddressPlan:
    """Give knot, every policy site and every SMTP server kind its own loopback address."""
    scenarios = tuple(scenarios)
    order: list[tuple[str, int]] = [("knot", 53)]
    for s in scenarios:
        order += [(_site_key(s, i), 443) for i in range(len(s.sites))]
    kinds = sorted({m.smtp for s in scenarios for m in s.mx if m.smtp != sc.SMTP_NO_ADDRESS})
    order += [(_smtp_key(k), 25) for k in kinds]
    plan = AddressPlan(rng, order)
    for key, _ in order:
        plan.take(key)
    return plan


# --------------------------------------------------------------------------- DNS (knot)


def _txt(value: str) -> str:
    """A TXT value as zone-file character strings of at most 255 bytes each."""
    raw = value.encode()
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    quoted = []
    for chunk in chunks:
        text = chunk.decode("utf-8", "replace").replace("\\", "\\\\").replace('"', '\\"')
        quoted.append(f'"{text}"')
    return " ".join(quoted)


def zone_text(s: sc.Scenario, plan: AddressPlan) -> str:
    d = s.domain
    lines = [
        f"$ORIGIN {d}.",
        "$TTL 300",
        "@ IN SOA ns1 hostmaster 1 3600 600 86400 300",
        "@ IN NS ns1",
        f"ns1 IN A {plan.allocated['knot']}",
    ]
    for mx in s.mx:
        lines.append(f"@ IN MX {mx.preference} {mx.label}")
        if mx.smtp != sc.SMTP_NO_ADDRESS:
            lines.append(f"{mx.label} IN A {plan.allocated[_smtp_key(mx.smtp)]}")
    if s.sts_cname:
        lines.append(f"_mta-sts IN CNAME {_provider_sts_name(s)}.")
    lines += [f"_mta-sts IN TXT {_txt(v.format(domain=d))}" for v in s.sts]
    lines += [f"_smtp._tls IN TXT {_txt(v.format(domain=d))}" for v in s.tlsrpt]
    if s.policy_host_cname:
        lines.append(f"mta-sts IN CNAME web.{s.name}.{sc.PROVIDER_ZONE}.")
    else:
        lines += [f"mta-sts IN A {plan.allocated[_site_key(s, i)]}" for i in range(len(s.sites))]
    lines += [line.format(domain=d) for line in s.extra_records]
    return "\n".join(lines) + "\n"


def _provider_sts_name(s: sc.Scenario) -> str:
    label = "sts" if s.sts_cname == sc.CNAME_PROVIDER else "gone"
    return f"{label}.{s.name}.{sc.PROVIDER_ZONE}"


def provider_zone_text(scenarios: tuple[sc.Scenario, ...], plan: AddressPlan) -> str:
    """The third party's zone: TXT targets of `_mta-sts` CNAMEs and web hosts behind `mta-sts` CNAMEs."""
    lines = [
        f"$ORIGIN {sc.PROVIDER_ZONE}.",
        "$TTL 300",
        "@ IN SOA ns1 hostmaster 1 3600 600 86400 300",
        "@ IN NS ns1",
        f"ns1 IN A {plan.allocated['knot']}",
    ]
    for s in scenarios:
        if s.sts_cname == sc.CNAME_PROVIDER:
            lines.append(f"{_provider_sts_name(s)}. IN TXT {_txt(sc.GOOD_STS)}")
        if s.policy_host_cname:
            lines += [f"web.{s.name} IN A {plan.allocated[_site_key(s, i)]}" for i in range(len(s.sites))]
    return "\n".join(lines) + "\n"


def write_knot(root: Path, scenarios: tuple[sc.Scenario, ...], plan: AddressPlan) -> Path:
    base = root / "knot"
    for sub in ("run", "db", "zones"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    served = [s for s in scenarios if s.served]
    for s in served:
        (base / "zones" / f"{s.domain}.zone").write_text(zone_text(s, plan))
    (base / "zones" / f"{sc.PROVIDER_ZONE}.zone").write_text(provider_zone_text(scenarios, plan))
    broken = [z.format(domain=s.domain) for s in served for z in s.broken_zones]  # no file is written for these
    zones = "".join(f"  - domain: {name}\n" for name in [*(s.domain for s in served), sc.PROVIDER_ZONE, *broken])
    conf = base / "knot.conf"
    conf.write_text(
        f"""server:
    rundir: "{base / "run"}"
    pidfile: "{base / "run" / "knot.pid"}"
    listen: {plan.allocated["knot"]}@53
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1

control:
    listen: "{base / "run" / "knot.sock"}"

database:
    storage: "{base / "db"}"

log:
  - target: "{base / "knot.log"}"
    any: info

template:
  - id: default
    storage: "{base / "zones"}"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none

zone:
{zones}"""
    )
    return conf


# --------------------------------------------------------------------------- HTTPS (nginx)


def _policy_site_block(s: sc.Scenario, index: int, site: sc.Site, address: str, pems: PemPair, www: Path) -> str:
    if 300 <= site.status < 400:
        answer = f"return {site.status} {site.location};"
    elif site.status != 200:
        answer = f"return {site.status};"
    else:
        body = www / f"{s.name}-{index}.txt"
        body.write_text(s.site_body(site))
        answer = f'types {{ }}\n            default_type "{site.content_type}";\n            alias {body};'

        if site.slow:  # headers and the first KiB at once, then 8 bytes a second: a body that stalls
            answer += "\n            limit_rate_after 1k;\n            limit_rate 8;\n            sendfile off;"
    return f"""
    server {{
        listen {address}:443 ssl;
        server_name mta-sts.{s.domain};
        ssl_certificate {pems.cert};
        ssl_certificate_key {pems.key};
        location = /.well-known/mta-sts.txt {{
            {answer}
        }}
        location / {{
            return 404;
        }}
    }}
"""


def write_nginx(root: Path, scenarios: tuple[sc.Scenario, ...], plan: AddressPlan, ca: Issuers) -> Path:
    base = root / "nginx"
    for sub in ("www", "certs", "tmp", "logs"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    blocks = []
    for s in scenarios:
        for index, site in enumerate(s.sites):
            if not site.listening:
                continue
            name = f"mta-sts.{s.domain}"
            pems = ca.issue(base / "certs", f"{s.name}-{index}", site.cert, [name], wrong=f"www.{s.domain}")
            address = plan.allocated[_site_key(s, index)]
            blocks.append(_policy_site_block(s, index, site, address, pems, base / "www"))
    conf = base / "nginx.conf"
    tmp = base / "tmp"
    conf.write_text(
        f"""user root;
daemon off;
master_process on;
worker_processes 1;
pid {base / "nginx.pid"};
error_log {base / "logs" / "error.log"} info;
events {{
    worker_connections 256;
}}
http {{
    access_log {base / "logs" / "access.log"};
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server_tokens off;
    ssl_protocols TLSv1.2 TLSv1.3;
{"".join(blocks)}}}
"""
    )
    return conf


@dataclass
class Issuers:
    """The lane's CA (in the bundle) and a stranger's CA (not in it), for `untrusted` certificates."""

    trusted: TestCA
    stranger: TestCA

    def issue(self, directory: Path, label: str, variant: str, names: list[str], wrong: str) -> PemPair:
        """One certificate of the given variant for `names` (see scenarios.CERT_*)."""
        ca = self.trusted
        if variant == sc.CERT_GOOD:
            return ca.issue(directory, label, names)
        if variant == sc.CERT_EXPIRED:
            return ca.issue(directory, label, names, valid_from_days=-400, valid_days=365)
        if variant == sc.CERT_NOT_YET_VALID:
            return ca.issue(directory, label, names, valid_from_days=2, valid_days=365)
        if variant == sc.CERT_EXPIRING:
            return ca.issue(directory, label, names, valid_from_days=-360, valid_days=365)
        if variant == sc.CERT_WRONG_NAME:
            return ca.issue(directory, label, [wrong])
        if variant == sc.CERT_CN_ONLY:
            return ca.issue(directory, label, names[:1], san=False)
        if variant == sc.CERT_SELF_SIGNED:
            return ca.issue(directory, label, names, self_signed=True)
        if variant == sc.CERT_UNTRUSTED:
            return self.stranger.issue(directory, label, names)
        raise ValueError(f"unknown certificate variant {variant!r}")


# --------------------------------------------------------------------------- SMTP (postfix)


def _smtp_kinds(scenarios: tuple[sc.Scenario, ...]) -> dict[str, list[str]]:
    """Each SMTP server kind and the MX host names that resolve to it (its certificate's names)."""
    kinds: dict[str, list[str]] = {}
    for s in scenarios:
        for mx in s.mx:
            if mx.smtp != sc.SMTP_NO_ADDRESS:
                kinds.setdefault(mx.smtp, []).append(s.mx_host(mx))
    return kinds


def _others_can_traverse(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


def _postfix_base(root: Path) -> Path:
    """Postfix's folder; outside `root` when a parent is private (pytest's 0700 temp dirs).

    The master takes its lock in data_directory after dropping root to the `postfix` user, so
    every parent folder must be searchable by that user. `root/postfix` is then a symlink, and
    `stop` removes the folder it points to.
    """
    link = root / "postfix"
    if _others_can_traverse(root):
        link.mkdir(exist_ok=True)
        return link
    outside = Path(tempfile.mkdtemp(prefix="mta-sts-wizard-postfix-"))
    outside.chmod(0o711)
    link.symlink_to(outside, target_is_directory=True)
    return outside


def write_postfix(root: Path, scenarios: tuple[sc.Scenario, ...], plan: AddressPlan, ca: Issuers) -> Path:
    base = _postfix_base(root)
    for sub in ("conf", "queue", "data", "certs"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    shutil.chown(base / "data", user="postfix")  # master takes its lock file there after dropping root
    services = []
    for kind, hosts in sorted(_smtp_kinds(scenarios).items()):
        if kind == sc.SMTP_CLOSED:
            continue
        address = plan.allocated[_smtp_key(kind)]
        options = [f"-o syslog_name=postfix/{kind}"]
        if kind == sc.SMTP_PLAIN:
            options.append("-o smtpd_tls_security_level=none")
        else:
            variant = sc.CERT_GOOD if kind in (sc.SMTP_GOOD_2, sc.SMTP_OLD_TLS) else kind
            if kind == sc.SMTP_OLD_TLS:  # OpenSSL 3 needs security level 0 for TLS 1.0/1.1
                options += ["-o smtpd_tls_protocols=<=TLSv1.1", "-o tls_medium_cipherlist=DEFAULT:@SECLEVEL=0"]
            pems = ca.issue(base / "certs", kind, variant, hosts, wrong="mail.elsewhere.test")
            options += [
                "-o smtpd_tls_security_level=may",
                f"-o smtpd_tls_chain_files={pems.key},{pems.cert}",
            ]
        services.append(f"{address}:25 inet n - n - - smtpd\n  " + "\n  ".join(options))
    conf = base / "conf"
    (conf / "main.cf").write_text(
        f"""compatibility_level = 3.6
queue_directory = {base / "queue"}
data_directory = {base / "data"}
mail_owner = postfix
setgid_group = postdrop
myhostname = smtp.realservers.test
mydomain = realservers.test
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
inet_interfaces = loopback-only
inet_protocols = ipv4
smtpd_banner = $myhostname ESMTP
smtpd_relay_restrictions = reject
smtpd_tls_security_level = none
smtpd_tls_loglevel = 1
maillog_file = {base / "postfix.log"}
maillog_file_prefixes = {base}
"""
    )
    (conf / "master.cf").write_text(_master_cf_base() + "\n".join(services) + "\n")
    return conf


def _master_cf_base() -> str:
    """Debian's internal services (qmgr, tlsmgr, anvil, postlog, ...) unchrooted, without `smtp inet`."""
    dist = Path("/usr/share/postfix/master.cf.dist")
    if not dist.exists():
        dist = Path("/etc/postfix/master.cf.proto")
    out: list[str] = []
    skipping = False
    for line in dist.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():  # an option line of the service above
            if not skipping:
                out.append(line)
            continue
        fields = line.split()
        skipping = fields[1] == "inet"  # the packaged listeners; ours are added per address
        if not skipping:
            fields[4] = "n"  # no chroot: the queue lives in a private temp dir
            out.append(" ".join(fields))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- processes


def _pid_file(root: Path, name: str) -> Path:
    return root / "pids" / f"{name}.pid"


def _spawn(root: Path, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    """Start a foreground daemon in its own session; its pid file lets `stop` find it from any process."""
    (root / "pids").mkdir(exist_ok=True)
    log = open(root / f"{name}.out", "ab")  # noqa: SIM115 (the child keeps it)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    log.close()
    _pid_file(root, name).write_text(f"{proc.pid}\n")
    return proc


def _run(argv: list[str], what: str, timeout: float = 15.0) -> str:
    """Run a setup command; its messages go to a pty because postfix only writes them to a terminal."""
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ServersError(f"{what}: `{' '.join(argv)}` did not finish within {timeout:.0f} s") from None
    finally:
        os.close(follower)
    output = _drain(leader)
    if done.returncode != 0:
        raise ServersError(f"{what}: `{' '.join(argv)}` failed ({done.returncode}): {output.strip()[-800:]}")
    return output


def _drain(fd: int) -> str:
    chunks = []
    try:
        while select.select([fd], [], [], 0.2)[0]:
            data = os.read(fd, 65536)
            if not data:
                break
            chunks.append(data)
    except OSError:
        pass
    finally:
        os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def _wait(what: str, ready, deadline: float, log: Path, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `ready()` until it is true; fail with the daemon's log tail once the deadline passes."""
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServersError(f"{what} exited with {proc.returncode} at start; log {log}:\n{_tail(log)}")
        with contextlib.suppress(OSError):
            if ready():
                return
        if time.monotonic() > deadline:
            raise ServersError(f"{what} did not become ready in time; log {log}:\n{_tail(log)}")
        time.sleep(0.05)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _dns_ready(address: str, domains: list[str]) -> bool:
    import dns.message
    import dns.query
    import dns.rcode

    for domain in domains:
        answer = dns.query.udp(dns.message.make_query(domain, "SOA"), address, timeout=0.5)
        if answer.rcode() != dns.rcode.NOERROR or not answer.answer:
            return False
    return True


def _tls_ready(address: str, port: int) -> bool:
    """nginx itself answers: a TLS handshake completes (a bare TCP accept could be another run's socket)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=0.5) as sock, ctx.wrap_socket(sock) as tls:
        return tls.version() is not None


def _tcp_ready(address: str, port: int, banner: bool = False) -> bool:
    with socket.create_connection((address, port), timeout=0.5) as sock:
        if banner:
            sock.settimeout(2.0)
            return sock.recv(512).startswith(b"220")
    return True


# --------------------------------------------------------------------------- start / stop


START_ATTEMPTS = 3  # another run may grab one of our addresses between the check and the bind


def start(root: Path, scenarios: tuple[sc.Scenario, ...] = sc.SCENARIOS, seed: int | None = None) -> World:
    """Write every config under `root` and start knot, nginx and postfix; returns once all answer.

    On any failure the daemons already started are stopped before the error propagates; when
    an address turned out to be taken, it starts over in another random block.
    """
    missing = missing_binaries()
    if missing:
        raise ServersError(f"missing {', '.join(missing)}; install with: apt-get install knot nginx-light postfix")
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return _start_once(root, tuple(scenarios), rng)
        except ServersError as exc:
            if "in use" not in str(exc) or attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _start_once(root: Path, scenarios: tuple[sc.Scenario, ...], rng: random.Random) -> World:
    plan = plan_addresses(scenarios, rng)
    ca = Issuers(TestCA(), TestCA("a CA nobody trusts"))
    ca_bundle = ca.trusted.write_bundle(root / "ca.pem")
    knot_conf = write_knot(root, scenarios, plan)
    nginx_conf = write_nginx(root, scenarios, plan, ca)
    postfix_conf = write_postfix(root, scenarios, plan, ca)
    world = World(root, plan.allocated["knot"], ca_bundle, dict(plan.allocated), tuple(scenarios))
    (root / "world.json").write_text(json.dumps(world.to_json(), indent=2) + "\n")
    deadline = time.monotonic() + START_DEADLINE
    try:
        knot = _spawn(root, "knotd", [which("knotd") or "knotd", "-c", str(knot_conf)])
        nginx_bin = which("nginx") or "nginx"
        _run([nginx_bin, "-t", "-q", "-p", str(root / "nginx"), "-c", str(nginx_conf), "-e", "stderr"], "nginx -t")
        nginx = _spawn(
            root,
            "nginx",
            [nginx_bin, "-p", str(root / "nginx"), "-c", str(nginx_conf), "-e", str(root / "nginx/logs/error.log")],
        )
        _start_postfix(root, postfix_conf)
        domains = [*(s.domain for s in scenarios if s.served), sc.PROVIDER_ZONE]
        _wait("knotd", lambda: _dns_ready(world.nameserver, domains), deadline, root / "knot" / "knot.log", knot)
        for key, address in plan.allocated.items():
            if key.startswith("site:") and _site_listens(scenarios, key):
                log = root / "nginx" / "logs" / "error.log"
                _wait(f"nginx on {address}", lambda a=address: _tls_ready(a, 443), deadline, log, nginx)
        for kind in _smtp_kinds(scenarios):
            if kind != sc.SMTP_CLOSED:
                address = plan.allocated[_smtp_key(kind)]
                log = root / "postfix" / "postfix.log"
                _wait(f"postfix smtpd {kind} on {address}", lambda a=address: _tcp_ready(a, 25, True), deadline, log)
    except BaseException:
        stop(root)
        raise
    return world


def _site_listens(scenarios: tuple[sc.Scenario, ...], key: str) -> bool:
    _, name, index = key.split(":")
    by_name = {s.name: s for s in scenarios}
    return by_name[name].sites[int(index)].listening


def _start_postfix(root: Path, conf: Path) -> None:
    postfix = which("postfix") or "postfix"
    _run([postfix, "-c", str(conf), "check"], "postfix check")
    _run([postfix, "-c", str(conf), "start"], "postfix start", timeout=15.0)
    master_pid = root / "postfix" / "queue" / "pid" / "master.pid"
    deadline = time.monotonic() + 5.0
    while not master_pid.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (root / "pids").mkdir(exist_ok=True)
    with contextlib.suppress(OSError, ValueError):
        _pid_file(root, "postfix").write_text(f"{int(master_pid.read_text().split()[0])}\n")


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _recorded_pids(root: Path) -> dict[str, int]:
    """The daemons' pids from their pid files, kept only if the process is alive and is that daemon."""
    sources = {
        "knotd": (_pid_file(root, "knotd"), "knotd"),
        "nginx": (_pid_file(root, "nginx"), "nginx"),
        "postfix": (root / "postfix" / "queue" / "pid" / "master.pid", "master"),
    }
    found = {}
    for name, (path, expect) in sources.items():
        try:
            pid = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if _alive(pid) and expect in _cmdline(pid):
            found[name] = pid
    return found


def stop(root: Path) -> list[str]:
    """Stop every daemon recorded under `root`, by pid file only; returns the names stopped.

    All get SIGTERM at once (each is its own process group), then a bounded wait, then SIGKILL
    for any left, so teardown costs the slowest daemon's shutdown, not the sum.
    """
    root = Path(root).resolve()
    pids = _recorded_pids(root)
    for pid in pids.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_DEADLINE
    while time.monotonic() < deadline:
        for pid in pids.values():
            _reap(pid)
        if not any(_alive(pid) for pid in pids.values()):
            break
        time.sleep(0.02)
    for pid in pids.values():
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
            _reap(pid)
    for name in BINARIES:
        with contextlib.suppress(OSError):
            _pid_file(root, name).unlink()
    link = root / "postfix"
    if link.is_symlink():
        with contextlib.suppress(OSError):
            shutil.copy(link / "postfix.log", root / "postfix.log")  # keep the log for post-mortems
        shutil.rmtree(link.resolve(), ignore_errors=True)
        link.unlink()
    return sorted(pids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.realservers.servers", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("dir", type=Path, help="private directory for configs, logs, pid files")
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            world = start(args.dir)
            print(json.dumps(world.to_json(), indent=2))
        else:
            names = stop(args.dir)
            print("stopped: " + (", ".join(names) or "nothing was running"))
    except ServersError as exc:
        print(f"servers: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
