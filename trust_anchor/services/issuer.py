"""The trust anchor's issuer: :class:`identity.credential_issuer.CredentialIssuer` over its tables.

Every credential the trust anchor issues carries two
``BitstringStatusListEntry`` objects: one in a revocation list and one in a
suspension list, at random free indexes (the shared issuer does that, and
signs the status lists). Here it also derives the pre-authorized codes of
OpenID4VCI offers.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from identity.credential_issuer import PROOF_FORMATS, VC_JWT, CredentialIssuer
from identity.encoding import b64url_encode
from identity.status_store import CredentialStore
from trust_anchor.store.credentials import CREDENTIALS

__all__ = ["PROOF_FORMATS", "VC_JWT", "Issuer"]


@dataclass
class Issuer(CredentialIssuer):
    """Signs credentials and status lists as the trust anchor's DID."""

    store: CredentialStore = CREDENTIALS
    _offer_key: bytes = field(default=b"", repr=False)

    def _derived(self, message: bytes) -> bytes:
        if not self._offer_key:
            secret = self.identity.key.export_private_jwk()["d"].encode()
            self._offer_key = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"dataspace-toolkit oid4vci pre-authorized codes",
            ).derive(secret)
        return hmac.new(self._offer_key, message, hashlib.sha256).digest()

    def offer_code(self, offer_id: str) -> str:
        """The pre-authorized code of offer ``offer_id``.

        Derived (HMAC) from a key derived from the issuer's private key, so it
        can be shown again to the applicant without being stored: the
        database keeps only its hash, and every replica derives the same code.
        """
        return b64url_encode(self._derived(offer_id.encode()))

    def tx_code(self, offer_id: str) -> str:
        """The six-digit transaction code of offer ``offer_id``.

        Derived like the pre-authorized code (from another message), so the
        operator can be shown it again until the credential is collected while
        the database keeps only its hash.
        """
        number = int.from_bytes(self._derived(b"tx-code:" + offer_id.encode()), "big")
        return f"{number % 10**6:06d}"
