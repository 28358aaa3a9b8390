"""Record generation: the whole set in zone, panel-table and JSON form (issue 2), checked by reading it back.

The zone fragment is read back with dnspython's zone parser (an independent reader), and
every TXT value is re-parsed with the record parsers, so "valid" means valid to a reader.
"""

from __future__ import annotations

import json

import dns.rdatatype
import dns.zone
import pytest

from wizard.domain import normalise_domain
from wizard.generate import build_record_set, dns_records, quote_txt, render_json, render_table, render_zone, split_txt
from wizard.ids import is_valid_id
from wizard.policy import PolicyFile, parse_policy
from wizard.records import join_txt_strings, parse_sts_record, parse_tlsrpt_record

RUA = ("mailto:tlsrpt@example.com", "https://reports.example.com/tlsrpt")


def record_set(domain: str = "example.com", **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("mx", ("mail.example.com", "*.backup.example.com"))
    kw.setdefault("rua", RUA)
    kw.setdefault("policy_id", "20261128T120000")
    return build_record_set(normalise_domain(domain), **kw)


def zone_txt(fragment: str, origin: str) -> dict[str, str]:
    """Owner name -> joined TXT value, as a DNS server loading the fragment would see it."""
    text = f"$ORIGIN {origin}.\n@ 3600 IN SOA ns. host. 1 2 3 4 5\n@ 3600 IN NS ns.\n" + fragment
    zone = dns.zone.from_text(text, origin=origin + ".", relativize=False, check_origin=False)
    out = {}
    for name, rdataset in zone.iterate_rdatasets(dns.rdatatype.TXT):
        (rdata,) = list(rdataset)
        out[name.to_text()] = join_txt_strings(rdata.strings)
        assert all(len(s) <= 255 for s in rdata.strings)
    return out


def test_record_set_holds_policy_and_both_records() -> None:
    rs = record_set(mode="enforce", max_age=604800)
    assert rs.policy == PolicyFile(mode="enforce", max_age=604800, mx=("mail.example.com", "*.backup.example.com"))
    assert parse_policy(rs.policy_text).policy == rs.policy
    assert parse_sts_record(rs.sts.to_text()) == (rs.sts, [])
    assert rs.tlsrpt is not None and parse_tlsrpt_record(rs.tlsrpt.to_text()) == (rs.tlsrpt, [])


def test_defaults_are_testing_one_day_and_a_fresh_valid_id() -> None:
    rs = build_record_set(normalise_domain("example.com"), ["mail.example.com"])
    assert rs.policy.mode == "testing" and rs.policy.max_age == 86400
    assert is_valid_id(rs.sts.id)
    assert rs.tlsrpt is None


def test_without_rua_there_is_no_tlsrpt_record() -> None:
    rs = record_set(rua=())
    assert [r.relative for r in dns_records(rs)] == ["_mta-sts", "mta-sts"]


def test_zone_fragment_loads_into_a_zone_with_the_right_names_and_values() -> None:
    rs = record_set()
    fragment = render_zone(rs)
    records = zone_txt(fragment, "example.com")
    assert records == {
        "_mta-sts.example.com.": "v=STSv1; id=20261128T120000",
        "_smtp._tls.example.com.": "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.com/tlsrpt",
    }
    # the host record is a note, not a record with a placeholder value
    assert "mta-sts.example.com." in fragment and "A/AAAA" in fragment
    assert "<your web host>" not in fragment


def test_zone_fragment_for_an_idn_uses_a_labels_and_shows_both_spellings() -> None:
    rs = record_set("bücher.example", mx=("mail.xn--bcher-kva.example",))
    fragment = render_zone(rs)
    assert "bücher.example (xn--bcher-kva.example)" in fragment.splitlines()[0]
    assert set(zone_txt(fragment, "xn--bcher-kva.example")) == {
        "_mta-sts.xn--bcher-kva.example.",
        "_smtp._tls.xn--bcher-kva.example.",
    }


def test_panel_table_has_relative_and_absolute_names_type_ttl_value() -> None:
    rs = record_set()
    table = render_table(rs)
    lines = table.splitlines()
    assert lines[0].split() == ["Name", "(relative)", "Name", "(absolute)", "Type", "TTL", "Value"]
    rows = {line.split()[0]: line for line in lines[2:5]}
    assert rows["_mta-sts"].split()[:4] == ["_mta-sts", "_mta-sts.example.com.", "TXT", "3600"]
    assert rows["_mta-sts"].endswith("v=STSv1; id=20261128T120000")
    assert rows["_smtp._tls"].split()[:4] == ["_smtp._tls", "_smtp._tls.example.com.", "TXT", "3600"]
    assert rows["_smtp._tls"].endswith(rs.tlsrpt.to_text())  # type: ignore[union-attr]
    assert rows["mta-sts"].split()[:2] == ["mta-sts", "mta-sts.example.com."]
    assert "A/AAAA or CNAME" in rows["mta-sts"]
    assert any(line.startswith("* mta-sts:") and "HTTPS" in line for line in lines)


def test_json_rendering() -> None:
    rs = record_set("Bücher.example", mx=("mail.xn--bcher-kva.example",), mode="none", max_age=0)
    doc = json.loads(render_json(rs))
    assert doc["domain"] == "xn--bcher-kva.example"
    assert doc["domain_unicode"] == "bücher.example"
    assert doc["policy_url"] == "https://mta-sts.xn--bcher-kva.example/.well-known/mta-sts.txt"
    assert doc["id"] == "20261128T120000"
    assert doc["policy"]["mode"] == "none" and doc["policy"]["max_age"] == 0
    assert doc["policy"]["mx"] == ["mail.xn--bcher-kva.example"]
    assert parse_policy(doc["policy"]["text"]).policy == rs.policy
    by_name = {r["relative_name"]: r for r in doc["records"]}
    assert set(by_name) == {"_mta-sts", "_smtp._tls", "mta-sts"}
    sts = by_name["_mta-sts"]
    assert sts["name"] == "_mta-sts.xn--bcher-kva.example." and sts["type"] == "TXT" and sts["ttl"] == 3600
    assert sts["strings"] == [sts["value"]] and parse_sts_record(sts["value"])[1] == []
    assert parse_tlsrpt_record(by_name["_smtp._tls"]["value"])[1] == []
    assert by_name["mta-sts"]["type"] == "A/AAAA or CNAME" and by_name["mta-sts"]["note"]
    assert "strings" not in by_name["mta-sts"]


def test_long_txt_value_is_split_into_255_byte_strings_that_join_back() -> None:
    rua = tuple(f"mailto:tlsrpt-{n:02d}@reports.example.com" for n in range(16))
    rs = record_set(rua=rua)
    value = rs.tlsrpt.to_text()  # type: ignore[union-attr]
    assert len(value) > 2 * 255
    strings = split_txt(value)
    assert [len(s) for s in strings[:-1]] == [255] * (len(strings) - 1)
    assert 0 < len(strings[-1]) <= 255
    assert join_txt_strings(strings) == value
    # zone form: a DNS server sees the same strings, and the joined value parses back
    loaded = zone_txt(render_zone(rs), "example.com")["_smtp._tls.example.com."]
    assert loaded == value
    assert parse_tlsrpt_record(loaded) == (rs.tlsrpt, [])
    # JSON form
    doc = json.loads(render_json(rs))
    tls = next(r for r in doc["records"] if r["relative_name"] == "_smtp._tls")
    assert tls["strings"] == strings


@pytest.mark.parametrize("length", [0, 1, 254, 255, 256, 510, 511])
def test_split_txt_boundaries(length: int) -> None:
    value = "x" * length
    strings = split_txt(value)
    assert "".join(strings) == value
    assert all(len(s) <= 255 for s in strings)
    assert len(strings) == max(1, -(-length // 255))


def test_quote_txt_escapes_quotes_and_backslashes_per_chunk() -> None:
    assert quote_txt('a"b\\c') == '"a\\"b\\\\c"'
    quoted = quote_txt("y" * 300)
    assert quoted == '"' + "y" * 255 + '" "' + "y" * 45 + '"'
