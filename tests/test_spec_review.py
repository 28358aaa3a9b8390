"""SPEC review: one test per SPEC rule that no other test drove through its real path.

Engine rules run against the loopback test world (real DNS, HTTPS and SMTP servers);
foundation rules call the parsers directly. Each test names the SPEC section it proves.
A test marked xfail(strict) is a gap whose fix belongs to a file this review may not
edit; the proposed fix is in its reason and in the review report.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import ssl
import tempfile
from collections.abc import Callable

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.test_findings_contract import contract_table
from tests.world.https_server import HttpsServer, Site
from tests.world.smtp_server import MxSpec, SmtpServer
from tests.world.world import World
from wizard import https as https_module
from wizard.engine import check_domain, probe_policy, probe_sts_txt, probe_tlsrpt
from wizard.findings import CODES
from wizard.monitor.problems import MONITOR_CODES
from wizard.policy import PolicyFile, parse_policy, policy_advice
from wizard.records import parse_tlsrpt_record

# ----------------------------------------------------------------------------- helpers


def _codes(findings: list) -> set[str]:
    return {f.code for f in findings}


def _ctx_for(ca: trustme.CA, *sans: str, chain: bool = True, child: trustme.CA | None = None) -> ssl.SSLContext:
    """A server context whose leaf carries exactly `sans` (issued by `child` or `ca`)."""
    issuer = child or ca
    leaf = issuer.issue_cert(*sans)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if chain:
        leaf.configure_cert(ctx)
    else:  # the leaf alone: the intermediate is missing
        with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as f:
            f.write(leaf.private_key_pem.bytes() + leaf.cert_chain_pems[0].bytes())
        ctx.load_cert_chain(f.name)
        os.unlink(f.name)
    return ctx


def _raw_ctx(ca: trustme.CA, *sans: str) -> ssl.SSLContext:
    """A leaf signed by `ca` with SAN strings trustme refuses to issue (e.g. `*.*.example`)."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "review")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as f:
        f.write(pem)
    ctx.load_cert_chain(f.name)
    os.unlink(f.name)
    return ctx


def _policy_server(world: World, name: str, ctx: ssl.SSLContext, body: bytes | None = None) -> HttpsServer:
    """Serve the policy of `name` from a new address of mta-sts.<name> with the given TLS context."""
    host = f"mta-sts.{name}"
    text = body if body is not None else PolicyFile("testing", 604800, (f"mx.{name}",)).to_text().encode()
    server = world._bind(lambda addr: HttpsServer(addr, 443, {host: Site(body=text)}, lambda _n, _s: ctx))
    world.dns.add(host, "A", server.address)
    return server


class _NoLengthServer(HttpsServer):
    """Answers 200 text/plain with no Content-Length: the body ends when the connection closes."""

    size = 0

    async def _respond(self, writer: asyncio.StreamWriter, site: Site) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
        for start in range(0, self.size, 8192):
            writer.write(b"#" * min(8192, self.size - start))
            await writer.drain()


# ----------------------------------------------------------------------------- SPEC §2: HTTPS fetch


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        ("text/plain", True),
        ("text/plain; charset=utf-8", True),
        ("text/plain; charset=UTF-8", True),
        ('text/plain; charset="us-ascii"', True),
        ("Text/Plain;charset=us-ascii", True),
        ("text/plain; format=flowed", True),  # parameters other than charset are ignored
        ("text/plain; format=flowed; charset=utf-8", True),
        ("text/plain; charset=iso-8859-1", False),
        ("text/plain; charset=utf-16", False),
        ("text/html", False),
        ("text/html; charset=utf-8", False),
        ("application/octet-stream", False),
        (None, False),  # no Content-Type header at all
    ],
)
async def test_media_type_rule(world: World, content_type: str | None, accepted: bool) -> None:
    """SPEC §2 Media type and §11.10: text/plain with charset utf-8/us-ascii or none; anything else is an error."""
    name = world.fresh("ctype")
    world.domain(name, https=Site(content_type=content_type))
    probe = await probe_policy(name, world.options())
    found = [f for f in probe.findings if f.code == "policy-content-type"]
    assert (not found) == accepted, [f.render() for f in probe.findings]
    assert probe.policy is not None  # the body is still read and parsed either way
    if not accepted:
        assert found[0].severity == "error" and found[0].address == probe.addresses[0]
        if content_type is None:
            assert "no Content-Type" in found[0].message


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_is_reported_with_location_and_never_followed(world: World, status: int) -> None:
    """SPEC §2 Status, §11.9: any 3xx is an error naming the Location; the target is never requested."""
    name = world.fresh("redir")
    target = f"https://mta-sts.{name}/elsewhere/mta-sts.txt"  # same server: a followed redirect would show
    scenario = world.domain(name, https=Site(status=status, reason="Moved", location=target))
    probe = await probe_policy(name, world.options())
    assert _codes(probe.findings) == {"policy-redirect"}
    assert target in probe.findings[0].message
    assert probe.fetches[0].location == target
    assert probe.policy is None
    assert [r.path for r in scenario.https[0].requests] == ["/.well-known/mta-sts.txt"]


