"""Publishing through RFC 2136 dynamic updates signed with TSIG (BIND, Knot, PowerDNS, ...).

The update goes to the zone's primary: the address given with `--server`, or the SOA MNAME
resolved through the configured resolver. The records are read straight from that server
(over TCP, so a long TXT set is never truncated), and all changes go in ONE update message:
for each record of ours, a delete of that exact rdata and an add of the new one. The server
applies a message entirely or not at all (RFC 2136 §3.7), so an update is never half-applied,
and the RRset itself is never deleted: other TXT records at the name stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.update

from wizard.dnsclient import DnsClient
from wizard.generate import DEFAULT_TTL, quote_txt
from wizard.nameserver import parse_nameserver
from wizard.publish.errors import PublishRefused, PublishUsageError
from wizard.publish.plan import Existing, Plan
from wizard.publish.tsig import TsigKey
from wizard.records import join_txt_strings
from wizard.text import shown


@dataclass
class Rfc2136Target:
    """One zone on one primary server, updated with one TSIG key."""

    zone: str
    address: str
    port: int
    key: TsigKey
    timeout: float = 10.0
    ttls: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return f"RFC 2136 update of zone {self.zone} at {self.address}:{self.port} with key {self.key.name}"

    async def read(self, names: Sequence[str]) -> dict[str, list[Existing]]:
        """The TXT records at each name as the primary serves them now."""
        out: dict[str, list[Existing]] = {}
        for name in names:
            reply = await self._ask(name, "TXT")
            rcode = reply.rcode()
            if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                raise PublishRefused(
                    f"{self.address} answered {dns.rcode.to_text(rcode)} when asked for {name} TXT; "
                    f"check that it is the primary of {self.zone}"
                )
            records: list[Existing] = []
            qname = dns.name.from_text(name)
            for rrset in reply.answer:
                if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == qname:
                    raise PublishRefused(
                        f"{name} is a CNAME to {shown(rrset[0].target)}; publish the record where it points, "
                        "or remove the CNAME first"
                    )
                if rrset.rdtype == dns.rdatatype.TXT and rrset.name == qname:
                    self.ttls[name] = rrset.ttl
                    records += [Existing(join_txt_strings(rd.strings), rd) for rd in rrset]
            out[name] = records
        return out

    async def apply(self, plan: Plan) -> list[str]:
        """Send every change of the plan in one signed update; returns the changed records as lines."""
        pending = plan.pending
        if not pending:
            return []
        keyring = self.key.keyring()
        keyname = next(iter(keyring))
        update = dns.update.UpdateMessage(self.zone, keyring=keyring, keyname=keyname)
        changed = []
        for change in pending:
            name = dns.name.from_text(change.wanted.name)
            new = txt_rdata(change.wanted.value)
            for old in change.old:
                update.delete(name, old.handle)
            # The TTL is the RRset's: a different one would change the other records' TTL too.
            update.add(name, self.ttls.get(change.wanted.name, DEFAULT_TTL), new)
            changed.append(f"{change.action} {change.wanted.name} TXT {change.wanted.value}")
        try:
            reply = await dns.asyncquery.tcp(update, self.address, port=self.port, timeout=self.timeout)
        except dns.tsig.PeerBadKey:
            raise PublishRefused(self._key_fix("does not know the key (BADKEY)")) from None
        except dns.tsig.PeerBadSignature:
            raise PublishRefused(self._key_fix("rejected the signature (BADSIG): the secret is wrong")) from None
        except dns.tsig.PeerBadTime:
            raise PublishRefused(
                f"{self.address} rejected the update's time (BADTIME); set this machine's clock right"
            ) from None
        except dns.tsig.PeerError as exc:
            raise PublishRefused(self._key_fix(f"rejected the TSIG key ({exc})")) from None
        except (dns.exception.Timeout, TimeoutError):
            raise PublishRefused(
                f"{self.address}:{self.port} did not answer the update within {self.timeout:g} s; check the address"
            ) from None
        except (OSError, EOFError, dns.exception.DNSException) as exc:
            raise PublishRefused(f"could not send the update to {self.address}:{self.port}: {exc}") from None
        rcode = reply.rcode()
        if rcode != dns.rcode.NOERROR:
            raise PublishRefused(self._rcode_line(rcode))
        return changed

    def _key_fix(self, what: str) -> str:
        return (
            f"{self.address} {what}; check NAME:ALG:SECRET of key {self.key.name} against the server's "
            "key configuration"
        )

    def _rcode_line(self, rcode: int) -> str:
        text = dns.rcode.to_text(dns.rcode.Rcode(rcode))
        if rcode == dns.rcode.NOTAUTH:
            return (
                f"{self.address} answered NOTAUTH: it is not the primary of {self.zone}, or key "
                f"{self.key.name} may not update it; give the primary with --server and check the key"
            )
        if rcode == dns.rcode.REFUSED:
            return (
                f"{self.address} REFUSED the update: allow key {self.key.name} to update {self.zone} "
                "(an update ACL or update-policy on the server)"
            )
        return f"{self.address} answered {text} to the update of {self.zone}"

    async def _ask(self, name: str, rdtype: str) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype)
        query.flags &= ~dns.flags.RD
        try:
            return await dns.asyncquery.tcp(query, self.address, port=self.port, timeout=self.timeout)
        except (dns.exception.Timeout, TimeoutError):
            raise PublishRefused(
                f"{self.address}:{self.port} did not answer within {self.timeout:g} s; check --server"
            ) from None
        except (OSError, EOFError, dns.exception.DNSException) as exc:
            raise PublishRefused(f"could not reach {self.address}:{self.port}: {exc}; check --server") from None


def txt_rdata(value: str) -> dns.rdata.Rdata:
    """A TXT rdata of the value in 255-byte character-strings (RFC 1035 §3.3.14)."""
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, quote_txt(value))


async def find_primary(
    domain: str, server: str | None, nameservers: Sequence[str], timeout: float, key: TsigKey
) -> Rfc2136Target:
    """The zone of `domain` and the server to update: `server` if given, else the SOA MNAME."""
    if server:
        try:
            address, port = parse_nameserver(server)
        except ValueError as exc:
            raise PublishUsageError(f"--server: {exc}") from None
        zone = await _zone_at(domain, address, port, timeout)
        return Rfc2136Target(zone, address, port, key, timeout)
    client = DnsClient(tuple(nameservers), timeout=timeout)
    try:
        zone_servers = await client.find_zone(domain)
        if zone_servers.zone is None:
            raise PublishRefused(f"no zone found for {domain}: {zone_servers.error}; give the primary with --server")
        soa = await client.query(zone_servers.zone, "SOA", follow_cnames=False)
        if soa.failed or not soa.rdatas:
            raise PublishRefused(
                f"the SOA of {zone_servers.zone} could not be read ({soa.describe()}); give the primary with --server"
            )
        mname = soa.rdatas[0].mname.to_text(omit_final_dot=True)
        addresses = [a for rdtype in ("A", "AAAA") for a in (await client.query(mname, rdtype)).records]
        if not addresses:
            raise PublishRefused(f"the primary {shown(mname)} (SOA MNAME) has no address; give it with --server")
        ports: Mapping[str, int] = client.port_for
        return Rfc2136Target(zone_servers.zone, addresses[0], ports.get(addresses[0], 53), key, timeout)
    finally:
        await client.close()


async def _zone_at(domain: str, address: str, port: int, timeout: float) -> str:
    """Ask the server itself which of its zones holds `domain` (the SOA in its answer)."""
    query = dns.message.make_query(domain, "SOA")
    query.flags &= ~dns.flags.RD
    try:
        reply = await dns.asyncquery.udp(query, address, port=port, timeout=timeout)
    except (dns.exception.Timeout, TimeoutError):
        raise PublishRefused(f"{address}:{port} did not answer within {timeout:g} s; check --server") from None
    except (OSError, dns.exception.DNSException) as exc:
        raise PublishRefused(f"could not reach {address}:{port}: {exc}; check --server") from None
    rcode = reply.rcode()
    if rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH) or not reply.flags & dns.flags.AA:
        raise PublishRefused(
            f"zone not found: {address}:{port} is not authoritative for {domain} "
            f"({dns.rcode.to_text(rcode)}); give the zone's primary with --server"
        )
    for section in (reply.answer, reply.authority):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset.name.to_text(omit_final_dot=True)
    raise PublishRefused(f"zone not found: {address}:{port} gave no SOA for {domain}; check --server")
