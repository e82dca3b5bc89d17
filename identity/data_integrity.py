"""Data Integrity credentials: ``eddsa-rdfc-2022`` issued and verified here.

``eddsa-rdfc-2022`` (W3C Data Integrity EdDSA Cryptosuites v1.0) is ours:

* :func:`issue_data_integrity` adds a ``DataIntegrityProof`` to a VC 2.0
  credential. The signed bytes are ``sha256(canonical proof config) ||
  sha256(canonical credential)``, both canonicalized with RDFC-1.0 over the
  bundled contexts (:mod:`identity.jsonld`), signed with Ed25519 and written
  as multibase base58btc (``z...``) in ``proofValue``.
* :func:`verify_eddsa_rdfc_2022` checks such a proof with a key resolved by
  our :class:`~identity.resolver.DidResolver` (did:web goes through the
  guarded client), listed in the issuer DID's ``assertionMethod``; the issuer
  must be the DID that signed, and the validity period must hold.
  :class:`~identity.vc_verify.CredentialVerifier` dispatches these proofs
  here and then checks status as for every other form.
* :func:`add_proof` and :func:`check_proof` are the cryptosuite itself for any
  JSON-LD document, without the credential rules (test vectors use them).

Other Linked Data proofs (VC 1.1 ``Ed25519Signature2018`` and friends) are
checked by :mod:`identity.linked_data_proofs` through didkit.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from identity.encoding import multibase_decode, multibase_encode
from identity.errors import VerificationError
from identity.jsonld import DocumentLoader, canonicalize, local_document_loader
from identity.keys import KeyPair, KeyType
from identity.resolver import DidResolver
from identity.signer import Signer
from identity.vc import (
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    CredentialFormat,
    VerifiedCredential,
    describe_valid_credential,
    format_datetime,
    issuer_id,
    parse_datetime,
)

__all__ = [
    "DATA_INTEGRITY_PROOF",
    "DATA_INTEGRITY_V2_CONTEXT",
    "EDDSA_RDFC_2022",
    "UNDEFINED_TERMS_V2_CONTEXT",
    "add_proof",
    "check_proof",
    "check_proof_of",
    "credential_validity",
    "hash_data",
    "is_eddsa_rdfc_2022",
    "issue_data_integrity",
    "proofs_of",
    "verify_eddsa_rdfc_2022",
]

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
#: The same algorithm under its name in the 2022-2023 drafts; verified, never issued.
EDDSA_2022 = "eddsa-2022"
_EDDSA_SUITES = (EDDSA_RDFC_2022, EDDSA_2022)
DATA_INTEGRITY_V2_CONTEXT = "https://w3id.org/security/data-integrity/v2"
#: The VC 2.0 context for terms no other context defines (issuer-dependent IRIs).
UNDEFINED_TERMS_V2_CONTEXT = "https://www.w3.org/ns/credentials/undefined-terms/v2"
_SUITE_CONTEXTS = (
    VC_V2_CONTEXT,
    DATA_INTEGRITY_V2_CONTEXT,
    "https://w3id.org/security/data-integrity/v1",
)


# Canonicalization is CPU-bound pure Python: one worker keeps it off the
# event loop and from taking more than one core.
_canonicalizer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rdfc")


def _contexts(document: Mapping[str, Any]) -> list[Any]:
    contexts = document.get("@context")
    if isinstance(contexts, list):
        return contexts
    return [] if contexts is None else [contexts]


def proofs_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The proof objects of ``document``; ``credential-malformed`` when there are none."""
    proofs = document.get("proof")
    items = proofs if isinstance(proofs, list) else [proofs]
    found = [p for p in items if isinstance(p, Mapping)]
    if not found or len(found) != len(items):
        raise VerificationError("credential has no proof object", code="credential-malformed")
    return found


def is_eddsa_rdfc_2022(document: Mapping[str, Any]) -> bool:
    """True when ``document`` carries a ``DataIntegrityProof`` of ``eddsa-rdfc-2022``."""
    proofs = document.get("proof")
    items = proofs if isinstance(proofs, list) else [proofs]
    return any(
        isinstance(p, Mapping)
        and p.get("type") == DATA_INTEGRITY_PROOF
        and p.get("cryptosuite") in _EDDSA_SUITES
        for p in items
    )


def hash_data(
    document: Mapping[str, Any],
    proof_config: Mapping[str, Any],
    *,
    loader: DocumentLoader = local_document_loader,
) -> bytes:
    """``sha256(canonical proof config) || sha256(canonical document)`` (64 bytes).

    ``document`` is without its proof; ``proof_config`` is the proof without
    ``proofValue``. The proof config is canonicalized with the document's
    ``@context``, as the cryptosuite's proof configuration step says.
    """
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in proof_config.items() if k != "proofValue"}
    config["@context"] = unsecured.get("@context")
    proof_hash = hashlib.sha256(canonicalize(config, loader=loader).encode()).digest()
    document_hash = hashlib.sha256(canonicalize(unsecured, loader=loader).encode()).digest()
    return proof_hash + document_hash