async def test_redirect_without_location_still_reported(world: World) -> None:
    """SPEC §2: a 3xx is a redirect even when the Location header is missing."""
    name = world.fresh("redir-noloc")
    world.domain(name, https=Site(status=302, reason="Found"))
    probe = await probe_policy(name, world.options())
    assert _codes(probe.findings) == {"policy-redirect"}
    assert "no Location header" in probe.findings[0].message


@pytest.mark.parametrize(("status", "code"), [(200, None), (203, "policy-http-status"), (204, "policy-http-status")])
async def test_only_status_200_counts(world: World, status: int, code: str | None) -> None:
    """SPEC §2 Status: a policy is valid only if the response is 200 (other 2xx included)."""
    name = world.fresh("status")
    world.domain(name, https=Site(status=status, reason="X"))
    probe = await probe_policy(name, world.options())
    assert ("policy-http-status" in _codes(probe.findings)) == (code is not None)
    assert (probe.policy is not None) == (code is None)


@pytest.mark.parametrize(("size", "too_large"), [(65536, False), (65537, True)])
async def test_64_kib_cap_with_content_length(world: World, size: int, too_large: bool) -> None:
    """SPEC §2 Limits, §11.11: 64 KiB is accepted, one byte more is policy-too-large."""
    name = world.fresh("cap")
    world.domain(name, https=Site(body=b"#" * size))
    probe = await probe_policy(name, world.options())
    assert ("policy-too-large" in _codes(probe.findings)) == too_large
    assert (probe.fetches[0].body is None) == too_large


@pytest.mark.parametrize(("size", "too_large"), [(65536, False), (200_000, True)])
async def test_64_kib_cap_while_streaming_without_content_length(world: World, size: int, too_large: bool) -> None:
    """SPEC §2 Limits: the cap is applied to the bytes as they arrive, not only to a declared length."""
    name = world.fresh("stream")
    world.domain(name, policy=None)
    host = f"mta-sts.{name}"
    world.pki.files("good", (host,))

    def make(addr: str) -> _NoLengthServer:
        server = _NoLengthServer(addr, 443, {host: Site()}, lambda n, _s: world.pki.server_context("good", (n,)))
        server.size = size
        return server

    server = world._bind(make)
    world.dns.add(host, "A", server.address)
    probe = await probe_policy(name, world.options())
    assert ("policy-too-large" in _codes(probe.findings)) == too_large, [f.render() for f in probe.findings]
    if too_large:
        assert probe.fetches[0].body is None
    else:
        assert probe.fetches[0].body is not None and len(probe.fetches[0].body) == size


async def test_fetch_deadline_is_capped_even_when_timeout_is_larger(world: World, monkeypatch) -> None:
    """SPEC §2 Limits (60 s): the cap wins over a larger --timeout. The cap is shrunk so the test is quick."""
    monkeypatch.setattr(https_module, "MAX_FETCH_SECONDS", 0.5)
    name = world.fresh("deadline")
    world.domain(name, https=Site(behaviour="drip"))
    probe = await probe_policy(name, world.options(timeout=30.0))
    assert _codes(probe.findings) == {"policy-timeout"}
    assert "0.5 s" in probe.findings[0].message
    assert https_module.MAX_FETCH_SECONDS == 0.5 and https_module.MAX_POLICY_BYTES == 64 * 1024


async def test_policy_fetch_never_uses_plain_http(world: World) -> None:
    """SPEC §2 URL: HTTPS only; the request arrives over TLS with SNI = the policy host."""
    name = world.fresh("https-only")
    scenario = world.domain(name)
    await probe_policy(name, world.options())
    assert [(r.sni, r.path) for r in scenario.https[0].requests] == [(scenario.policy_host, "/.well-known/mta-sts.txt")]


