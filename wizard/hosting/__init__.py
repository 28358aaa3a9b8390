"""Step 2: the files that serve the policy at `https://mta-sts.<domain>/.well-known/mta-sts.txt`.

One module per hosting kind renders a `HostingBundle`; this registry is what the step 2
screen lists and what `generate --hosting KIND` accepts, in the order users should see them
(self-run servers first, then hosted services, then the plain folder).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from wizard.hosting import apache, caddy, cloudflare, folder, github_pages, netlify, nginx
from wizard.hosting.bundle import (
    POLICY_FILE,
    POLICY_PATH,
    HostingBundle,
    HostingError,
    WriteResult,
    write_bundle,
)

__all__ = [
    "HOSTING_KINDS",
    "POLICY_FILE",
    "POLICY_PATH",
    "SERVER_KINDS",
    "HostingBundle",
    "HostingError",
    "WriteResult",
    "render_hosting",
    "write_bundle",
]

_MODULES: tuple[ModuleType, ...] = (nginx, apache, caddy, github_pages, netlify, cloudflare, folder)

#: kind -> human title, in display order.
HOSTING_KINDS: dict[str, str] = {module.KIND: module.TITLE for module in _MODULES}

#: The kinds that run on the user's own server and so take certificate/web-root/listen options.
SERVER_KINDS: frozenset[str] = frozenset({nginx.KIND, apache.KIND, caddy.KIND})

_RENDERERS: dict[str, Callable[..., HostingBundle]] = {module.KIND: module.render for module in _MODULES}


def render_hosting(
    kind: str,
    domain: str,
    policy_text: str,
    *,
    cert_path: str | None = None,
    key_path: str | None = None,
    web_root: str | None = None,
    listen_address: str | None = None,
) -> HostingBundle:
    """Render the files for one hosting kind.

    `domain` must be in A-label form (wizard.domain.normalise_domain gives that). `cert_path`
    and `key_path` default to certbot's paths for `mta-sts.<domain>` (Caddy: Caddy's own
    certificate); `web_root` defaults to `/var/www/mta-sts.<domain>`; `listen_address` binds to
    one IP instead of all. Those four only matter to SERVER_KINDS and are ignored by the rest.
    Raises HostingError (a ValueError with a one-line message) for an unknown kind or unsafe input.
    """
    renderer = _RENDERERS.get(kind)
    if renderer is None:
        raise HostingError(f"unknown hosting kind {kind!r}; choose one of: {', '.join(HOSTING_KINDS)}")
    return renderer(
        domain,
        policy_text,
        cert_path=cert_path,
        key_path=key_path,
        web_root=web_root,
        listen_address=listen_address,
    )
