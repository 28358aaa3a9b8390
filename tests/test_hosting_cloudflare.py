"""The Cloudflare Worker, run under Node.js with the standard Request/Response globals."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from hosting_servers import require_binary, skip_or_fail

from wizard.hosting import POLICY_PATH, render_hosting, write_bundle

DOMAIN = "example.test"
HOST = f"mta-sts.{DOMAIN}"
HARNESS = Path(__file__).parent / "hosting_servers" / "worker_harness.mjs"
# Quotes, backslashes, a template-literal lookalike, non-ASCII and CRLF must all survive embedding.
TRICKY_POLICY = (
    'version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\nmax_age: 86400\r\nnote: "a\\b" ${x} `y` é\u2028\r\n'
)
POLICY = "version: STSv1\nmode: enforce\nmx: mail.example.test\nmax_age: 1209600\n"


def _node() -> str:
    node = require_binary("node")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    major = int(re.match(r"v(\d+)", version.strip()).group(1))
    if major < 18:
        skip_or_fail(f"node {version.strip()} lacks the global Request/Response (needs Node.js 18+)")
    return node


def _run_worker(tmp_path: Path, policy: str, requests: list[dict[str, str]]) -> list[dict[str, object]]:
    node = _node()
    bundle = render_hosting("cloudflare-workers", DOMAIN, policy)
    assert write_bundle(bundle, tmp_path / "worker").ok
    # Node treats .js as CommonJS without a package.json; the .mjs copy is the same bytes as an ES module.
    module = tmp_path / "worker.mjs"
    shutil.copyfile(tmp_path / "worker" / "worker.js", module)
    out = subprocess.run(
        [node, str(HARNESS), str(module), json.dumps(requests)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_worker_answers_the_policy_path_with_the_exact_policy(tmp_path: Path) -> None:
    got = _run_worker(tmp_path, POLICY, [{"method": "GET", "url": f"https://{HOST}{POLICY_PATH}"}])
    assert got[0]["status"] == 200
    assert str(got[0]["contentType"]).split(";")[0] == "text/plain"
    assert got[0]["body"] == POLICY


def test_worker_returns_404_for_every_other_path(tmp_path: Path) -> None:
    paths = ["/", "/index.html", "/.well-known/", "/.well-known/mta-sts.txt/", "/.well-known/MTA-STS.TXT"]
    got = _run_worker(tmp_path, POLICY, [{"method": "GET", "url": f"https://{HOST}{p}"} for p in paths])
    assert [r["status"] for r in got] == [404] * len(paths)
    assert all(r["body"] != POLICY for r in got)


def test_worker_keeps_unusual_policy_text_byte_for_byte(tmp_path: Path) -> None:
    got = _run_worker(tmp_path, TRICKY_POLICY, [{"method": "GET", "url": f"https://{HOST}{POLICY_PATH}"}])
    assert got[0]["body"] == TRICKY_POLICY


def test_worker_head_and_other_methods(tmp_path: Path) -> None:
    url = f"https://{HOST}{POLICY_PATH}"
    head, post = _run_worker(tmp_path, POLICY, [{"method": "HEAD", "url": url}, {"method": "POST", "url": url}])
    assert (head["status"], head["body"]) == (200, "")
    assert post["status"] == 405


def test_wrangler_config_attaches_the_route() -> None:
    bundle = render_hosting("cloudflare-workers", DOMAIN, POLICY)
    wrangler = bundle.files["wrangler.toml"]
    assert 'main = "worker.js"' in wrangler
    assert f'pattern = "{HOST}/*"' in wrangler
    assert f'zone_name = "{DOMAIN}"' in wrangler
    assert "export default" in bundle.files["worker.js"]
    assert any(f"{HOST}/*" in note for note in bundle.notes)
    assert bundle.dns_hint.startswith(f"{HOST}. ")