async def test_wildcard_certificate_covers_the_policy_host(world: World) -> None:
    """SPEC §2 TLS: `*.example.com` covers `mta-sts.example.com` (whole left-most label)."""
    name = world.fresh("wild")
    world.domain(name, policy=None)
    _policy_server(world, name, _ctx_for(world.pki.ca, f"*.{name}"))
    probe = await probe_policy(name, world.options())
    assert probe.findings == [] and probe.policy is not None


@pytest.mark.parametrize(
    ("sans", "why"),
    [
        (lambda parent: (f"*.{parent}",), "one-level wildcard of the parent does not cover mta-sts.sub.<parent>"),
        (lambda parent: (f"*.*.{parent}",), "two-level wildcard is never valid"),
        (lambda parent: (f"mta-sts*.sub.{parent}",), "partial-label wildcard"),
        (lambda parent: (f"sub.{parent}", f"www.sub.{parent}"), "apex and www only"),
    ],
)
async def test_policy_host_names_not_covered(world: World, sans: Callable[[str], tuple[str, ...]], why: str) -> None:
    """SPEC §2 TLS, §11.8: SAN DNS-IDs only, wildcard only as the whole left-most label."""
    parent = world.fresh("p")
    name = f"sub.{parent}"
    world.domain(name, policy=None)
    _policy_server(world, name, _raw_ctx(world.pki.ca, *sans(parent)))
    probe = await probe_policy(name, world.options())
    assert _codes(probe.findings) == {"policy-tls-name-mismatch"}, why
    assert probe.policy is None


async def test_cn_is_ignored_when_a_san_names_another_host(world: World) -> None:
    """SPEC §2 TLS: no CN fallback, even with the right CN next to a wrong SAN."""
    name = world.fresh("cn")
    world.domain(name, policy=None)
    leaf = world.pki.ca.issue_cert(f"other.{name}", common_name=f"mta-sts.{name}")
    leaf_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(leaf_ctx)
    _policy_server(world, name, leaf_ctx)
    probe = await probe_policy(name, world.options())
    assert _codes(probe.findings) == {"policy-tls-name-mismatch"}


async def test_missing_intermediate_is_untrusted(world: World) -> None:
    """SPEC §11.8: a chain without its intermediate does not reach the root."""
    name = world.fresh("inter")
    world.domain(name, policy=None)
    child = world.pki.ca.create_child_ca()
    _policy_server(world, name, _ctx_for(world.pki.ca, f"mta-sts.{name}", chain=False, child=child))
    probe = await probe_policy(name, world.options())
    assert _codes(probe.findings) == {"policy-tls-untrusted"}


async def test_full_chain_with_intermediate_is_trusted(world: World) -> None:
    """SPEC §2 TLS: the same leaf with its intermediate served passes (the control for the test above)."""
    name = world.fresh("inter-ok")
    world.domain(name, policy=None)
    child = world.pki.ca.create_child_ca()
    _policy_server(world, name, _ctx_for(world.pki.ca, f"mta-sts.{name}", child=child))
    probe = await probe_policy(name, world.options())
    assert probe.findings == [] and probe.policy is not None


async def test_html_error_page_served_with_200(world: World) -> None:
    """SPEC §11.11: an HTML page with status 200 is both the wrong media type and not a policy."""
    name = world.fresh("html200")
    page = b"<!DOCTYPE html>\n<html><body><h1>Not Found</h1></body></html>\n"
    world.domain(name, https=Site(content_type="text/html; charset=utf-8", body=page))
    probe = await probe_policy(name, world.options())
    assert _codes(probe.findings) == {"policy-content-type"}
    assert _codes(probe.content_findings) == {"policy-syntax"}
    assert probe.policy is None


async def test_cache_headers_are_ignored(world: World) -> None:
    """SPEC §2 Status: senders do not use HTTP caching; Cache-Control/Expires/ETag change nothing."""
    name = world.fresh("cache")
    world.domain(name, https=Site(headers={"Cache-Control": "max-age=60", "Expires": "0", "ETag": '"x"'}))
    probe = await probe_policy(name, world.options())
    assert probe.findings == [] and probe.policy is not None


# ----------------------------------------------------------------------------- SPEC §4: MX


