"""DCP 1.0 issuance: a holder asks for credentials, the trust anchor delivers them.

A member's connector (its Credential Service) sends a
``CredentialRequestMessage`` with a self-issued token whose ``token`` claim
lets the trust anchor write to its Credential Service. The request is
recorded (RECEIVED) and a job issues the credentials and delivers a
``CredentialMessage`` to ``{CredentialService}/credentials`` — or a REJECTED
one when the member may not have a type — retrying until the holder
accepts it. Credentials issued for a request are reused when a delivery is
retried, so a retry never issues twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.dcp import CREDENTIAL_MESSAGE, credential_message, service_base_url, validate_dcp
from identity.resolver import DidResolver
from identity.self_issued import create_self_issued_token
from servicekit.jobs import Job, PermanentJobError
from trust_anchor.domain.participants import ApplicationState, membership_claims
from trust_anchor.issuance import Issuer
from trust_anchor.settings import CredentialTypeConfig, TrustAnchorSettings
from trust_anchor.store import credentials as credential_store
from trust_anchor.store import dcp as dcp_store
from trust_anchor.store import participants as participant_store

__all__ = ["DELIVER_JOB", "DcpIssuance", "credential_objects", "credential_schema"]

DELIVER_JOB = "dcp-deliver"
PROFILE = "vc20-bssl/jwt"


def credential_objects(settings: TrustAnchorSettings) -> list[dict[str, Any]]:
    """The ``CredentialObject`` of every type a member may request from us."""
    return [
        {
            "id": config.type,
            "type": "CredentialObject",
            "credentialType": config.type,
            "credentialSchema": f"{settings.base_url}/schemas/{config.type}.json",
            "bindingMethods": ["did:web", "did:key"],
            "profile": PROFILE,
            "offerReason": "membership" if config.on_approval else "request",
        }
        for config in settings.credential_types
        if "self" in config.issued_by
    ]


def credential_schema(settings: TrustAnchorSettings, credential_type: str) -> dict[str, Any]:
    """A JSON Schema of the credentials of ``credential_type`` we issue."""
    subject: dict[str, Any] = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string", "pattern": "^did:"}},
    }
    if credential_type == "MembershipCredential":
        subject["required"] += ["legalName", "organisationNumber", "country", "roles",
                                "memberSince"]
        subject["properties"].update({
            "legalName": {"type": "string"},
            "organisationNumber": {"type": "string"},
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "roles": {"type": "array", "items": {"enum": ["provider", "consumer",
                                                           "marketplace"]}},
            "memberSince": {"type": "string", "format": "date-time"},
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{settings.base_url}/schemas/{credential_type}.json",
        "title": credential_type,
        "type": "object",
        "required": ["@context", "type", "issuer", "credentialSubject", "credentialStatus"],
        "properties": {
            "type": {"type": "array", "contains": {"const": credential_type}},
            "credentialSubject": subject,
        },
    }


class DcpIssuance:
    """Issues and delivers requested credentials (the job handler)."""

    def __init__(self, engine: AsyncEngine, settings: TrustAnchorSettings, issuer: Issuer,
                 resolver: DidResolver, session: aiohttp.ClientSession) -> None:
        self._engine = engine
        self._settings = settings
        self._issuer = issuer
        self._resolver = resolver
        self._session = session

    def _config(self, credential_type: str) -> CredentialTypeConfig | None:
        return next((c for c in self._settings.credential_types
                     if c.type == credential_type and "self" in c.issued_by), None)

    async def deliver(self, job: Job) -> None:
        """Issue (once) and deliver the credentials of one request."""
        request_id: str = job.payload["request_id"]
        access_token: str = job.payload["access_token"]
        at = self._issuer.clock()
        async with self._engine.begin() as conn:
            request = await dcp_store.get_request(conn, request_id)
            if request.status != "RECEIVED":
                return  # settled by an earlier attempt
            participant = await participant_store.participant_by_did(conn, request.holder_did)
            refusal = self._refusal(participant.state, [str(r) for r in participant.roles],
                                    request.credential_ids)
            issued_ids = request.issued
            if refusal is None and issued_ids is None:
                issued_ids = []
                for credential_type in request.credential_ids:
                    config = self._config(credential_type)
                    assert config is not None  # _refusal checked it
                    credential = await self._issuer.issue(
                        conn, subject_did=participant.did, credential_type=credential_type,
                        claims=membership_claims(participant, at), participant_id=participant.id,
                        validity=timedelta(days=config.validity_days))
                    issued_ids.append(credential.id)
                await dcp_store.record_issued(conn, request.id, issued_ids, at)
            containers = []
            for credential_id in issued_ids or []:
                credential = await credential_store.get_credential(conn, credential_id)
                containers.append({"credentialType": credential.credential_type,
                                   "payload": credential.token, "format": "vc+jwt"})
        message = credential_message(
            issuer_pid=request.id, holder_pid=request.holder_pid,
            status="REJECTED" if refusal else "ISSUED", credentials=containers,
            rejection_reason=refusal)
        validate_dcp(CREDENTIAL_MESSAGE, message)
        await self._send(request.holder_did, access_token, message)
        async with self._engine.begin() as conn:
            await dcp_store.settle_request(conn, request.id,
                                           "REJECTED" if refusal else "ISSUED", refusal, at)

    def _refusal(self, state: ApplicationState, roles: list[str],
                 credential_ids: list[str]) -> str | None:
        if state is not ApplicationState.ACTIVE:
            return f"the holder is {state}, not an active member"
        for credential_id in credential_ids:
            config = self._config(credential_id)
            if config is None:
                return f"{credential_id} is not issued on request"
            if config.roles and not set(config.roles) & set(roles):
                return f"{credential_id} needs one of the roles {', '.join(config.roles)}"
        return None

    async def _send(self, holder_did: str, access_token: str, message: dict[str, Any]) -> None:
        document = await self._resolver.resolve(holder_did)
        base = service_base_url(document, allow_loopback=self._settings.dev)
        token = create_self_issued_token(self._issuer.identity.signer, holder_did,
                                         token=access_token)
        async with self._session.post(f"{base}/credentials", json=message,
                                      headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status in (400, 401, 403, 404):
                raise PermanentJobError(
                    f"the credential service refused the delivery ({response.status})")
            if response.status >= 300:
                raise ConnectionError(f"the credential service answered {response.status}")

