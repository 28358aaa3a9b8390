"""Start and stop Debian's nginx, apache2 and caddy around a generated site config.

Each server gets a private wrapper config (pid file, logs, modules) that includes the file the
wizard generated unchanged, the way a distribution's main config includes a site file. Every
wait is bounded; every process is started in its own session and stopped by its own id.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from hosting_servers.loopback import random_loopback

START_DEADLINE = 20.0
STOP_DEADLINE = 10.0
ADDRESS_ATTEMPTS = 4

#: Debian package that provides each binary, for the skip message.
_PACKAGES = {"nginx": "nginx-light", "apache2": "apache2", "apache2ctl": "apache2", "caddy": "caddy", "node": "nodejs"}


class ServerStartError(RuntimeError):
    """The server exited or never listened; the message carries its log."""


def require_binary(name: str) -> str:
    """The binary's path, or skip the test (fail under CI=true, where .ci/run installs it)."""
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.is_file() and os.access(p, os.X_OK)),
        None,
    )
    if path:
        return path
    skip_or_fail(f"{name} is not installed (Debian package {_PACKAGES.get(name, name)}; .ci/run installs it)")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip locally; under CI=true, where .ci/run installs everything, a missing piece is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, and CI=true requires the real-server tests to run")
    pytest.skip(reason)


@contextmanager
def world_readable_tempdir() -> Iterator[Path]:
    """A temp dir the servers' unprivileged workers (nobody, www-data) can read.

    pytest's tmp_path lives under a 0700 directory, which the workers cannot enter.
    """
    path = Path(tempfile.mkdtemp(prefix="mta-sts-hosting-", dir="/tmp"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class RunningServer:
    """One started server: where it listens, its process, and its log."""

    name: str
    address: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server's process group (it was started in a session of its own)."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_DEADLINE)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _launch(
    name: str, cmd: list[str], address: str, log_path: Path, env: dict[str, str] | None = None
) -> RunningServer:
    log = open(log_path, "wb")  # noqa: SIM115 - handed to the child, closed below
    try:
        process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env
        )
    finally:
        log.close()
    server = RunningServer(name, address, process, log_path)
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"{name} exited with {process.returncode}:\n{server.log()}")
        try:
            with socket.create_connection((address, 443), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise ServerStartError(f"{name} did not listen on {address}:443 within {START_DEADLINE:.0f} s:\n{server.log()}")


def _with_free_address(start: Callable[[str], RunningServer]) -> RunningServer:
    """Run `start` on fresh random addresses until one is not taken by a concurrent run."""
    last: ServerStartError | None = None
    for _ in range(ADDRESS_ATTEMPTS):
        address = random_loopback()
        try:
            return start(address)
        except ServerStartError as exc:
            if "in use" not in str(exc).lower():
                raise
            last = exc
    raise ServerStartError(f"every loopback address tried was taken: {last}")


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, check=False)


# --- nginx -----------------------------------------------------------------------------------


def _nginx_main_conf(workdir: Path, site_conf: Path) -> Path:
    """A main config like Debian's nginx.conf, but private: it includes the generated site file."""
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / "temp" / sub).mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(
        "daemon off;\n"
        "worker_processes 1;\n"
        f"pid {workdir}/nginx.pid;\n"
        f"error_log {workdir}/nginx-error.log info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {workdir}/nginx-access.log;\n"
        f"    client_body_temp_path {workdir}/temp/body;\n"
        f"    proxy_temp_path {workdir}/temp/proxy;\n"
        f"    fastcgi_temp_path {workdir}/temp/fastcgi;\n"
        f"    uwsgi_temp_path {workdir}/temp/uwsgi;\n"
        f"    scgi_temp_path {workdir}/temp/scgi;\n"
        f"    include {site_conf};\n"
        "}\n"
    )
    return conf


