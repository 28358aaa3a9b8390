"""A TSIG key given as NAME:ALG:SECRET (`--tsig`, `MTA_STS_WIZARD_TSIG`, or the masked prompt).

The secret stays in memory only: it is never saved and never printed (`TsigKey` hides it
from repr).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from typing import Any

from wizard.publish.errors import PublishUsageError

ENV_TSIG = "MTA_STS_WIZARD_TSIG"

#: Algorithm names as BIND's and Knot's key files spell them.
ALGORITHMS = ("hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha224", "hmac-sha1", "hmac-md5")


@dataclass(frozen=True)
class TsigKey:
    name: str
    algorithm: str
    secret: str = field(repr=False)

    def keyring(self) -> dict[Any, Any]:
        """The key as dnspython wants it for `dns.update.UpdateMessage(keyring=...)`."""
        import dns.name
        import dns.tsig

        algorithm = "hmac-md5.sig-alg.reg.int" if self.algorithm == "hmac-md5" else self.algorithm
        key = dns.tsig.Key(dns.name.from_text(self.name), self.secret, algorithm)
        return {key.name: key}


def parse_tsig(text: str, where: str = "--tsig") -> TsigKey:
    """NAME:ALG:SECRET -> TsigKey, or PublishUsageError saying what to type."""
    parts = text.strip().split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise PublishUsageError(
            f"{where}: write the key as NAME:ALGORITHM:SECRET, e.g. update-key:hmac-sha256:c2VjcmV0"
        )
    name, algorithm, secret = parts[0], parts[1].lower(), parts[2]
    if algorithm not in ALGORITHMS:
        raise PublishUsageError(f"{where}: algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    try:
        binascii.a2b_base64(secret.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise PublishUsageError(f"{where}: the secret is not base64 (copy it from the server's key file)") from None
    try:
        import dns.name

        dns.name.from_text(name)
    except Exception:
        raise PublishUsageError(f"{where}: {name!r} is not a valid key name") from None
    return TsigKey(name, algorithm, secret)