def _mx_server(world: World, host: str, ctx: ssl.SSLContext, seen_sni: list[str | None] | None = None) -> SmtpServer:
    def context() -> ssl.SSLContext:
        if seen_sni is not None:

            def note(_sock: ssl.SSLObject, server_name: str | None, _c: ssl.SSLContext) -> None:
                seen_sni.append(server_name)

            ctx.sni_callback = note  # type: ignore[assignment]
        return ctx

    world.ensure_zone(host)
    server = world._bind(lambda addr: SmtpServer(addr, host, MxSpec(), context))
    world.dns.add(host, "A", server.address)
    return server


async def test_mx_wildcard_san_and_sni(world: World) -> None:
    """SPEC §4.2: the MX host goes in SNI; a `*.example.com` SAN covers one label only."""
    name = world.fresh("mxwild")
    one, two = f"mx1.{name}", f"a.b.{name}"
    world.domain(name, mx=[], policy=PolicyFile("enforce", 1209600, (one, f"*.b.{name}")))
    wildcard = _ctx_for(world.pki.ca, f"*.{name}")
    sni_one: list[str | None] = []
    sni_two: list[str | None] = []
    _mx_server(world, one, wildcard, sni_one)
    _mx_server(world, two, _ctx_for(world.pki.ca, f"*.{name}"), sni_two)
    world.dns.add(name, "MX", f"10 {one}.")
    world.dns.add(name, "MX", f"20 {two}.")
    report = await check_domain(name, world.options())
    by_host = {p.host: _codes(p.findings) for p in report.smtp}
    assert by_host == {one: set(), two: {"mx-tls-name-mismatch"}}, [f.render() for f in report.findings]
    assert sni_one[:1] == [one] and sni_two[:1] == [two]


async def test_mx_trailing_dot_and_case_are_normalised_before_matching(world: World) -> None:
    """SPEC §4.1: strip one trailing dot of the MX target and compare case-insensitively."""
    name = world.fresh("mxcase")
    host = f"mx1.{name}"
    world.domain(name, mx=[host], policy=PolicyFile("enforce", 1209600, (host.upper(),)))
    world.dns.remove(name, "MX")
    world.dns.add(name, "MX", f"10 {host.upper()}.")
    report = await check_domain(name, world.options())
    assert not {"mx-not-covered", "mx-pattern-unused"} & _codes(report.findings), [f.render() for f in report.findings]


async def test_mx_under_a_wildcard_by_two_labels_is_not_covered(world: World) -> None:
    """SPEC §4.1, §11.17: `*.example.com` does not match `a.b.example.com` nor the apex."""
    name = world.fresh("mxdeep")
    deep = f"a.b.{name}"
    world.domain(name, mx=[deep, name], policy=PolicyFile("enforce", 1209600, (f"*.{name}",)))
    report = await check_domain(name, world.options(probe_smtp=False))
    uncovered = sorted(f.subject for f in report.findings if f.code == "mx-not-covered")
    assert uncovered == sorted([deep, name])


# ----------------------------------------------------------------------------- SPEC §1: `_mta-sts` TXT


@pytest.mark.parametrize("wrong", ["{d}", "_mta_sts.{d}", "_mta-sts.mta-sts.{d}"])
async def test_sts_record_in_a_wrong_place(world: World, wrong: str) -> None:
    """SPEC §11.1: a v=STSv1 record at the apex, `_mta_sts` or `_mta-sts.mta-sts` is sts-txt-wrong-place."""
    name = world.fresh("place")
    world.domain(name, sts_id=None)
    world.txt(wrong.format(d=name), ["v=STSv1; id=abc"])
    probe = await probe_sts_txt(name, world.options())
    assert _codes(probe.findings) == {"sts-txt-missing", "sts-txt-wrong-place"}
    assert any(f.subject == wrong.format(d=name) for f in probe.findings if f.code == "sts-txt-wrong-place")


async def test_multi_string_txt_is_joined_without_a_space(world: World) -> None:
    """SPEC §1, §11.5: `"v=STSv1; id=ab" "cd"` has the id `abcd`."""
    name = world.fresh("multi")
    world.domain(name, sts_id=None)
    world.dns.set(f"_mta-sts.{name}", "TXT", ['"v=STSv1; id=ab" "cd"'])
    world.dns.set(f"_smtp._tls.{name}", "TXT", ['"v=TLSRPTv1; rua=mailto:tls" "rpt@example.test"'])
    sts = await probe_sts_txt(name, world.options())
    rpt = await probe_tlsrpt(name, world.options())
    assert sts.record is not None and sts.record.id == "abcd" and sts.findings == []
    assert rpt.record is not None and rpt.record.rua == ("mailto:tlsrpt@example.test",) and rpt.findings == []