def nginx_configtest(workdir: Path, site_conf: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on a main config that includes the generated site file."""
    nginx = require_binary("nginx")
    conf = _nginx_main_conf(workdir, site_conf)
    return _run([nginx, "-t", "-e", "stderr", "-p", str(workdir), "-c", str(conf)])


def start_nginx(workdir: Path, site_for: Callable[[str], Path]) -> RunningServer:
    """Serve the site file `site_for(address)` returns, on a free random loopback address."""
    nginx = require_binary("nginx")

    def start(address: str) -> RunningServer:
        conf = _nginx_main_conf(workdir, site_for(address))
        cmd = [nginx, "-e", str(workdir / "nginx-start.log"), "-p", str(workdir), "-c", str(conf)]
        server = _launch("nginx", cmd, address, workdir / "nginx.log")
        return server

    return _with_free_address(start)


# --- Apache httpd ----------------------------------------------------------------------------

_APACHE_MODULES = ("mpm_event", "authz_core", "alias", "mime", "ssl", "socache_shmcb")


def _apache_confdir(workdir: Path, site_conf: Path, address: str | None) -> Path:
    """A private APACHE_CONFDIR whose apache2.conf loads the few modules and includes the site."""
    confdir = workdir / "apache2"
    run = workdir / "apache2-run"
    confdir.mkdir(exist_ok=True)
    run.mkdir(exist_ok=True)
    modules = "".join(f"LoadModule {name}_module /usr/lib/apache2/modules/mod_{name}.so\n" for name in _APACHE_MODULES)
    listens = f"Listen {address}:443\nListen {address}:80\n" if address else "Listen 443\nListen 80\n"
    (confdir / "apache2.conf").write_text(
        f'ServerRoot "{confdir}"\n'
        f'DefaultRuntimeDir "{run}"\n'
        f'PidFile "{run}/apache2.pid"\n'
        f"Mutex file:{run} default\n"
        f'ErrorLog "{workdir}/apache2-error.log"\n'
        "LogLevel warn\n"
        "ServerName localhost\n"
        "User www-data\n"
        "Group www-data\n"
        f"{modules}"
        "TypesConfig /etc/mime.types\n"
        f"{listens}"
        f'Include "{site_conf}"\n'
    )
    return confdir


def apache_configtest(workdir: Path, site_conf: Path) -> subprocess.CompletedProcess[str]:
    """`apache2ctl configtest` with APACHE_CONFDIR pointing at a config including the site file."""
    apache2ctl = require_binary("apache2ctl")
    confdir = _apache_confdir(workdir, site_conf, None)
    env = {**os.environ, "APACHE_CONFDIR": str(confdir)}
    return _run([apache2ctl, "configtest"], env=env)


def start_apache(workdir: Path, site_for: Callable[[str], Path]) -> RunningServer:
    """Serve the site file `site_for(address)` returns, on a free random loopback address."""
    apache2 = require_binary("apache2")

    def start(address: str) -> RunningServer:
        confdir = _apache_confdir(workdir, site_for(address), address)
        cmd = [apache2, "-d", str(confdir), "-DFOREGROUND", "-E", str(workdir / "apache2-start.log")]
        try:
            return _launch("apache2", cmd, address, workdir / "apache2.log")
        except ServerStartError as exc:
            detail = (
                (workdir / "apache2-start.log").read_text(errors="replace")
                if (workdir / "apache2-start.log").exists()
                else ""
            )
            raise ServerStartError(f"{exc}\n{detail}") from None

    return _with_free_address(start)


# --- Caddy -----------------------------------------------------------------------------------


def _caddy_env(workdir: Path) -> dict[str, str]:
    """Keep Caddy's data and config (certificates, autosave) inside the test's directory."""
    home = workdir / "caddy-home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }


def caddy_validate(workdir: Path, caddyfile: Path) -> subprocess.CompletedProcess[str]:
    """`caddy validate` on the generated Caddyfile exactly as written."""
    caddy = require_binary("caddy")
    return _run([caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"], env=_caddy_env(workdir))


def start_caddy(workdir: Path, site_for: Callable[[str], Path]) -> RunningServer:
    """Serve the Caddyfile `site_for(address)` returns, imported under test-only global options.

    The globals turn off what must not run in a test: the admin API (a fixed port on
    localhost), the automatic port-80 redirect server (it would bind every address) and
    installing a local CA into the system trust store.
    """
    caddy = require_binary("caddy")

    def start(address: str) -> RunningServer:
        site = site_for(address)
        wrapper = workdir / "Caddyfile.test"
        wrapper.write_text(
            "{\n"
            "\tadmin off\n"
            "\tauto_https disable_redirects\n"
            "\tskip_install_trust\n"
            f"\tstorage file_system {workdir}/caddy-storage\n"
            "}\n"
            f"import {site}\n"
        )
        cmd = [caddy, "run", "--config", str(wrapper), "--adapter", "caddyfile"]
        return _launch("caddy", cmd, address, workdir / "caddy.log", env=_caddy_env(workdir))

    return _with_free_address(start)
