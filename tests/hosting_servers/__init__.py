"""Real nginx, Apache httpd and Caddy on a random loopback address, for the hosting tests.

The step 2 bundles are only worth something if the real servers accept them and serve the
policy the way senders fetch it. These helpers start each server from Debian's package with a
private config around the generated file, on a random 127.X.Y.Z address (several test runs
share this machine), with a throw-away CA and a leaf for `mta-sts.<domain>`, and stop it after.
"""

from __future__ import annotations

from hosting_servers.certs import TestPki, make_pki
from hosting_servers.loopback import random_loopback
from hosting_servers.servers import (
    RunningServer,
    ServerStartError,
    apache_configtest,
    caddy_validate,
    nginx_configtest,
    require_binary,
    skip_or_fail,
    start_apache,
    start_caddy,
    start_nginx,
    world_readable_tempdir,
)

__all__ = [
    "RunningServer",
    "ServerStartError",
    "TestPki",
    "apache_configtest",
    "caddy_validate",
    "make_pki",
    "nginx_configtest",
    "random_loopback",
    "require_binary",
    "skip_or_fail",
    "start_apache",
    "start_caddy",
    "start_nginx",
    "world_readable_tempdir",
]