async def test_unrelated_txt_next_to_the_record_is_allowed(world: World) -> None:
    """SPEC §1: records not starting `v=STSv1;` are dropped, so they are no error."""
    name = world.fresh("unrel")
    world.domain(name, sts_txt=["google-site-verification=abc", "v=STSv1; id=x1"])
    probe = await probe_sts_txt(name, world.options())
    assert probe.findings == [] and probe.record is not None and probe.record.id == "x1"


async def test_sts_cname_chain_of_two_hops(world: World) -> None:
    """SPEC §1, §11.6: `_mta-sts` may be a chain of CNAMEs across zones; senders follow it."""
    name = world.fresh("chain")
    world.domain(name, sts_id=None)
    world.dns.add_zone(f"hop1-{name}")
    world.dns.add_zone(f"hop2-{name}")
    world.dns.add(f"_mta-sts.{name}", "CNAME", f"a.hop1-{name}.")
    world.dns.add(f"a.hop1-{name}", "CNAME", f"b.hop2-{name}.")
    world.txt(f"b.hop2-{name}", ["v=STSv1; id=twohops"])
    probe = await probe_sts_txt(name, world.options())
    assert probe.record is not None and probe.record.id == "twohops", [f.render() for f in probe.findings]
    assert probe.resolver.cnames == (f"a.hop1-{name}", f"b.hop2-{name}")


async def test_sts_cname_to_a_non_sts_record(world: World) -> None:
    """SPEC §11.6: a CNAME pointing at a TXT that is not v=STSv1 means no policy, and says so."""
    name = world.fresh("cname-other")
    world.domain(name, sts_id=None)
    world.dns.add_zone(f"prov-{name}")
    world.dns.add(f"_mta-sts.{name}", "CNAME", f"x.prov-{name}.")
    world.txt(f"x.prov-{name}", ["v=spf1 -all"])
    probe = await probe_sts_txt(name, world.options())
    assert _codes(probe.findings) == {"sts-txt-missing"}
    assert "is a CNAME" in probe.findings[0].message


async def test_space_before_semicolon_is_invalid(world: World) -> None:
    """SPEC §10 (EID 6285): `v=STSv1 ;` does not begin with exactly `v=STSv1;`, so senders drop it."""
    name = world.fresh("sp")
    world.domain(name, sts_txt=["v=STSv1 ; id=abc"])
    probe = await probe_sts_txt(name, world.options())
    assert _codes(probe.findings) == {"sts-txt-invalid"} and probe.record is None


async def test_parent_policy_does_not_cover_a_mail_subdomain(world: World) -> None:
    """SPEC §3.4, §11.21: a subdomain without a record is told the parent's policy does not cover it."""
    parent = world.fresh("parent")
    world.domain(parent)
    sub = f"mail.{parent}"
    world.domain(sub, sts_id=None)
    probe = await probe_sts_txt(sub, world.options())
    assert _codes(probe.findings) == {"sts-txt-missing"}
    assert f"_mta-sts.{parent}" in probe.findings[0].message


# ----------------------------------------------------------------------------- SPEC §6: TLSRPT


async def test_tlsrpt_at_smtp_tcp_is_named(world: World) -> None:
    """SPEC §6, §11.24: a TLSRPT record at `_smtp._tcp` is reported as the wrong name."""
    name = world.fresh("tcp")
    world.domain(name, tlsrpt=None)
    world.txt(f"_smtp._tcp.{name}", ["v=TLSRPTv1; rua=mailto:a@example.test"])
    probe = await probe_tlsrpt(name, world.options())
    assert _codes(probe.findings) == {"tlsrpt-missing"}
    assert f"_smtp._tcp.{name}" in probe.findings[0].message


async def test_tlsrpt_at_tls_smtp_is_named(world: World) -> None:
    """SPEC §11.24: a TLSRPT record at `_tls._smtp` is reported as the wrong name."""
    name = world.fresh("tlssmtp")
    world.domain(name, tlsrpt=None)
    world.txt(f"_tls._smtp.{name}", ["v=TLSRPTv1; rua=mailto:a@example.test"])
    probe = await probe_tlsrpt(name, world.options())
    assert _codes(probe.findings) == {"tlsrpt-missing"}
    assert f"_tls._smtp.{name}" in probe.findings[0].message


