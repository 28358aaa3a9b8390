"""A plain folder: just `.well-known/mta-sts.txt`, for any web host the user already runs.

This is the fallback when none of the specific kinds fits: the user names a directory (their
web root, or a staging copy of it) and the policy file is written there, never replacing a
different file without asking (write_bundle's rule).
"""

from __future__ import annotations

from wizard.hosting.bundle import (
    POLICY_FILE,
    POLICY_PATH,
    HostingBundle,
    dns_note,
    policy_host_of,
    policy_update_note,
    server_dns_hint,
)

KIND = "folder"
TITLE = "A folder (any web server)"


def render(domain: str, policy_text: str, **_options: object) -> HostingBundle:
    """The policy file alone, at its path relative to a web root."""
    host = policy_host_of(domain)
    notes = [
        f"The folder you write to must be the web root of {host}: the file has to be reachable at "
        f"https://{host}{POLICY_PATH} with status 200, Content-Type text/plain and no redirect.",
        f"Certificate: the host needs one valid for {host} from a public CA (Let's Encrypt with certbot, or your "
        "provider's); a certificate only for the bare domain or www does not count.",
        dns_note(host),
        policy_update_note(),
    ]
    return HostingBundle(
        kind=KIND,
        title=TITLE,
        files={POLICY_FILE: policy_text},
        notes=notes,
        dns_hint=server_dns_hint(host),
        policy_host=host,
    )
