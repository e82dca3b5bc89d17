"""Decentralized Claims Protocol 1.0 issuer service: metadata, requests, their status.

``POST /credentials`` takes a holder's ``CredentialRequestMessage`` (with a
self-issued token whose ``token`` claim lets us write to the holder's
Credential Service) and answers 201 with ``Location: /requests/{id}``;
issuance and delivery happen in a background job. ``GET /requests/{id}``
answers the ``CredentialStatus`` to the holder that asked.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from identity.dcp import (
    CREDENTIAL_REQUEST_MESSAGE,
    CREDENTIAL_STATUS,
    DCP_CONTEXT,
    ISSUER_METADATA,
    validate_dcp,
)
from identity.errors import VerificationError
from servicekit.auth import bearer_token
from servicekit.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from servicekit.ids import new_id
from servicekit.jobs import enqueue
from servicekit.openapi import operation
from servicekit.web import json_response, read_json
from trust_anchor.dcp_issuance import DELIVER_JOB, credential_objects, credential_schema
from trust_anchor.domain.participants import ApplicationState
from trust_anchor.errors import ParticipantNotFound
from trust_anchor.issuance import utcnow
from trust_anchor.state import IDENTITY, JOB_RUNNER, SELF_ISSUED_VERIFIER, TA_SETTINGS
from trust_anchor.store import dcp as dcp_store
from trust_anchor.store import participants as participant_store
from trust_anchor.store.app_db import engine_of

__all__ = ["setup"]

_DCP_SCHEMA = {"type": "object", "description": "A DCP 1.0 message (see the DCP schemas)."}


async def _caller(request: web.Request, *, require_token: bool) -> tuple[str, str | None]:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("a self-issued ID token is required", code="token-required")
    try:
        verified = await request.config_dict[SELF_ISSUED_VERIFIER].verify(
            token, require_token=require_token)
    except VerificationError as exc:
        raise Unauthorized(exc.detail, code=exc.code) from None
    return verified.issuer, verified.access_token


@operation("The DCP issuer metadata: which credentials members may request", tags=["dcp"],
           responses={200: _DCP_SCHEMA})
async def metadata(request: web.Request) -> web.Response:
    """``IssuerMetadata`` with one ``CredentialObject`` per requestable type."""
    body = {
        "@context": [DCP_CONTEXT],
        "type": "IssuerMetadata",
        "issuer": request.config_dict[IDENTITY].did,
        "credentialsSupported": credential_objects(request.config_dict[TA_SETTINGS]),
    }
    validate_dcp(ISSUER_METADATA, body)
    return json_response(body)


@operation("Request credentials (DCP CredentialRequestMessage)", tags=["dcp"],
           request=_DCP_SCHEMA, responses={201: "Received; follow the Location"},
           security="bearer")
async def request_credentials(request: web.Request) -> web.Response:
    """Record the request and leave issuance and delivery to a job."""
    holder, access_token = await _caller(request, require_token=True)
    message: Any = await read_json(request)
    validate_dcp(CREDENTIAL_REQUEST_MESSAGE, message, what="CredentialRequestMessage")
    known = {o["id"] for o in credential_objects(request.config_dict[TA_SETTINGS])}
    wanted = [c["id"] for c in message["credentials"]]
    unknown = [w for w in wanted if w not in known]
    if unknown or not wanted:
        raise InvalidRequest(f"unknown credential objects: {', '.join(unknown) or 'none asked'}",
                             code="credential-object-unknown")
    engine = engine_of(request)
    async with engine.begin() as conn:
        try:
            participant = await participant_store.participant_by_did(conn, holder)
        except ParticipantNotFound:
            raise Forbidden(f"{holder} is not a member", code="not-a-member") from None
        if participant.state is not ApplicationState.ACTIVE:
            raise Forbidden(f"{holder} is {participant.state}", code="not-a-member")
        request_id = new_id("r-")
        await dcp_store.insert_request(conn, dcp_store.DcpRequest(
            id=request_id, holder_pid=message["holderPid"], holder_did=holder,
            credential_ids=wanted, status="RECEIVED", error=None), utcnow())
        await enqueue(conn, DELIVER_JOB, {"request_id": request_id,
                                          "access_token": access_token})
    request.config_dict[JOB_RUNNER].wake()
    return web.Response(status=201, headers={"Location": f"/requests/{request_id}"})


@operation("The status of a credential request (DCP CredentialStatus)", tags=["dcp"],
           responses={200: _DCP_SCHEMA}, security="bearer")
async def request_status(request: web.Request) -> web.Response:
    """Only the holder that asked may see its request."""
    holder, _ = await _caller(request, require_token=False)
    async with engine_of(request).connect() as conn:
        found = await dcp_store.get_request(conn, request.match_info["request_id"])
    if found.holder_did != holder:
        raise NotFound("no such request", code="request-not-found")
    body = {"@context": [DCP_CONTEXT], "type": "CredentialStatus", "issuerPid": found.id,
            "holderPid": found.holder_pid, "status": found.status}
    validate_dcp(CREDENTIAL_STATUS, body)
    return json_response(body)


@operation("The JSON Schema of a credential type we issue", tags=["dcp"],
           responses={200: {"type": "object"}})
async def schema(request: web.Request) -> web.Response:
    """``credentialSchema`` of the issuer metadata points here."""
    settings = request.config_dict[TA_SETTINGS]
    credential_type = request.match_info["credential_type"]
    if credential_type not in {o["id"] for o in credential_objects(settings)}:
        raise NotFound(f"no schema for {credential_type}", code="schema-not-found")
    return json_response(credential_schema(settings, credential_type),
                         content_type="application/schema+json")


def setup(app: web.Application) -> None:
    """Register the routes."""
    app.router.add_get("/metadata", metadata)
    app.router.add_get("/schemas/{credential_type}.json", schema)
    app.router.add_post("/credentials", request_credentials)
    app.router.add_get("/requests/{request_id}", request_status)