def test_repeated_rua_is_a_warning_and_the_record_stands() -> None:
    record, findings = parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@example.test; rua=https://r.example.test/x")
    assert record is not None and record.rua == ("mailto:a@example.test", "https://r.example.test/x")
    assert findings and all(f.severity == "warning" for f in findings)


# ----------------------------------------------------------------------------- SPEC §3: policy file


@pytest.mark.parametrize(
    ("odd_line", "key"),
    [("Mode: enforce", "mode"), ("max-age: 5", "max_age"), ("MX: other.example.com", "mx"), ("Version: x", "version")],
)
def test_wrong_case_key_next_to_the_real_key_is_an_ignored_extension(odd_line: str, key: str) -> None:
    """SPEC §3 Unknown keys: `Mode:` is an extension senders ignore; with `mode:` present the policy stands."""
    text = f"version: STSv1\nmode: testing\n{odd_line}\nmx: mx.example.com\nmax_age: 86400\n"
    parsed = parse_policy(text)
    assert parsed.policy == PolicyFile("testing", 86400, ("mx.example.com",), extensions=parsed.policy.extensions)
    assert [f.line for f in parsed.findings] == [3]  # still pointed out: it was surely meant as the real key
    assert f"'{key}:" in parsed.findings[0].fix


@pytest.mark.parametrize("odd_line", ["Mode: enforce", "max-age: 86400"])
def test_wrong_case_key_alone_leaves_the_field_missing(odd_line: str) -> None:
    """SPEC §3: `Mode:` alone means the policy fails for lack of `mode` (and `max-age:` for lack of max_age)."""
    lines = ["version: STSv1", "mode: testing", "mx: mx.example.com", "max_age: 86400"]
    key = "mode" if odd_line.startswith("Mode") else "max_age"
    lines = [odd_line if line.startswith(key + ":") else line for line in lines]
    parsed = parse_policy("\n".join(lines) + "\n")
    assert parsed.policy is None
    assert any(f"required '{key}' line is missing" in f.message for f in parsed.findings)


def test_extension_value_with_a_tab_inside_breaks_the_grammar() -> None:
    """SPEC §3 ext-value = vchar [*(%x20 / vchar) vchar]: only spaces may separate words, no tab."""
    parsed = parse_policy("version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\nnote: a\tb\n")
    assert parsed.policy is None
    assert [(f.code, f.line) for f in parsed.findings] == [("policy-syntax", 5)]


def test_extension_value_with_spaces_and_utf8_is_fine() -> None:
    """SPEC §3 ext-value: UTF-8 and inner spaces are allowed."""
    parsed = parse_policy("version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\nnote: bücher und mehr\n")
    assert parsed.policy is not None and parsed.policy.extensions == (("note", "bücher und mehr"),)
    assert parsed.findings == []


def test_zone_wide_wildcard_pattern_is_pointed_out() -> None:
    advice = policy_advice(PolicyFile("enforce", 1209600, ("*.example.com",)))
    assert any("*.example.com" in f.message and f.severity in ("warning", "info") for f in advice)


# ----------------------------------------------------------------------------- CONTRACT


def test_every_code_the_foundation_can_emit_is_in_the_contract() -> None:
    """CONTRACT: findings carry only listed codes, with the listed severity (finding() looks it up)."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1] / "wizard"
    used: set[str] = set()
    for path in root.rglob("*.py"):
        used.update(re.findall(r'finding\(\s*(?:f?)"([a-z0-9-]+)"', path.read_text()))
        for prefix in re.findall(r'f"\{kind\}-([a-z-]+)"', path.read_text()):
            used.update({f"policy-{prefix}", f"mx-{prefix}"})
    assert used, "no finding() calls found"
    assert used - MONITOR_CODES <= set(CODES), sorted(used - MONITOR_CODES - set(CODES))


@pytest.mark.xfail(
    strict=True,
    reason="issue 16: monitor's own codes (failure spike, reports stopped, certificate in the 21/7/1-day bands, "
    "MX set changed, report source unreadable) are documented in wizard/monitor/__init__.py and await CONTRACT.md",
)
def test_monitor_codes_are_in_the_contract() -> None:
    assert set(contract_table()) >= MONITOR_CODES
