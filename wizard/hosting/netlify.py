"""Netlify: the folder to deploy, with a `_headers` file pinning the media type.

Netlify picks a Content-Type from the extension; `_headers` makes `text/plain` explicit for
the one path senders fetch, so a later change of Netlify's defaults cannot break the policy.
"""

from __future__ import annotations

from wizard.hosting.bundle import POLICY_FILE, POLICY_PATH, HostingBundle, policy_host_of, policy_update_note

KIND = "netlify"
TITLE = "Netlify"


def render(domain: str, policy_text: str, **_options: object) -> HostingBundle:
    """The publish folder; certificate and listen options do not apply to Netlify."""
    host = policy_host_of(domain)
    headers = f"{POLICY_PATH}\n  Content-Type: text/plain; charset=utf-8\n"
    files = {POLICY_FILE: policy_text, "_headers": headers}
    dns_hint = f"{host}. 3600 IN CNAME <your-site>.netlify.app."
    notes = [
        "Deploy this folder as a site of its own (drag it onto app.netlify.com/drop, or 'netlify deploy --prod "
        "--dir DIR'); the hidden .well-known folder must be part of the upload.",
        f"Add {host} as the site's primary custom domain: Netlify redirects alias domains to the primary "
        "one, and senders never follow redirects.",
        f"DNS: add '{dns_hint}' (your site's name).",
        f"Certificate: Netlify gets one for {host} from Let's Encrypt by itself once DNS resolves "
        "(Domain management > HTTPS shows when it is ready).",
        f"Senders fetch https://{host}{POLICY_PATH}; do not add redirect rules that match it.",
        policy_update_note(),
    ]
    return HostingBundle(kind=KIND, title=TITLE, files=files, notes=notes, dns_hint=dns_hint, policy_host=host)
