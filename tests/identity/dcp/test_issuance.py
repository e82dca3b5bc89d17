"""DCP issuance from the holder's side, against a small issuer service written for the test.

The issuer stands in for a third-party DCP issuer (the trust anchor's own
DCP issuance is tested with the trust anchor). It uses the library for what
an issuer must check, and delivers the credential to the member's real
credential service, whose holder library verifies and stores it; the
verifier then accepts the member once the registry accredits the issuer.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from identity import (
    DidResolver,
    InMemoryReplayStore,
    KeyPair,
    SelfIssuedTokenVerifier,
    Signer,
    build_credential,
    build_did_document,
    create_self_issued_token,
    did_web_from_url,
    issue_vc_jwt,
    service_entry,
)
from identity.dcp import (
    CREDENTIAL_MESSAGE,
    CREDENTIAL_REQUEST_MESSAGE,
    DCP_CONTEXT,
    credential_message,
    fetch_issuer_metadata,
    issuer_service_url,
    parse_bearer,
    request_credentials,
    request_status,
    service_base_url,
    validate_dcp,
)
from servicekit.errors import Forbidden
from servicekit.web import error_middleware
from tests.conftest import free_port

from .conftest import World

METADATA_ID = "membership-vc20"


@dataclass
class Issuer:
    signer: Signer
    url: str
    world: World
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    tokens: SelfIssuedTokenVerifier | None = None

    @property
    def did(self) -> str:
        return self.signer.did

    async def deliver(self, issuer_pid: str) -> tuple[int, Any]:
        """Issue and write the credential into the holder's credential service.

        Returns the credential service's status and JSON answer, for the test to judge.
        """
        request = self.requests[issuer_pid]
        holder = request["holder"]
        document = await self.world.resolver.resolve(holder)
        base = service_base_url(document, allow_loopback=True)
        credential = issue_vc_jwt(build_credential(
            issuer=self.did, subject={"id": holder}, types=["MembershipCredential"]), self.signer)
        message = credential_message(
            issuer_pid=issuer_pid, holder_pid=request["holderPid"], status="ISSUED",
            credentials=[{"credentialType": "MembershipCredential", "payload": credential,
                          "format": "vc+jwt"}])
        validate_dcp(CREDENTIAL_MESSAGE, message)
        self.sent.append(message)
        token = create_self_issued_token(self.signer, holder, token=request["access"])
        async with self.world.session.post(base + "/credentials", json=message,
                                           headers={"Authorization": "Bearer " + token}) as resp:
            answer = await resp.json(content_type=None) if await resp.read() else None
            if resp.status == 200:
                request["status"] = "ISSUED"
            return resp.status, answer


ISSUER = web.AppKey("issuer", Issuer)


async def _document(request: web.Request) -> web.Response:
    issuer = request.app[ISSUER]
    return web.json_response(build_did_document(
        issuer.did, [issuer.signer.key.public_jwk], key_ids=[issuer.signer.kid.split("#")[1]],
        services=[service_entry(issuer.did, "IssuerService", issuer.url)]))


async def _metadata(request: web.Request) -> web.Response:
    issuer = request.app[ISSUER]
    return web.json_response({
        "@context": [DCP_CONTEXT], "type": "IssuerMetadata", "issuer": issuer.did,
        "credentialsSupported": [{
            "id": METADATA_ID, "type": "CredentialObject",
            "credentialType": "MembershipCredential", "offerReason": "reissue",
            "credentialSchema": "https://example.com/membership.json",
            "bindingMethods": ["did:web"], "profile": "vc20-bssl/jwt"}]})


async def _request(request: web.Request) -> web.Response:
    issuer = request.app[ISSUER]
    assert issuer.tokens is not None
    caller = await issuer.tokens.verify(parse_bearer(request.headers.get("Authorization")),
                                        require_token=True)
    body = await request.json()
    validate_dcp(CREDENTIAL_REQUEST_MESSAGE, body)
    assert [c["id"] for c in body["credentials"]] == [METADATA_ID]
    issuer_pid = "req-" + secrets.token_hex(4)
    issuer.requests[issuer_pid] = {"holder": caller.issuer, "holderPid": body["holderPid"],
                                   "access": caller.access_token, "status": "RECEIVED"}
    return web.Response(status=201, headers={"Location": f"/requests/{issuer_pid}"})


async def _status(request: web.Request) -> web.Response:
    issuer = request.app[ISSUER]
    assert issuer.tokens is not None
    caller = await issuer.tokens.verify(parse_bearer(request.headers.get("Authorization")))
    state = issuer.requests[request.match_info["pid"]]
    if state["holder"] != caller.issuer:
        raise web.HTTPNotFound
    return web.json_response({
        "@context": [DCP_CONTEXT], "type": "CredentialStatus",
        "issuerPid": request.match_info["pid"], "holderPid": state["holderPid"],
        "status": state["status"]})


@pytest.fixture
async def issuer(world: World) -> AsyncIterator[Issuer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state = Issuer(Signer.for_did(KeyPair.generate(), did_web_from_url(url)), url, world)
    state.tokens = SelfIssuedTokenVerifier(
        DidResolver(session=world.session, allow_loopback=True), InMemoryReplayStore(),
        audience=state.did, relationships=("capabilityInvocation",))
    app = web.Application(middlewares=[error_middleware])
    app[ISSUER] = state
    app.router.add_get("/.well-known/did.json", _document)
    app.router.add_get("/metadata", _metadata)
    app.router.add_post("/credentials", _request)
    app.router.add_get("/requests/{pid}", _status)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    yield state
    await server.close()


async def test_a_member_requests_receives_and_then_presents_a_credential(
    world: World, issuer: Issuer
) -> None:
    member = await world.add_member(onboard=False)
    base = await issuer_service_url(world.resolver, issuer.did, allow_loopback=True)
    assert base == issuer.url
    metadata = await fetch_issuer_metadata(world.session, base)
    offered = metadata["credentialsSupported"][0]["id"]

    receipt = await request_credentials(world.session, base, member.signer, issuer.did,
                                        [offered], write_types=["MembershipCredential"])
    assert receipt.status_url == f"{issuer.url}/requests/{receipt.issuer_pid}"
    assert issuer.requests[receipt.issuer_pid]["holderPid"] == receipt.holder_pid
    status = await request_status(world.session, receipt.status_url, member.signer, issuer.did)
    assert status["status"] == "RECEIVED"

    assert (await issuer.deliver(receipt.issuer_pid))[0] == 200
    [stored] = member.credentials
    assert stored.issuer == issuer.did
    assert stored.subject == member.did
    assert (await request_status(world.session, receipt.status_url, member.signer,
                                 issuer.did))["status"] == "ISSUED"

    # Presented, it counts once the registry accredits the issuer for the type.
    await world.accredit(issuer.did, ["MembershipCredential"])
    caller = await world.verifier.verify_caller(
        await member.tokens.token_for(world.verifier_did, ["MembershipCredential"]),
        ["MembershipCredential"])
    assert caller.credentials[0].issuer == issuer.did


async def test_a_refused_request_keeps_the_refusal_family_and_the_peer_status(
    world: World, issuer: Issuer
) -> None:
    member = await world.add_member(onboard=False)
    # The issuer's 401 says it does not accept us: our caller gets a 403, not a 502.
    with pytest.raises(Forbidden) as caught:
        # Without write_types there is no access token: this issuer requires one.
        await request_credentials(world.session, issuer.url, member.signer, issuer.did,
                                  [METADATA_ID])
    assert caught.value.code == "issuer-service-refused"
    assert caught.value.extra["upstream_status"] == 401
    assert caught.value.extra["upstream_code"] == "token-missing"
    assert caught.value.status == 403


async def test_a_delivery_without_our_write_grant_is_refused(
    world: World, issuer: Issuer
) -> None:
    member = await world.add_member(onboard=False)
    receipt = await request_credentials(world.session, issuer.url, member.signer, issuer.did,
                                        [METADATA_ID], write_types=["OtherCredential"])
    status, problem = await issuer.deliver(receipt.issuer_pid)
    assert status == 403
    assert problem["code"] == "scope-not-granted"
    assert problem["detail"] == "no write access granted for MembershipCredential"
    assert member.credentials == []
