"""wizard.publication: when live verification counts a published step as seen."""

from __future__ import annotations

from wizard.dnsclient import AuthoritativeView, DnsResult, ServerAnswer
from wizard.engine import PolicyProbe, StsTxtProbe, TlsRptProbe
from wizard.findings import finding
from wizard.https import AddressFetch
from wizard.policy import PolicyFile
from wizard.publication import policy_seen, sts_seen, tlsrpt_seen
from wizard.records import StsRecord, TlsRptRecord

URL = "https://mta-sts.example.com/.well-known/mta-sts.txt"
GENERATED = PolicyFile(mode="testing", max_age=86400, mx=("mx1.example.com", "mx2.example.com"))


def _policy_probe(policy: PolicyFile | None, *, status: int | None = 200, body: bytes | None = b"x") -> PolicyProbe:
    fetch = AddressFetch("127.0.0.2", URL, status=status, content_type="text/plain", body=body)
    return PolicyProbe("mta-sts.example.com", URL, ("127.0.0.2",), [fetch], policy=policy, summary="fetched")


def test_policy_seen_only_when_the_generated_policy_is_served() -> None:
    same = PolicyFile(mode="testing", max_age=86400, mx=("MX2.example.com", "mx1.example.com"))
    result = policy_seen(_policy_probe(same), GENERATED)
    assert result.seen
    assert result.lines == ["127.0.0.2: HTTP 200, text/plain, 1 bytes"]

    old = PolicyFile(mode="testing", max_age=3600, mx=("mx1.example.com",))
    result = policy_seen(_policy_probe(old), GENERATED)
    assert not result.seen
    assert result.mismatch == result.lines[-1]
    assert result.mismatch.startswith(
        "the web server serves a different policy (mode testing, max_age 3600, mx mx1.example.com) than step 1 "
        "made (mode testing, max_age 86400, mx mx1.example.com, mx2.example.com); fix: upload the file from step 1"
    )
    assert policy_seen(_policy_probe(old), None).seen  # nothing generated: any valid policy counts


def test_policy_not_seen_when_served_file_is_invalid_or_nothing_answers() -> None:
    result = policy_seen(_policy_probe(None), GENERATED)
    assert not result.seen
    assert result.lines[-1] == "the file served is not a valid policy yet (see below)"
    result = policy_seen(_policy_probe(None, status=None, body=None), GENERATED)
    assert not result.seen and result.lines == ["127.0.0.2: no answer"]


def test_policy_findings_include_content_findings() -> None:
    probe = _policy_probe(GENERATED)
    probe.findings = [finding("policy-content-type", "served as text/html", "serve text/plain")]
    probe.content_findings = [finding("policy-mode-testing", "testing mode", "")]
    codes = [f.code for f in policy_seen(probe, GENERATED).findings]
    assert codes == ["policy-content-type", "policy-mode-testing"]


def _sts(record_id: str | None) -> StsTxtProbe:
    resolver = DnsResult("_mta-sts.example.com", "TXT", "ok" if record_id else "nxdomain")
    record = StsRecord(record_id) if record_id else None
    return StsTxtProbe("_mta-sts.example.com", resolver, record=record, summary="resolver answers")


def test_sts_seen_compares_the_id() -> None:
    assert sts_seen(_sts("20261128T120000"), "20261128T120000").seen
    result = sts_seen(_sts("20250101T000000"), "20261128T120000")
    assert not result.seen
    assert result.lines == [
        "resolver answers",
        "your DNS servers (authoritative): not reachable from here",
        "your resolver: v=STSv1; id=20250101T000000",
        "resolvers still serve id 20250101T000000; waiting for id 20261128T120000",
    ]
    assert not sts_seen(_sts(None), "20261128T120000").seen
    assert sts_seen(_sts("anything"), None).seen


def _tlsrpt(rua: tuple[str, ...] | None) -> TlsRptProbe:
    resolver = DnsResult("_smtp._tls.example.com", "TXT", "ok" if rua else "nxdomain")
    missing = [] if rua else [finding("tlsrpt-missing", "no TLSRPT record", "publish one")]
    record = TlsRptRecord(rua) if rua else None
    return TlsRptProbe("_smtp._tls.example.com", resolver, findings=missing, record=record, summary="resolver")


def test_tlsrpt_seen_compares_the_rua_set_and_hides_missing_while_waiting() -> None:
    wanted = ("mailto:a@example.com", "https://r.example.com/tlsrpt")
    assert tlsrpt_seen(_tlsrpt(tuple(reversed(wanted))), wanted).seen  # order does not matter
    result = tlsrpt_seen(_tlsrpt(("mailto:a@example.com",)), wanted)
    assert not result.seen
    assert result.lines[-1] == (
        "resolvers serve rua=mailto:a@example.com; waiting for rua=mailto:a@example.com,https://r.example.com/tlsrpt"
    )
    waiting = tlsrpt_seen(_tlsrpt(None), wanted)
    assert not waiting.seen and waiting.findings == []  # missing is expected while waiting


def _auth(name: str, *values: str) -> AuthoritativeView:
    answer = DnsResult(name, "TXT", "ok" if values else "nxdomain", records=values, ttl=300)
    return AuthoritativeView(name, "TXT", "example.com", (ServerAnswer("ns1.example.com", "127.0.0.9", answer),))


def test_a_wrong_id_on_the_authoritative_servers_is_said_at_once_with_both_values_and_the_fix() -> None:
    probe = _sts("20250101T000000")
    probe.authoritative = _auth("_mta-sts.example.com", "v=STSv1; id=20250101T000000")
    result = sts_seen(probe, "20261128T120000")
    assert not result.seen
    assert "your DNS servers (authoritative): v=STSv1; id=20250101T000000" in result.lines
    assert result.mismatch == (
        "your DNS servers publish id=20250101T000000, not the id the wizard expects (id=20261128T120000); "
        'fix: set the TXT record at _mta-sts.example.com to "v=STSv1; id=20261128T120000"'
    )
    assert not any("waiting for caches" in line for line in result.lines)


def test_only_a_resolver_behind_the_authoritative_servers_is_waiting_for_caches() -> None:
    probe = _sts("20250101T000000")
    probe.authoritative = _auth("_mta-sts.example.com", "v=STSv1; id=20261128T120000")
    probe.propagation_seconds = 240
    result = sts_seen(probe, "20261128T120000")
    assert not result.seen and result.mismatch == ""
    assert result.lines[-1] == (
        "waiting for caches (up to 240 s, the TTL): your DNS servers publish id=20261128T120000, "
        "your resolver still serves id=20250101T000000"
    )


def test_a_typo_in_the_published_rua_is_said_at_once() -> None:
    probe = _tlsrpt(("mailto:tlsrpt@exmaple.com",))
    probe.authoritative = _auth("_smtp._tls.example.com", "v=TLSRPTv1; rua=mailto:tlsrpt@exmaple.com")
    result = tlsrpt_seen(probe, ("mailto:tlsrpt@example.com",))
    assert not result.seen
    assert "not the rua the wizard expects (rua=mailto:tlsrpt@example.com)" in result.mismatch
    assert 'fix: set the TXT record at _smtp._tls.example.com to "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"' in (
        result.mismatch
    )
