"""A real Dovecot IMAP server on a random loopback address, for the `reports fetch-imap` tests.

Dovecot (Debian's dovecot-imapd) runs in the foreground from a private config, base dir, password
file and Maildir under a temp dir, listening only on 127.X.Y.Z:993 with TLS required and a
certificate from a test CA (trustme). Nothing of the packaged /etc/dovecot is used.
"""

from __future__ import annotations

import contextlib
import mailbox
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.hosting_servers.loopback import random_loopback

IMAPS_PORT = 993
_START_DEADLINE = 10.0
_MAIL_USER = "nobody"  # Dovecot refuses mail access as root


class DovecotStartError(RuntimeError):
    """Dovecot exited or never listened; the message carries its log."""


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (str(p) for p in (Path("/usr/sbin/dovecot"),) if p.is_file() and os.access(p, os.X_OK)), None
    )


@dataclass
class ImapServer:
    """A running Dovecot: where it listens, who may log in, the CA that signed its certificate."""

    address: str
    port: int
    user: str
    password: str
    ca_file: Path
    maildir: Path
    process: subprocess.Popen[bytes] | None = None

    def drop_clients(self) -> None:
        """Cut every client connection now, as a crashed or restarted server would.

        Dovecot's SIGTERM leaves open sessions running, so this kills this server's own
        imap-login (the TLS end) and imap children, and waits (bounded) until they are gone.
        """
        assert self.process is not None
        victims = [pid for pid, comm in _children(self.process.pid) if comm in ("imap-login", "imap")]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in victims):
            time.sleep(0.02)

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """Every message's IMAP flags by UID, read over IMAP (what a mail client would show)."""
        import imaplib
        import re

        with imaplib.IMAP4_SSL(self.address, self.port, ssl_context=self.client_context(), timeout=10) as imap:
            imap.login(self.user, self.password)
            imap.select(folder, readonly=True)
            typ, data = imap.uid("FETCH", "1:*", "(FLAGS)")
            assert typ == "OK", data
            out: dict[int, set[str]] = {}
            for line in data:
                if not isinstance(line, bytes):
                    continue
                uid = re.search(rb"UID (\d+)", line)
                flags = re.search(rb"FLAGS \(([^)]*)\)", line)
                if uid and flags:
                    out[int(uid.group(1))] = set(flags.group(1).decode().split())
            return out


def fill_maildir(path: Path, messages: list[tuple[bytes, float | None]]) -> None:
    """A Maildir holding `messages` (bytes, mtime or None for now), all unread; owned by the mail user."""
    box = mailbox.Maildir(path, create=True)
    for data, mtime in messages:
        key = box.add(data)
        if mtime is not None:
            file = path / box._lookup(key)  # type: ignore[attr-defined]
            os.utime(file, (mtime, mtime))  # Dovecot takes a Maildir message's INTERNALDATE from its mtime
    box.close()
    ent = pwd.getpwnam(_MAIL_USER)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, ent.pw_uid, ent.pw_gid)


def _config(tmp: Path, address: str) -> str:
    ent = pwd.getpwnam(_MAIL_USER)
    return f"""
instance_name = mtasts-test-{tmp.name}
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
protocols = imap
listen = {address}
ssl = required
ssl_cert = <{tmp}/cert.pem
ssl_key = <{tmp}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
auth_failure_delay = 0
first_valid_uid = {ent.pw_uid}
last_valid_uid = {ent.pw_uid}
first_valid_gid = {ent.pw_gid}
mail_location = maildir:{tmp}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp}/passwd
}}
userdb {{
  driver = static
  args = uid={ent.pw_uid} gid={ent.pw_gid} home={tmp}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {IMAPS_PORT}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def _children(parent: int) -> list[tuple[int, str]]:
    """(pid, command name) of each direct child of `parent`, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent:
            out.append((int(entry.name), comm))
    return out


def _listening(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((address, port)) == 0


@contextlib.contextmanager
def running_dovecot(messages: list[tuple[bytes, float | None]], attempts: int = 3) -> Iterator[ImapServer]:
    """Start Dovecot with `messages` in the test user's INBOX; stop it and remove everything after."""
    binary = dovecot_binary()
    if binary is None:
        raise FileNotFoundError("dovecot")
    tmp = Path(tempfile.mkdtemp(prefix="mtasts-imap-"))
    os.chmod(tmp, 0o755)  # the mail user's processes reach the Maildir below
    proc: subprocess.Popen[bytes] | None = None
    try:
        ca = trustme.CA()
        user, password = "reports", "pw-" + secrets.token_urlsafe(12)
        (tmp / "passwd").write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        (tmp / "ca.pem").write_bytes(ca.cert_pem.bytes())
        for name in ("run", "state", "home"):
            (tmp / name).mkdir()
        maildir = tmp / "mail" / user
        maildir.parent.mkdir()
        os.chmod(maildir.parent, 0o755)
        fill_maildir(maildir, messages)
        home = tmp / "home" / user
        home.mkdir()
        ent = pwd.getpwnam(_MAIL_USER)
        os.chown(home, ent.pw_uid, ent.pw_gid)
        log = tmp / "dovecot.log"
        for _ in range(attempts):
            address = random_loopback(ports=(IMAPS_PORT,))
            leaf = ca.issue_cert(address, "imap.test")
            leaf.cert_chain_pems[0].write_to_path(str(tmp / "cert.pem"))
            leaf.private_key_pem.write_to_path(str(tmp / "key.pem"))
            config = tmp / "dovecot.conf"
            config.write_text(_config(tmp, address))
            log.write_text("")
            proc = subprocess.Popen(
                [binary, "-c", str(config), "-F"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            deadline = time.monotonic() + _START_DEADLINE
            while time.monotonic() < deadline and proc.poll() is None and not _listening(address, IMAPS_PORT):
                time.sleep(0.05)
            if proc.poll() is None and _listening(address, IMAPS_PORT):
                break
            err = _stop(proc)
            proc = None
            text = log.read_text(errors="replace") + err
            if "Address already in use" not in text:
                raise DovecotStartError(f"dovecot did not start on {address}:{IMAPS_PORT}:\n{text}")
        else:
            raise DovecotStartError(f"dovecot found no free loopback address in {attempts} tries")
        yield ImapServer(address, IMAPS_PORT, user, password, tmp / "ca.pem", maildir, proc)
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes]) -> str:
    """Stop Dovecot's master (it stops its children) and return what it printed on stderr."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.stderr.read().decode(errors="replace") if proc.stderr else ""
