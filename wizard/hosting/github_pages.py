"""GitHub Pages: the folder to commit to a repository published at `mta-sts.<domain>`.

Pages runs Jekyll by default, and Jekyll drops every dot-folder, `.well-known` included;
`.nojekyll` turns Jekyll off, and `_config.yml` also lists the folder in case someone removes
`.nojekyll` later. Pages serves `.txt` files as text/plain and answers the custom domain named
in `CNAME` with its own Let's Encrypt certificate.
"""

from __future__ import annotations

from wizard.hosting.bundle import POLICY_FILE, POLICY_PATH, HostingBundle, policy_host_of, policy_update_note

KIND = "github-pages"
TITLE = "GitHub Pages"


def render(domain: str, policy_text: str, **_options: object) -> HostingBundle:
    """The repository contents; certificate and listen options do not apply to Pages."""
    host = policy_host_of(domain)
    files = {
        POLICY_FILE: policy_text,
        ".nojekyll": "",
        "_config.yml": 'include: [".well-known"]\n',
        "CNAME": f"{host}\n",
    }
    dns_hint = f"{host}. 3600 IN CNAME <your-github-user>.github.io."
    notes = [
        "Commit these files to the root of a repository of their own (hidden files included: .nojekyll and "
        "the .well-known folder), then enable Pages for it (Settings > Pages, deploy from the branch).",
        f"Set the custom domain to {host} (the CNAME file does this when Pages builds from the branch).",
        f"DNS: add '{dns_hint}' (your user or organisation name); do not point it at a project URL path.",
        f"Certificate: GitHub gets one for {host} from Let's Encrypt once DNS resolves; wait until "
        "'Enforce HTTPS' can be ticked, then tick it. Until then the policy URL fails with a certificate error.",
        f"Senders fetch https://{host}{POLICY_PATH}; the site must not redirect it elsewhere.",
        policy_update_note(),
    ]
    return HostingBundle(kind=KIND, title=TITLE, files=files, notes=notes, dns_hint=dns_hint, policy_host=host)
