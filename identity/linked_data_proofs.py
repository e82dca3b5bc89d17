"""Legacy Linked Data proofs (VC 1.1 ``Ed25519Signature2018`` and friends), checked by didkit.

didkit resolves DIDs itself, outside our address guard, so this path accepts
did:key issuers only; it knows neither VC 2.0 contexts nor ``eddsa-rdfc-2022``,
which :mod:`identity.data_integrity` verifies with our own code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import didkit
import orjson

from identity.data_integrity import credential_validity, proofs_of
from identity.errors import VerificationError
from identity.vc import (
    CredentialFormat,
    VerifiedCredential,
    describe_valid_credential,
    issuer_id,
)

__all__ = ["LOCAL_DID_METHODS", "verify_data_integrity"]

LOCAL_DID_METHODS = ("did:key:",)
_OPTIONS = orjson.dumps({"proofPurpose": "assertionMethod"}).decode()


async def verify_data_integrity(
    credential: Mapping[str, Any], *, current: float, skew: float
) -> VerifiedCredential:
    """Verify a legacy Linked Data proof (VC 1.1 or 2.0 data model) with didkit."""
    proof_list = proofs_of(credential)
    issuer = issuer_id(credential)
    if not issuer.startswith(LOCAL_DID_METHODS):
        raise VerificationError(
            "Data Integrity credentials are accepted from did:key issuers only",
            code="did-method-not-supported",
        )
    method_ids = [p.get("verificationMethod") for p in proof_list]
    if any(not isinstance(m, str) or m.split("#", 1)[0] != issuer for m in method_ids):
        raise VerificationError("the proof's key is not the issuer's", code="issuer-mismatch")
    if any(p.get("proofPurpose", "assertionMethod") != "assertionMethod" for p in proof_list):
        raise VerificationError("proofPurpose must be assertionMethod", code="key-not-authorized")
    try:
        report = orjson.loads(
            await didkit.verify_credential(orjson.dumps(credential).decode(), _OPTIONS)
        )
    except Exception as exc:  # didkit.DIDKitException; its stub types it as a value
        raise VerificationError("proof could not be checked", code="proof-invalid") from exc
    if (
        not isinstance(report, dict)
        or report.get("errors")
        or "proof" not in report.get("checks", [])
    ):
        raise VerificationError("proof does not verify", code="proof-invalid")
    start, end = credential_validity(credential)
    return describe_valid_credential(
        credential, issuer=issuer, period=(start, end), current=current, skew=skew,
        fmt=CredentialFormat.LDP_VC, raw=credential, kid=str(method_ids[0]))