def _ed25519(key: KeyPair) -> KeyPair:
    if key.key_type is not KeyType.ED25519:
        raise VerificationError(
            f"{EDDSA_RDFC_2022} signs with Ed25519 keys only, not {key.key_type.value}",
            code="key-unsupported",
        )
    return key


def add_proof(
    document: Mapping[str, Any],
    key: KeyPair,
    *,
    verification_method: str,
    proof_purpose: str = "assertionMethod",
    created: datetime | None = None,
    loader: DocumentLoader = local_document_loader,
    domain: str | None = None,
    challenge: str | None = None,
) -> dict[str, Any]:
    """``document`` with an ``eddsa-rdfc-2022`` proof by ``key`` (no credential rules).

    ``created`` defaults to now, in whole seconds. The document's contexts
    must define the Data Integrity terms (VC 2.0 or a data-integrity context).
    ``domain`` and ``challenge`` bind a presentation proof to a verifier and
    its request.
    """
    if "proof" in document:
        raise VerificationError(
            "the document already has a proof; proof sets are not supported",
            code="credential-malformed",
        )
    if not any(c in _SUITE_CONTEXTS for c in _contexts(document)):
        raise VerificationError(
            f"add {VC_V2_CONTEXT} or {DATA_INTEGRITY_V2_CONTEXT} to @context",
            code="credential-malformed",
        )
    moment = created if created is not None else datetime.now(UTC).replace(microsecond=0)
    proof: dict[str, Any] = {
        "type": DATA_INTEGRITY_PROOF,
        "cryptosuite": EDDSA_RDFC_2022,
        "created": format_datetime(moment),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if domain is not None:
        proof["domain"] = domain
    if challenge is not None:
        proof["challenge"] = challenge
    signature = _ed25519(key).sign(hash_data(document, proof, loader=loader))
    proof["proofValue"] = multibase_encode(signature, "z")
    return {**document, "proof": proof}


def _proof_of(document: Mapping[str, Any]) -> tuple[Mapping[str, Any], bytes]:
    """The single eddsa-rdfc-2022 proof of ``document`` and its signature bytes."""
    proofs = proofs_of(document)
    if len(proofs) != 1:
        raise VerificationError(
            "proof sets and chains are not supported", code="credential-malformed"
        )
    proof = proofs[0]
    if proof.get("type") != DATA_INTEGRITY_PROOF or proof.get("cryptosuite") not in _EDDSA_SUITES:
        raise VerificationError(
            f"not a {DATA_INTEGRITY_PROOF} of {EDDSA_RDFC_2022}", code="credential-malformed"
        )
    value = proof.get("proofValue")
    try:
        if not isinstance(value, str) or not value.startswith("z"):
            raise ValueError("not base58btc multibase")
        signature = multibase_decode(value)
    except ValueError as exc:
        raise VerificationError(
            "proofValue is not a base58btc multibase string", code="proof-invalid"
        ) from exc
    if len(signature) != 64:
        raise VerificationError("proofValue is not an Ed25519 signature", code="proof-invalid")
    for name in ("created", "expires"):
        if name in proof:
            parse_datetime(proof[name], f"proof.{name}")
    proof_contexts = proof.get("@context")
    if proof_contexts is not None:
        # A proof that names contexts was made over a document starting with them.
        wanted = proof_contexts if isinstance(proof_contexts, list) else [proof_contexts]
        if _contexts(document)[: len(wanted)] != wanted:
            raise VerificationError(
                "the proof's @context does not match the document's", code="proof-invalid"
            )
    return proof, signature


def check_proof(
    document: Mapping[str, Any],
    public_key: Ed25519PublicKey,
    *,
    loader: DocumentLoader = local_document_loader,
) -> Mapping[str, Any]:
    """Check the ``eddsa-rdfc-2022`` proof of ``document`` with ``public_key``.

    Returns the proof; raises ``proof-invalid`` when it does not verify. Says
    nothing about who the key belongs to: that is :func:`verify_eddsa_rdfc_2022`.
    """
    proof, signature = _proof_of(document)
    _verify_signature(public_key, signature, hash_data(document, proof, loader=loader))
    return proof


def _verify_signature(public_key: object, signature: bytes, data: bytes) -> None:
    if not isinstance(public_key, Ed25519PublicKey):
        raise VerificationError(
            f"{EDDSA_RDFC_2022} needs an Ed25519 verification method", code="key-unsupported"
        )
    try:
        public_key.verify(signature, data)
    except InvalidSignature as exc:
        raise VerificationError("proof does not verify", code="proof-invalid") from exc


async def check_proof_of(
    document: Mapping[str, Any],
    resolver: DidResolver,
    *,
    purpose: str,
    current: float,
    skew: float,
    loader: DocumentLoader = local_document_loader,
) -> tuple[Mapping[str, Any], str]:
    """Check the ``eddsa-rdfc-2022`` proof of any document for ``purpose``.

    The proof's ``proofPurpose`` must be ``purpose`` and its key (resolved
    through ``resolver``) listed under that relationship of its DID. Returns
    the proof and the DID of the key. Who that DID must be is the caller's
    rule (the issuer of a credential, the holder of a presentation).
    """
    proof, signature = _proof_of(document)
    method_id = proof.get("verificationMethod")
    if not isinstance(method_id, str) or "#" not in method_id or not method_id.startswith("did:"):
        raise VerificationError("verificationMethod must be a DID URL", code="credential-malformed")
    if proof.get("proofPurpose") != purpose:
        raise VerificationError(f"proofPurpose must be {purpose}", code="key-not-authorized")
    data = await asyncio.get_running_loop().run_in_executor(
        _canonicalizer, functools.partial(hash_data, document, proof, loader=loader)
    )
    method = await resolver.verification_method(method_id, purpose)
    _verify_signature(method.public_key, signature, data)
    if "expires" in proof:
        expires = parse_datetime(proof["expires"], "proof.expires")
        if current - skew >= expires.timestamp():
            raise VerificationError("the proof has expired", code="proof-invalid")
    return proof, method_id.split("#", 1)[0]


def issue_data_integrity(
    credential: Mapping[str, Any],
    signer: Signer,
    *,
    proof_purpose: str = "assertionMethod",
    created: datetime | None = None,
    loader: DocumentLoader = local_document_loader,
) -> dict[str, Any]:
    """Secure a VC 2.0 credential with an ``eddsa-rdfc-2022`` ``DataIntegrityProof``.

    The credential's ``issuer`` must be the signer's DID and the signer's key
    Ed25519; ``verificationMethod`` is the signer's ``kid``. Terms the
    contexts do not define are refused (they would not be signed): add
    :data:`UNDEFINED_TERMS_V2_CONTEXT` or a vocabulary context for them.
    """
    contexts = _contexts(credential)
    if not contexts or contexts[0] != VC_V2_CONTEXT:
        raise VerificationError(
            "a Data Integrity credential here is a VC 2.0 credential", code="credential-malformed"
        )
    if issuer_id(credential) != signer.did:
        raise VerificationError("the credential's issuer is not the signer", code="issuer-mismatch")
    return add_proof(
        credential,
        signer.key,
        verification_method=signer.kid,
        proof_purpose=proof_purpose,
        created=created,
        loader=loader,
    )


def credential_validity(credential: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The validity period a VC 2.0 or 1.1 credential states (``None`` where open)."""
    contexts = _contexts(credential)
    first_context = contexts[0] if contexts else None
    if first_context == VC_V2_CONTEXT:
        start_name, end_name = "validFrom", "validUntil"
    elif first_context == VC_V1_CONTEXT:
        start_name, end_name = "issuanceDate", "expirationDate"
    else:
        raise VerificationError("unknown credential data model", code="credential-malformed")
    start = parse_datetime(credential[start_name], start_name) if start_name in credential else None
    end = parse_datetime(credential[end_name], end_name) if end_name in credential else None
    return start, end


async def verify_eddsa_rdfc_2022(
    credential: Mapping[str, Any],
    resolver: DidResolver,
    *,
    current: float,
    skew: float,
    loader: DocumentLoader = local_document_loader,
) -> VerifiedCredential:
    """Verify a credential secured with an ``eddsa-rdfc-2022`` proof (VC 2.0 or 1.1).

    Checks, cheapest first: the proof's form; that its ``verificationMethod``
    is a DID URL of the issuer (``issuer-mismatch``) for ``assertionMethod``;
    the canonical form (only bundled contexts, no undefined terms); the key
    (resolved through ``resolver``, listed in ``assertionMethod``, Ed25519);
    the signature (``proof-invalid``); proof ``expires`` and the credential's
    validity period. Status is the caller's (``CredentialVerifier``) to check.
    """
    proof, signature = _proof_of(credential)
    issuer = issuer_id(credential)
    method_id = proof.get("verificationMethod")
    if not isinstance(method_id, str) or "#" not in method_id or not method_id.startswith("did:"):
        raise VerificationError("verificationMethod must be a DID URL", code="credential-malformed")
    if method_id.split("#", 1)[0] != issuer:
        raise VerificationError("the proof's key is not the issuer's", code="issuer-mismatch")
    if proof.get("proofPurpose") != "assertionMethod":
        raise VerificationError("proofPurpose must be assertionMethod", code="key-not-authorized")
    start, end = credential_validity(credential)
    data = await asyncio.get_running_loop().run_in_executor(
        _canonicalizer, functools.partial(hash_data, credential, proof, loader=loader)
    )
    method = await resolver.verification_method(method_id, "assertionMethod")
    _verify_signature(method.public_key, signature, data)
    if "expires" in proof:
        expires = parse_datetime(proof["expires"], "proof.expires")
        if current - skew >= expires.timestamp():
            raise VerificationError("the proof has expired", code="proof-invalid")
    return describe_valid_credential(
        credential, issuer=issuer, period=(start, end), current=current, skew=skew,
        fmt=CredentialFormat.LDP_VC, raw=credential, kid=method.id)
