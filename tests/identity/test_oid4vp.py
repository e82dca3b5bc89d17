"""Signing in with the organisation's credential (OpenID4VP 1.0): our verifier and our wallet.

Real keys, a real trust anchor (the DCP ``world``: organisations are onboarded
through apply, approve and OID4VCI), the verifier behind a loopback server,
the wallet talking to it over HTTP (``tests/identity/test_oid4vp_support.py``).
"""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from identity import KeyPair, Signer, build_credential, issue_vc_jwt
from identity.encoding import b64url_encode
from identity.jose import decode_jws
from identity.oid4vp import (
    CLIENT_ID_PREFIX,
    MemoryPendingStore,
    NoMatchingCredential,
    PendingRecord,
    RequestNotFound,
    WalletRequest,
    WalletRequestInvalid,
    build_vp_token,
    resolve_request,
    select_credentials,
    submit,
)
from identity.vp_issue import issue_jwt_vp_11, issue_vp_jwt
from servicekit.errors import DataspaceError
from tests.identity.dcp.conftest import World
from tests.identity.dcp.conftest import trust_anchor as trust_anchor
from tests.identity.dcp.conftest import world as world
from tests.identity.test_oid4vp_support import credential_record, onboarded, site


async def _refused(pending: object) -> DataspaceError:
    with pytest.raises(DataspaceError) as caught:
        await pending  # type: ignore[misc]
    return caught.value


def _state(url: str) -> str:
    request_uri = parse_qs(urlsplit(url).query)["request_uri"][0]
    return request_uri.rsplit("/", 1)[1]


async def _resolve(world: World, url: str) -> WalletRequest:
    """The wallet's reading of ``url`` (development: loopback over plain HTTP)."""
    return await resolve_request(world.session, url, world.resolver, allow_loopback=True,
                                 clock=world.clock)


async def test_an_organisation_signs_in_with_its_membership_credential(world: World) -> None:
    async with site(world) as running:
        identity, record = await onboarded(world)
        url = await running.start()
        assert url.startswith("openid4vp://?")
        query = parse_qs(urlsplit(url).query)
        assert query["client_id"] == [CLIENT_ID_PREFIX + running.verifier.identity.did]
        assert query["request_uri"][0].startswith(running.url + "/oid4vp/requests/")
        assert "request_uri_method" not in query

        request = await _resolve(world, url)
        assert request.verifier_did == running.verifier.identity.did
        assert request.response_uri == running.url + "/oid4vp/response"
        selected = select_credentials(request, [record])
        assert [r.id for r in selected["membership"]] == [record.id]
        token = build_vp_token(request, selected, identity, clock=world.clock)
        vp = decode_jws(token["membership"][0]).claims()
        assert (vp["iss"], vp["aud"], vp["nonce"]) == (identity.did, request.client_id,
                                                       request.nonce)

        answer = await submit(world.session, request, token)
        assert answer == {"signed_in": identity.did}
        outcome = await running.verifier.outcome(request.state)
        assert outcome is not None
        assert outcome.status == "done"
        assert outcome.result is not None
        assert {k: v for k, v in outcome.result.items() if k != "credential"} == {
            "did": identity.did, "legal_name": "Halden kommune",
            "roles": ["provider", "consumer"], "credential_id": record.credential_id,
            "issuer": world.ta.did}
        assert outcome.result["credential"] == record.raw


async def test_a_session_opened_with_a_credential_ends_when_it_is_revoked(
        world: World) -> None:
    async with site(world) as running:
        identity, record = await onboarded(world)
        request = await _resolve(world, await running.start())
        token = build_vp_token(request, select_credentials(request, [record]), identity,
                               clock=world.clock)
        await submit(world.session, request, token)
        outcome = await running.verifier.outcome(request.state)
        assert outcome is not None
        assert outcome.result is not None
        assert await running.verifier.still_valid(outcome.result)
        assert not await running.verifier.still_valid({**outcome.result, "credential": None})
        assert not await running.verifier.still_valid(
            {**outcome.result, "did": "did:example:someone-else"})
        application = (await world.admin("GET", "/admin/applications"))
        mine = next(a for a in application["items"] if a["did"] == identity.did)
        await world.admin("POST", f"/admin/applications/{mine['id']}/revoke", {"reason": "left"})
        world.clock.advance(61)  # one status-list refresh
        assert not await running.verifier.still_valid(outcome.result)


