"""Data Integrity (Linked Data proof) credentials, verified with didkit.

didkit checks the proof (JSON-LD canonicalisation and signature) and
resolves the key itself. It would fetch did:web documents on its own,
outside our address guard, so this path accepts only issuers whose DIDs
resolve locally (did:key). Contexts come from didkit's built-in set; it does
not load contexts from the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import didkit
import orjson

from identity.errors import VerificationError
from identity.vc import (
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    CredentialFormat,
    VerifiedCredential,
    check_validity_period,
    describe_credential,
    issuer_id,
    parse_datetime,
)

__all__ = ["LOCAL_DID_METHODS", "verify_data_integrity"]

LOCAL_DID_METHODS = ("did:key:",)
_OPTIONS = orjson.dumps({"proofPurpose": "assertionMethod"}).decode()


async def verify_data_integrity(
    credential: Mapping[str, Any], *, current: float, skew: float
) -> VerifiedCredential:
    """Verify a credential with an embedded ``proof`` (VC 1.1 or 2.0 data model)."""
    proofs = credential.get("proof")
    proof_list: list[Mapping[str, Any]] = [
        p for p in (proofs if isinstance(proofs, list) else [proofs]) if isinstance(p, Mapping)
    ]
    if not proof_list or (isinstance(proofs, list) and len(proof_list) != len(proofs)):
        raise VerificationError("credential has no proof object", code="credential-malformed")
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
    contexts = credential.get("@context")
    first_context = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first_context == VC_V2_CONTEXT:
        start_name, end_name = "validFrom", "validUntil"
    elif first_context == VC_V1_CONTEXT:
        start_name, end_name = "issuanceDate", "expirationDate"
    else:
        raise VerificationError("unknown credential data model", code="credential-malformed")
    start = parse_datetime(credential[start_name], start_name) if start_name in credential else None
    end = parse_datetime(credential[end_name], end_name) if end_name in credential else None
    check_validity_period(start, end, current, skew)
    return describe_credential(
        credential,
        issuer=issuer,
        valid_from=start,
        valid_until=end,
        fmt=CredentialFormat.LDP_VC,
        raw=credential,
        kid=str(method_ids[0]),
    )
