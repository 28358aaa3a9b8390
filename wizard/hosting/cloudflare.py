"""Cloudflare Workers: a Worker that answers the policy path itself, plus its route.

The policy text is compiled into the script as a JSON string literal (valid JavaScript for
any text), so the Worker needs no storage binding; a policy change is a redeploy. The
script uses the module syntax (`export default { fetch }`), which both the Workers runtime
and plain Node.js 18+ understand, which is how the tests run it.
"""

from __future__ import annotations

import json
import re

from wizard.hosting.bundle import POLICY_PATH, HostingBundle, policy_host_of

KIND = "cloudflare-workers"
TITLE = "Cloudflare Workers"

_SCRIPT = """\
// MTA-STS policy host for {domain}, made by mta-sts-wizard.
// Senders fetch https://{host}{path} and accept only status 200, text/plain,
// a certificate valid for {host}, and never a redirect (RFC 8461 §3.3).
// Route: {host}/*

const POLICY_PATH = {path_js};
const POLICY = {policy_js};

export default {{
  async fetch(request) {{
    const url = new URL(request.url);
    if (url.pathname !== POLICY_PATH) {{
      return new Response("Not found\\n", {{
        status: 404,
        headers: {{ "Content-Type": "text/plain; charset=utf-8" }},
      }});
    }}
    if (request.method !== "GET" && request.method !== "HEAD") {{
      return new Response("Method not allowed\\n", {{
        status: 405,
        headers: {{ "Content-Type": "text/plain; charset=utf-8", Allow: "GET, HEAD" }},
      }});
    }}
    return new Response(request.method === "HEAD" ? null : POLICY, {{
      status: 200,
      headers: {{ "Content-Type": "text/plain; charset=utf-8" }},
    }});
  }},
}};
"""


def worker_name(host: str) -> str:
    """A Worker name Cloudflare accepts (lowercase alphanumerics and dashes, at most 63)."""
    return re.sub(r"[^a-z0-9-]+", "-", host.lower()).strip("-")[:63].rstrip("-")


def render(domain: str, policy_text: str, **_options: object) -> HostingBundle:
    """worker.js plus a wrangler.toml that attaches it to `mta-sts.<domain>/*`."""
    host = policy_host_of(domain)
    zone = host.removeprefix("mta-sts.")
    script = _SCRIPT.format(
        domain=domain,
        host=host,
        path=POLICY_PATH,
        path_js=json.dumps(POLICY_PATH),
        policy_js=json.dumps(policy_text, ensure_ascii=True),
    )
    wrangler = (
        f'name = "{worker_name(host)}"\n'
        'main = "worker.js"\n'
        'compatibility_date = "2024-09-23"\n'
        "\n"
        "# The route to attach; zone_name is the Cloudflare zone that holds the name.\n"
        f'routes = [{{ pattern = "{host}/*", zone_name = "{zone}" }}]\n'
    )
    # The record alone (what goes into the zone); that it must be proxied is said beside it, not inside it.
    dns_hint = f"{host}. 300 IN AAAA 100::"
    notes = [
        "Deploy with 'npx wrangler deploy' in this folder, or paste worker.js into a new Worker in the "
        f"dashboard and add the route {host}/* to it (Settings > Domains & Routes).",
        f"If {zone} is not itself the Cloudflare zone (it is a subdomain of one), change zone_name in "
        "wrangler.toml to that zone.",
        f"DNS: add '{dns_hint}' in the zone and set it to Proxied (orange cloud): the route only runs for a "
        "proxied name; the Worker answers, and the address 100:: is never used.",
        f"Certificate: Cloudflare's Universal SSL covers {host} when {zone} is the zone apex; a deeper name "
        "needs an Advanced Certificate (Universal SSL covers one level of subdomain only).",
        "The policy is inside worker.js: when it changes later, redeploy the Worker first and only then "
        "publish a new id in the _mta-sts TXT record (RFC 8461 §8.1).",
    ]
    return HostingBundle(
        kind=KIND,
        title=TITLE,
        files={"worker.js": script, "wrangler.toml": wrangler},
        notes=notes,
        dns_hint=dns_hint,
        policy_host=host,
    )