async def test_the_request_object_is_signed_and_says_what_is_asked(world: World) -> None:
    async with site(world) as running:
        verifier = running.verifier
        started = await verifier.start(request_uri_base=running.url + "/r/",
                                       response_uri=running.url + "/oid4vp/response")
        assert started.request_uri == f"{running.url}/r/{started.state}"
        assert started.expires_at == pytest.approx(world.clock() + 300, abs=1)
        jws = decode_jws(await verifier.request_object(started.state))
        assert jws.header == {"alg": "EdDSA", "typ": "oauth-authz-req+jwt",
                              "kid": verifier.identity.signer.kid}
        claims = jws.claims()
        assert claims["client_id"] == "decentralized_identifier:" + verifier.identity.did
        assert (claims["response_type"], claims["response_mode"]) == ("vp_token", "direct_post")
        assert (claims["nonce"], claims["state"]) == (started.nonce, started.state)
        assert claims["aud"] == "https://self-issued.me/v2"
        assert claims["exp"] - claims["iat"] == 300
        [query] = claims["dcql_query"]["credentials"]
        assert (query["id"], query["format"]) == ("membership", "jwt_vc_json")
        assert ["MembershipCredential"] in query["meta"]["type_values"]
        # Another request gets its own state and nonce.
        other = await verifier.start(request_uri_base=running.url, response_uri=running.url)
        assert {other.state, other.nonce}.isdisjoint({started.state, started.nonce})

        async with world.session.get(f"{running.url}/oid4vp/requests/unknown") as response:
            assert response.status == 404
            assert (await response.json())["code"] == "request-not-found"


async def test_a_presentation_with_another_nonce_is_refused(world: World) -> None:
    async with site(world) as running:
        identity, record = await onboarded(world)
        request = await _resolve(world, await running.start())
        earlier = dataclasses.replace(request, nonce="a-nonce-of-another-request")
        token = build_vp_token(earlier, select_credentials(request, [record]), identity,
                               clock=world.clock)
        error = await _refused(submit(world.session, request, token))
        assert (error.status, error.extra["upstream_code"]) == (403, "nonce-mismatch")
        outcome = await running.verifier.outcome(request.state)
        assert outcome is not None
        assert (outcome.status, outcome.result) == ("failed", {"error": "nonce-mismatch"})


async def test_a_presentation_for_another_verifier_is_refused(world: World) -> None:
    async with site(world) as running:
        identity, record = await onboarded(world)
        request = await _resolve(world, await running.start())
        vp = issue_jwt_vp_11(identity.signer, [str(record.raw)], audience="did:example:other",
                             nonce=request.nonce, clock=world.clock)
        error = await _refused(submit(world.session, request, {"membership": [vp]}))
        assert error.extra["upstream_code"] == "audience-mismatch"


async def test_a_replayed_answer_is_refused(world: World) -> None:
    async with site(world) as running:
        identity, record = await onboarded(world)
        request = await _resolve(world, await running.start())
        token = build_vp_token(request, select_credentials(request, [record]), identity,
                               clock=world.clock)
        await submit(world.session, request, token)
        error = await _refused(submit(world.session, request, token))
        assert (error.status, error.extra["upstream_code"]) == (409, "request-used")
        outcome = await running.verifier.outcome(request.state)
        assert outcome is not None
        assert outcome.status == "done"
        # The used request is not served again either.
        with pytest.raises(RequestNotFound):
            await running.verifier.request_object(request.state)


