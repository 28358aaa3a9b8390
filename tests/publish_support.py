"""An in-process RFC 2136 front for the test world's DNS, for the Pilot tests of "publish it for me".

It answers queries from the world's zone data and applies TSIG-signed UPDATE messages to
it (delete an exact rdata, add an rdata), so the wizard's live checks see the change at once.
The real-server lane (test_publish_realservers.py) runs the same code against Knot; this one
lets the wizard's screens be driven with the in-process world (HTTPS policy host included).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig

from tests.world.dns_server import DnsServer
from tests.world.world import World

KEY_NAME = "pilot-key"


@dataclass
class UpdateFront(DnsServer):
    backend: DnsServer | None = None
    keyring: dict[Any, Any] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    """One line per update applied ("add NAME TXT ..." / "delete NAME TXT ..."), for tests."""

    def _wire(self, data: bytes, udp: bool) -> bytes | None:
        assert self.backend is not None
        try:
            message = dns.message.from_wire(data, keyring=self.keyring)
        except Exception:
            return None  # a bad signature: no answer at all (the client times out, nothing changes)
        if message.opcode() != dns.opcode.UPDATE:
            return self.backend._wire(data, udp)
        response = dns.message.make_response(message)
        for rrset in message.update:  # type: ignore[attr-defined]
            name = rrset.name.to_text(omit_final_dot=True)
            rdtype = dns.rdatatype.to_text(rrset.rdtype)
            for rd in rrset:
                # dnspython keeps a delete's class (NONE, or ANY for a whole RRset) in `deleting`.
                if rrset.deleting == dns.rdataclass.NONE:
                    self._delete(name, rdtype, rd)
                elif rrset.deleting is None:
                    self.backend.add(name, rdtype, rd.to_text(), rrset.ttl)
                    self.applied.append(f"add {name} {rdtype} {rd.to_text()}")
                else:
                    response.set_rcode(dns.rcode.REFUSED)  # an RRset delete: the wizard never sends one
        return response.to_wire()

    def _delete(self, name: str, rdtype: str, rd: dns.rdata.Rdata) -> None:
        assert self.backend is not None
        key = (name.lower().rstrip("."), rdtype)
        kept = []
        for _ttl, text in self.backend.records.get(key, []):
            if dns.rdata.from_text(dns.rdataclass.IN, rdtype, text) == rd:
                self.applied.append(f"delete {name} {rdtype} {text}")
            else:
                kept.append(text)
        self.backend.set(name, rdtype, kept)


def start_front(world: World) -> tuple[UpdateFront, str]:
    """An update front on its own loopback address; returns it and its key as NAME:ALG:SECRET."""
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    key = dns.tsig.Key(dns.name.from_text(KEY_NAME), secret, "hmac-sha256")
    front = world._bind(lambda addr: UpdateFront(addr, backend=world.dns, keyring={key.name: key}))
    return front, f"{KEY_NAME}:hmac-sha256:{secret}"
