"""VC-API use cases: secure a caller's credential as given, verify credentials and presentations.

:class:`VcApi` is what the routes call. A credential or presentation that
does not verify is the caller's answer, not a failure of the request to be
authenticated: it is raised as :class:`~trust_anchor.errors.NotVerified`
(400, ``verified: false``) rather than as a 401.

``issue`` checks the credential against the VC 2.0 data model
(:mod:`identity.vc_model`, JSON-LD expansion included), adds only what the
issuer must (its own ``issuer`` when absent; revocation and suspension
status entries when ``TA_VC_API_STATUS`` says so) and secures it as a
``vc+jwt`` (returned enveloped) or with an ``eddsa-rdfc-2022`` Data
Integrity proof. Everything else (``id``, ``@context``, types, dates,
``name``, ``credentialSchema``, ``termsOfUse``, ...) stays as the caller wrote it.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from identity.data_integrity import EDDSA_RDFC_2022
from identity.errors import DataModelError, VerificationError
from identity.vc import VerifiedCredential, envelope_credential, format_datetime, issuer_id
from identity.vc_model import SchemaStore, parse_datetime_stamp, validate_credential
from identity.vc_verify import CredentialVerifier
from identity.vp import PresentationVerifier, VerifiedPresentation
from servicekit.errors import Forbidden, InvalidRequest, NotFound
from trust_anchor.domain.credentials import credential_schema
from trust_anchor.errors import NotVerified
from trust_anchor.services.issuer import VC_JWT, Issuer
from trust_anchor.settings import TrustAnchorSettings
from trust_anchor.store.credentials import get_credential

__all__ = ["ACCEPT_FORMATS", "VcApi", "choose_proof_format", "held_schemas", "issue"]

#: ``Accept`` media types that choose a proof format.
ACCEPT_FORMATS: Mapping[str, str] = {
    "application/vc+jwt": VC_JWT,
    "application/vc-ld+jwt": VC_JWT,
    "application/vc": EDDSA_RDFC_2022,
    "application/vc+ld+json": EDDSA_RDFC_2022,
}


def choose_proof_format(requested: str | None, accept: str | None, default: str) -> str:
    """``options.proofFormat``, else the first ``Accept`` type we know, else the default."""
    if requested is not None:
        return requested
    for part in (accept or "").split(","):
        media_type = part.split(";", 1)[0].strip().lower()
        if media_type in ACCEPT_FORMATS:
            return ACCEPT_FORMATS[media_type]
    return default


@lru_cache(maxsize=8)
def _load_schemas(directory: Path) -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        document = json.loads(path.read_text("utf-8"))
        if isinstance(document, dict) and isinstance(document.get("$id"), str):
            schemas[document["$id"]] = document
    return schemas


def held_schemas(settings: TrustAnchorSettings) -> SchemaStore:
    """The JSON Schemas we hold, by ``$id``: those in ``TA_VC_API_SCHEMA_DIR`` (read
    once) and the ones the trust anchor publishes for its own credential types
    (``/schemas/{type}.json``)."""
    own = {schema["$id"]: schema for schema in
           (credential_schema(settings, c.type) for c in settings.credential_types)}
    directory = settings.vc_api_schema_dir
    return {**own, **(_load_schemas(directory.resolve()) if directory is not None else {})}


def _types(credential: Mapping[str, Any]) -> list[str]:
    kinds = credential.get("type")
    return [k for k in (kinds if isinstance(kinds, list) else [kinds]) if isinstance(k, str)]


def _first_subject_id(credential: Mapping[str, Any]) -> str:
    subjects = credential.get("credentialSubject")
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
            return str(subject["id"])[:500]
    return ""


async def _record_id(conn: AsyncConnection, credential: Mapping[str, Any]) -> str:
    wanted = credential.get("id")
    if isinstance(wanted, str) and len(wanted) <= 100:
        try:
            await get_credential(conn, wanted)
        except NotFound:
            return wanted
    return f"urn:uuid:{uuid.uuid4()}"


async def issue(
    conn: AsyncConnection,
    issuer: Issuer,
    settings: TrustAnchorSettings,
    given: Mapping[str, Any],
    *,
    proof_format: str,
    validity_days: int | None = None,
) -> dict[str, Any]:
    """The secured credential: an ``EnvelopedVerifiableCredential`` or the credential with a proof.

    Refuses (422) a credential that breaks the data model, names another
    issuer or already carries a proof; (403) a type outside ``TA_VC_API_TYPES``.
    ``validity_days`` sets ``validUntil`` only when the credential has none.
    """
    credential = copy.deepcopy(dict(given))
    if "proof" in credential:
        raise DataModelError("the credential already has a proof; send it unsecured",
                             code="credential-secured", pointer="/proof")
    credential.setdefault("issuer", issuer.did)
    if validity_days is not None and "validUntil" not in credential:
        start = credential.get("validFrom")
        begin = (parse_datetime_stamp(start, "/validFrom") if isinstance(start, str)
                 else issuer.now().replace(microsecond=0))
        credential["validUntil"] = format_datetime(begin + timedelta(days=validity_days))
    schemas = held_schemas(settings)
    # With status entries to add, JSON Schemas are checked on the credential that
    # carries them (a schema may require credentialStatus).
    validate_credential(credential, expand=True,
                        schemas=None if settings.vc_api_status else schemas)
    if issuer_id(credential) != issuer.did:
        raise InvalidRequest(f"this service issues only as {issuer.did}",
                             code="issuer-mismatch", extra={"pointer": "/issuer"})
    allowed = settings.vc_api_types
    refused = [t for t in _types(credential) if t != "VerifiableCredential" and t not in allowed]
    if allowed and refused:
        raise Forbidden(f"the operator does not issue {refused[0]} through the VC-API",
                        code="credential-type-not-allowed", extra={"pointer": "/type"})
    if settings.vc_api_status:
        until = credential.get("validUntil")
        recorded = await issuer.issue_with_status(
            conn, credential, record_id=await _record_id(conn, credential),
            subject_did=_first_subject_id(credential),
            credential_type=next((t for t in _types(credential)
                                  if t != "VerifiableCredential"), "VerifiableCredential")[:100],
            valid_until=parse_datetime_stamp(until, "/validUntil") if until else None,
            proof_format=proof_format,
            check=lambda complete: validate_credential(complete, expand=False,
                                                       schemas=schemas),
        )
        token = recorded.token
    else:
        token = await issuer.sign(credential, proof_format)
    if proof_format == VC_JWT:
        return envelope_credential(token)
    secured: dict[str, Any] = json.loads(token)
    return secured


@dataclass(frozen=True, eq=False)
class VcApi:
    """Issue as the trust anchor; verify credentials and presentations for anyone."""

    engine: AsyncEngine
    settings: TrustAnchorSettings
    issuer: Issuer
    credentials: CredentialVerifier
    presentations: PresentationVerifier

    async def issue(self, credential: Mapping[str, Any], *, proof_format: str | None,
                    accept: str | None, validity_days: int | None) -> dict[str, Any]:
        """Secure ``credential`` (see :func:`issue`) in the format asked for, or the default."""
        chosen = choose_proof_format(proof_format, accept, self.settings.vc_api_proof_format)
        async with self.engine.begin() as conn:
            return await issue(conn, self.issuer, self.settings, credential,
                               proof_format=chosen, validity_days=validity_days)

    async def verify_credential(self, credential: dict[str, Any] | str) -> VerifiedCredential:
        """Proof, issuer binding, data model (and held schemas), validity period and status."""
        try:
            return await self.credentials.verify(
                credential, expand=True, schemas=held_schemas(self.settings))
        except VerificationError as exc:
            raise NotVerified.of(exc) from None

    async def verify_presentation(self, presentation: dict[str, Any] | str, *,
                                  domain: str | None, challenge: str | None
                                  ) -> VerifiedPresentation:
        """The holder's signature, ``challenge`` (nonce), ``domain`` (audience), credentials.

        Whether the credentials are about the holder is the relying party's
        question, not the data model's: the caller reports it.
        """
        try:
            return await self.presentations.verify(
                presentation, audience=domain, nonce=challenge, bind_subjects=False,
                expand=True)
        except VerificationError as exc:
            raise NotVerified.of(exc) from None