async def test_an_expired_request_is_refused(world: World) -> None:
    async with site(world, ttl_seconds=60) as running:
        identity, record = await onboarded(world)
        request = await _resolve(world, await running.start())
        token = build_vp_token(request, select_credentials(request, [record]), identity,
                               clock=world.clock)
        world.clock.advance(61)
        with pytest.raises(RequestNotFound):
            await running.verifier.request_object(request.state)
        error = await _refused(submit(world.session, request, token))
        assert error.extra["upstream_code"] == "request-expired"
        outcome = await running.verifier.outcome(request.state)
        assert outcome is not None
        assert outcome.result == {"error": "request-expired"}


async def test_a_presentation_signed_by_another_key_than_the_subject_is_refused(
    world: World,
) -> None:
    async with site(world) as running:
        identity, record = await onboarded(world)
        thief = Signer.for_did_key(KeyPair.generate())
        # As itself, presenting the member's credential: not about the holder.
        request = await _resolve(world, await running.start())
        vp = issue_jwt_vp_11(thief, [str(record.raw)], audience=request.client_id,
                             nonce=request.nonce, clock=world.clock)
        error = await _refused(submit(world.session, request, {"membership": [vp]}))
        assert error.extra["upstream_code"] == "vp-invalid"
        # Claiming to be the member, but signing with its own key under the member's kid.
        request = await _resolve(world, await running.start())
        forged = issue_vp_jwt(Signer(thief.key, identity.signer.kid), [str(record.raw)],
                              audience=request.client_id, nonce=request.nonce,
                              clock=world.clock)
        error = await _refused(submit(world.session, request, {"membership": [forged]}))
        assert error.extra["upstream_code"] == "vp-invalid"
        outcome = await running.verifier.outcome(request.state)
        assert outcome is not None
        assert outcome.result == {"error": "vp-invalid"}


async def test_a_revoked_member_is_refused(world: World) -> None:
    async with site(world) as running:
        identity, record = await onboarded(world)
        application = (await world.admin("GET", "/admin/applications"))
        mine = next(a for a in application["items"] if a["did"] == identity.did)
        await world.admin("POST", f"/admin/applications/{mine['id']}/revoke", {"reason": "left"})
        world.clock.advance(61)  # one status-list refresh
        request = await _resolve(world, await running.start())
        token = build_vp_token(request, select_credentials(request, [record]), identity,
                               clock=world.clock)
        error = await _refused(submit(world.session, request, token))
        assert (error.status, error.extra["upstream_code"]) == (403, "credential-revoked")


async def test_a_credential_from_an_issuer_outside_the_registry_is_refused(
    world: World,
) -> None:
    async with site(world) as running:
        identity, _record = await onboarded(world)
        rogue = Signer.for_did_key(KeyPair.generate())
        forged = issue_vc_jwt(build_credential(
            issuer=rogue.did, subject={"id": identity.did, "legalName": "Halden kommune"},
            types=["MembershipCredential"]), rogue)
        request = await _resolve(world, await running.start())
        token = build_vp_token(request, select_credentials(request, [credential_record(forged)]),
                               identity, clock=world.clock)
        error = await _refused(submit(world.session, request, token))
        assert (error.status, error.extra["upstream_code"]) == (403, "issuer-untrusted")


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = decode_jws(token).claims()
    claims["response_uri"] = "https://attacker.example/collect"
    return ".".join([header, b64url_encode(orjson.dumps(claims)), signature])


