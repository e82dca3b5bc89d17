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

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.dcp import (
    CREDENTIAL_MESSAGE,
    CREDENTIAL_REQUEST_MESSAGE,
    CREDENTIAL_STATUS,
    DCP_CONTEXT,
    ISSUER_METADATA,
    STORAGE_PATH,
    credential_message,
    send_to_credential_service,
    validate_dcp,
)
from identity.resolver import DidResolver
from identity.self_issued import SelfIssuedToken, SelfIssuedTokenVerifier
from servicekit.errors import Forbidden, InvalidRequest, NotFound
from servicekit.ids import new_id
from servicekit.jobs import Job, JobHandler, JobRunner, enqueue
from trust_anchor.domain.credentials import credential_objects, credential_schema
from trust_anchor.domain.participants import ApplicationState, membership_claims
from trust_anchor.services.issuance import verified_caller
from trust_anchor.services.issuer import Issuer
from trust_anchor.settings import CredentialTypeConfig, TrustAnchorSettings
from trust_anchor.store import credentials as credential_store
from trust_anchor.store import dcp as dcp_store
from trust_anchor.store import participants as participant_store

__all__ = ["DELIVER_JOB", "DcpIssuance"]

#: The job kind that issues and delivers the credentials of one request.
DELIVER_JOB = "dcp-deliver"


@dataclass(frozen=True, eq=False)
class DcpIssuance:
    """The DCP issuer service: metadata, requests and their status, delivery (a job)."""

    engine: AsyncEngine
    settings: TrustAnchorSettings
    issuer: Issuer
    resolver: DidResolver
    session: aiohttp.ClientSession
    callers: SelfIssuedTokenVerifier
    runner: JobRunner

    def jobs(self) -> dict[str, JobHandler]:
        """The job kind this runs (issuing and delivering a request), for the app's job table."""
        return {DELIVER_JOB: self.deliver}

    def metadata(self) -> dict[str, Any]:
        """``IssuerMetadata`` with one ``CredentialObject`` per requestable type."""
        body = {
            "@context": [DCP_CONTEXT],
            "type": "IssuerMetadata",
            "issuer": self.issuer.did,
            "credentialsSupported": credential_objects(self.settings),
        }
        validate_dcp(ISSUER_METADATA, body)
        return body

    def schema(self, credential_type: str) -> dict[str, Any]:
        """The JSON Schema ``credentialSchema`` of the issuer metadata points at."""
        if credential_type not in {o["id"] for o in credential_objects(self.settings)}:
            raise NotFound(f"no schema for {credential_type}", code="schema-not-found")
        return credential_schema(self.settings, credential_type)

    async def caller(self, token: str | None, *, require_token: bool = False) -> SelfIssuedToken:
        """The holder that sent ``token`` (its self-issued ID token); 401 without a valid one.

        A request for credentials must carry the ``token`` claim that lets us
        write to the holder's Credential Service (``require_token``).
        """
        return await verified_caller(self.callers, token, require_token=require_token)

    async def receive(self, caller: SelfIssuedToken, message: Any) -> str:
        """Record a ``CredentialRequestMessage`` and leave issuance and delivery to a job.

        Returns the request id (``issuerPid``).
        """
        validate_dcp(CREDENTIAL_REQUEST_MESSAGE, message, what="CredentialRequestMessage")
        known = {o["id"] for o in credential_objects(self.settings)}
        wanted = [c["id"] for c in message["credentials"]]
        unknown = [w for w in wanted if w not in known]
        if unknown or not wanted:
            raise InvalidRequest(
                f"unknown credential objects: {', '.join(unknown) or 'none asked'}",
                code="credential-object-unknown")
        async with self.engine.begin() as conn:
            participant = await participant_store.find_by_did(conn, caller.issuer)
            if participant is None:
                raise Forbidden(f"{caller.issuer} is not a member", code="not-a-member")
            if participant.state is not ApplicationState.ACTIVE:
                raise Forbidden(f"{caller.issuer} is {participant.state}", code="not-a-member")
            request_id = new_id("r-")
            await dcp_store.insert_request(conn, dcp_store.DcpRequest(
                id=request_id, holder_pid=message["holderPid"], holder_did=caller.issuer,
                credential_ids=wanted, status="RECEIVED", error=None), self.issuer.now())
            await enqueue(conn, DELIVER_JOB, {"request_id": request_id,
                                              "access_token": caller.access_token})
        self.runner.wake()
        return request_id

    async def status(self, caller: SelfIssuedToken, request_id: str) -> dict[str, Any]:
        """The ``CredentialStatus`` of a request, to the holder that asked only."""
        async with self.engine.connect() as conn:
            found = await dcp_store.get_request(conn, request_id)
        if found.holder_did != caller.issuer:
            raise NotFound("no such request", code="request-not-found")
        body = {"@context": [DCP_CONTEXT], "type": "CredentialStatus", "issuerPid": found.id,
                "holderPid": found.holder_pid, "status": found.status}
        validate_dcp(CREDENTIAL_STATUS, body)
        return body

    def _config(self, credential_type: str) -> CredentialTypeConfig | None:
        return next((c for c in self.settings.credential_types
                     if c.type == credential_type and "self" in c.issued_by), None)

    async def deliver(self, job: Job) -> None:
        """Issue (once) and deliver the credentials of one request."""
        request_id: str = job.payload["request_id"]
        access_token: str = job.payload["access_token"]
        at = self.issuer.now()
        async with self.engine.begin() as conn:
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
                    credential = await self.issuer.issue(
                        conn, subject_did=participant.did, credential_type=credential_type,
                        claims=membership_claims(participant, at), owner=participant.id,
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
        async with self.engine.begin() as conn:
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
        await send_to_credential_service(
            self.session, self.resolver, self.issuer.identity.signer, holder_did, STORAGE_PATH,
            message, access_token=access_token, allow_loopback=self.settings.dev)