async def test_the_wallet_refuses_a_tampered_or_foreign_request_object(world: World) -> None:
    async with site(world) as running:
        running.tamper = _tamper
        error = await _refused(_resolve(world, await running.start()))
        assert isinstance(error, WalletRequestInvalid)
        assert error.extra["reason"] == "jwt-signature-invalid"
        # Signed by someone else than the DID in client_id.
        other = Signer.for_did_key(KeyPair.generate())

        def resigned(token: str) -> str:
            return other.sign_jwt(decode_jws(token).claims(), typ="oauth-authz-req+jwt")

        running.tamper = resigned
        error = await _refused(_resolve(world, await running.start()))
        assert error.extra["reason"] == "kid"
        # Another typ.
        running.tamper = lambda token: running.verifier.identity.signer.sign_jwt(
            decode_jws(token).claims(), typ="JWT")
        error = await _refused(_resolve(world, await running.start()))
        assert error.extra["reason"] == "jwt-typ-mismatch"
        # Expired (the wallet reads real time).
        running.tamper = lambda token: running.verifier.identity.signer.sign_jwt(
            {**decode_jws(token).claims(), "exp": 1_000}, typ="oauth-authz-req+jwt")
        error = await _refused(_resolve(world, await running.start()))
        assert error.extra["reason"] == "jwt-expired"
        # Plain HTTP outside loopback development.
        running.tamper = None
        error = await _refused(resolve_request(world.session, await running.start(),
                                               world.resolver))
        assert error.extra["reason"] == "request-uri-insecure"


async def test_the_wallet_says_when_it_holds_nothing_that_matches(world: World) -> None:
    async with site(world) as running:
        _identity, record = await onboarded(world)
        request = await _resolve(world, await running.start())
        other = record.model_copy(update={"types": ["DataProductPurchase"]})
        with pytest.raises(NoMatchingCredential) as caught:
            select_credentials(request, [other])
        assert caught.value.extra == {"query_id": "membership"}
        expired = record.model_copy(update={"valid_until": 1_000.0})
        with pytest.raises(NoMatchingCredential):
            select_credentials(request, [expired])


async def test_bad_answers_get_problem_json_and_sign_no_one_in(world: World) -> None:
    async with site(world) as running:
        url = await running.start()
        state = _state(url)
        endpoint = running.url + "/oid4vp/response"
        async with world.session.post(endpoint, data={"vp_token": "{}"}) as response:
            body = await response.json()
            assert (response.status, body["code"]) == (400, "response-malformed")
            assert response.content_type == "application/problem+json"
        async with world.session.post(endpoint, data={"state": "nope", "vp_token": "{}"}) as r:
            assert (r.status, (await r.json())["code"]) == (404, "request-not-found")
        outcome = await running.verifier.outcome(state)
        assert outcome is not None
        assert outcome.status == "pending"
        async with world.session.post(endpoint, data={"state": state, "vp_token": "[no"}) as r:
            assert (r.status, (await r.json())["code"]) == (400, "response-malformed")
        outcome = await running.verifier.outcome(state)
        assert outcome is not None
        assert outcome.result == {"error": "response-malformed"}


async def test_a_wallet_that_declines_fails_the_request(world: World) -> None:
    async with site(world) as running:
        state = _state(await running.start())
        async with world.session.post(running.url + "/oid4vp/response",
                                      data={"state": state, "error": "access_denied"}) as r:
            assert (r.status, (await r.json())["code"]) == (401, "wallet-declined")
        outcome = await running.verifier.outcome(state)
        assert outcome is not None
        assert outcome.result == {"error": "wallet-declined"}


async def test_the_memory_store_finishes_a_request_once() -> None:
    store = MemoryPendingStore()
    await store.create(PendingRecord(state="s", nonce="n", expires_at=10.0, status="pending",
                                     request_object="jwt", result=None))
    with pytest.raises(ValueError, match="state"):
        await store.create(PendingRecord(state="s", nonce="m", expires_at=10.0,
                                         status="pending", request_object="jwt", result=None))
    assert await store.finish("s", "done", {"did": "did:example:1"})
    assert not await store.finish("s", "failed", {"error": "x"})
    assert not await store.finish("unknown", "done", {})
    record = await store.get("s")
    assert record is not None
    assert (record.status, record.result) == (
        "done", {"did": "did:example:1"})

