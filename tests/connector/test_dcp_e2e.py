"""Our connectors, a real trust anchor, real DCP: onboarding, negotiation, transfer, refusals.

Every connector here runs in the ``dcp`` auth mode with a did:web on
127.0.0.1 (``--dev``) and is onboarded through the real flow: it applies
with its own DID over its management API (the consumer through the CLI),
the operator approves at the trust anchor, the connector collects its
MembershipCredential over OpenID4VCI. DSP requests between them then carry
self-issued tokens, and each provider queries the caller's Credential
Service for the credentials it needs. The status lists and the registry
are refreshed every second here, so a revocation shows within the test.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import jwt
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.auth.dcp import DcpAuth
from connector.keys import SERVICES
from connector.settings import AuthSettings, DcpSettings, FixedCaller
from identity import KeyPair, Signer, build_credential, create_self_issued_token, issue_vc_jwt
from identity.dcp import make_dsp_token
from servicekit.app import SERVICE_INFO
from tests.conftest import REPO_ROOT, free_port
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings, trust_anchor_settings
from tests.fakes import FakeClock
from trust_anchor.app import create_app as create_trust_anchor

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROFILE = "https://w3id.org/dataspace-toolkit/odrl/profile"
PURCHASE = "DataProductPurchaseCredential"
MEMBERSHIP = "MembershipCredential"


def _requires(credential: str) -> dict[str, Any]:
    return {"profile": PROFILE, "permission": [{"action": "use", "constraint": [
        {"leftOperand": "dst:credentialType", "operator": "eq", "rightOperand": credential}]}]}


@dataclass
class Space:
    """The trust anchor, an onboarded provider and consumer, and a way to add connectors."""

    ta_url: str
    ta_did: str
    ta_admin: dict[str, str]
    http: aiohttp.ClientSession
    tmp: Path
    stores: StoreFactory
    provider: RunningConnector = field(init=False)
    consumer: RunningConnector = field(init=False)
    others: list[RunningConnector] = field(default_factory=list)

    async def ta(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, self.ta_url + path, json=body,
                                     headers=self.ta_admin) as resp:
            assert resp.status < 300, await resp.text()
            return await resp.json()

    async def start(self, name: str, **overrides: Any) -> RunningConnector:
        database = overrides.pop("database", None) or self.stores()
        values: dict[str, Any] = {
            "did": None, "did_method": "web", "trust_anchor_url": self.ta_url,
            # A fixed token is configured too: the dcp mode must not accept it.
            "auth": AuthSettings(
                dcp=DcpSettings(status_list_ttl=1.0, registry_ttl=1.0),
                tokens={"consumer-token": FixedCaller(id="did:web:anyone.example",
                                                      credential_types=[MEMBERSHIP])}),
            "jobs": {"poll_seconds": 0.2, "max_attempts": 2, "base_backoff_seconds": 0.05},
        }
        values.update(overrides)
        connector = await start_connector(connector_settings(name, self.tmp, database, **values))
        self.others.append(connector)
        return connector

    async def approve(self, application_id: str) -> dict[str, Any]:
        approved: dict[str, Any] = await self.ta(
            "POST", f"/admin/applications/{application_id}/approve", {"reason": "ok"})
        return approved

    async def onboard(self, connector: RunningConnector, legal_name: str) -> dict[str, Any]:
        """Apply over the management API, approve, collect over OpenID4VCI."""
        applied = await connector.api(self.http, "POST", "/api/v1/membership/apply", expect=201,
                                      json=_application(legal_name))
        approved = await self.approve(applied["application_id"])
        collected = await connector.api(self.http, "POST", "/api/v1/membership/collect",
                                        expect=201, json={"tx_code": approved["tx_code"]})
        return dict(collected)


def _application(legal_name: str) -> dict[str, Any]:
    return {"legal_name": legal_name, "organisation_number": "912 345 678", "country": "NO",
            "contact": {"name": "Data team", "email": "data@example.no"},
            "roles": ["provider", "consumer"]}


async def _cli(connector: RunningConnector, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dataspace", "connector", *args,
        "--url", connector.management_url, "--api-key", connector.info["admin_api_key"],
        cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def space(module_stores: StoreFactory,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Space]:
    tmp = tmp_path_factory.mktemp("dcp")
    port = free_port()
    ta_settings = trust_anchor_settings(tmp, module_stores(), port)
    ta_server = TestServer(create_trust_anchor(ta_settings), host="127.0.0.1", port=port)
    await ta_server.start_server()
    info = ta_server.app[SERVICE_INFO]
    async with aiohttp.ClientSession() as http:
        world = Space(ta_settings.base_url, info["did"],
                      {"Authorization": f"Bearer {info['admin_api_key']}"}, http, tmp,
                      module_stores)
        try:
            world.provider = await world.start("provider")
            world.consumer = await world.start("consumer", role="consumer")
            await world.onboard(world.provider, "Halden kommune")
            # The consumer onboards through the CLI: apply, (operator approves), collect.
            code, out, err = await _cli(
                world.consumer, "membership", "apply", "--legal-name", "Analyse AS",
                "--org-number", "912 345 678", "--contact-name", "Kari",
                "--contact-email", "kari@example.no", "--role", "consumer")
            assert code == 0, err
            approved = await world.approve(json.loads(out)["application_id"])
            code, out, err = await _cli(world.consumer, "membership", "collect",
                                        "--tx-code", approved["tx_code"])
            assert code == 0, err
            yield world
        finally:
            for connector in reversed(world.others):
                await connector.stop()
            await ta_server.close()


async def _dataset(provider: RunningConnector, http: aiohttp.ClientSession, dataset_id: str,
                   **fields: Any) -> dict[str, Any]:
    body = {"id": dataset_id, "title": f"Dataset {dataset_id}",
            "backend": {"address": "https://backend.invalid/data"}} | fields
    return dict(await provider.api(http, "POST", "/api/v1/datasets", json=body, expect=201))


async def _negotiate(consumer: RunningConnector, provider: RunningConnector,
                     http: aiohttp.ClientSession, dataset_id: str) -> dict[str, Any]:
    started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
        "counterparty_address": provider.dsp_url, "dataset_id": dataset_id})
    return dict(started)


async def _provider_negotiations(provider: RunningConnector,
                                 http: aiohttp.ClientSession) -> list[dict[str, Any]]:
    body = await provider.api(http, "GET", "/api/v1/negotiations?role=provider&limit=500",
                              expect=200)
    return list(body["items"])


def _auth(connector: RunningConnector) -> DcpAuth:
    auth = connector.plane.auth.authenticator
    assert isinstance(auth, DcpAuth)
    return auth


async def _token(caller: RunningConnector, audience: RunningConnector,
                 scopes: tuple[str, ...] = ()) -> str:
    return await caller.plane.auth.tokens.token_for(audience.plane.did, list(scopes))


async def _catalog(http: aiohttp.ClientSession, provider: RunningConnector,
                   authorization: str | None) -> tuple[int, dict[str, Any]]:
    # The port it listens on (a replica's public URL may name another one).
    url = f"http://127.0.0.1:{provider.settings.port}/dsp/catalog/request"
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with http.post(url, headers=headers, json={
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "CatalogRequestMessage", "filter": []}) as resp:
        return resp.status, await resp.json()


async def _contract_request(http: aiohttp.ClientSession, provider: RunningConnector,
                            authorization: str, offer: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(provider.dsp_url + "/negotiations/request",
                         headers={"Authorization": authorization}, json={
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "ContractRequestMessage", "consumerPid": "urn:uuid:probe",
            "offer": offer, "callbackAddress": "http://127.0.0.1:9/dsp"}) as resp:
        return resp.status, await resp.json()


# --- the happy path ------------------------------------------------------------------------

async def test_onboarded_connectors_are_members_with_did_web(space: Space) -> None:
    for connector in (space.provider, space.consumer):
        status = await connector.api(space.http, "GET", "/api/v1/membership", expect=200)
        assert status["status"] == "active"
        assert status["did"] == connector.plane.did
        assert connector.plane.did.startswith("did:web:127.0.0.1%3A")
        [credential] = status["credentials"]
        assert credential["issuer"] == space.ta_did
        assert credential["subject"] == connector.plane.did
        assert "raw" not in credential
        async with space.http.get(connector.base_url + "/.well-known/did.json") as resp:
            document = await resp.json()
        [service] = [s for s in document["service"] if s["type"] == "CredentialService"]
        assert service["serviceEndpoint"] == connector.base_url + "/dcp"
    code, out, _ = await _cli(space.consumer, "membership", "status")
    assert code == 0
    assert json.loads(out)["status"] == "active"
    code, out, _ = await _cli(space.consumer, "credentials", "list", "--type", MEMBERSHIP,
                              "--json")
    assert code == 0
    [listed] = json.loads(out)["items"]
    assert listed["source"] == "oid4vci"
    assert listed["claims"]["legalName"] == "Analyse AS"
    async with space.http.get(space.provider.base_url + "/.well-known/dspace-version") as resp:
        assert (await resp.json())["protocolVersions"][0]["auth"] == {
            "protocol": "DCP", "version": "1.0"}


async def test_negotiation_and_transfer_with_real_dcp(space: Space) -> None:
    provider, consumer, http = space.provider, space.consumer, space.http
    await _dataset(provider, http, "urn:dcp:green")
    started = await _negotiate(consumer, provider, http, "urn:dcp:green")
    done = await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"})
    [theirs] = [n for n in await _provider_negotiations(provider, http)
                if n["consumer_pid"] == started["id"]]
    assert theirs["state"] == "FINALIZED"
    assert theirs["counterparty_id"] == consumer.plane.did
    caller = theirs["caller"]
    assert caller["method"] == "dcp"
    assert caller["id"] == consumer.plane.did
    assert MEMBERSHIP in caller["credentialTypes"]
    assert caller["claims"][MEMBERSHIP]["legalName"] == "Analyse AS"

    transfer = await consumer.api(http, "POST", "/api/v1/transfers", expect=201,
                                  json={"agreement_id": done["agreement_id"]})
    await consumer.wait_for(http, "transfers", transfer["id"], {"STARTED"})
    edr = await consumer.api(http, "GET", f"/api/v1/transfers/{transfer['id']}/edr",
                             expect=200)
    claims = jwt.decode(edr["token"], options={"verify_signature": False})
    assert claims["sub"] == consumer.plane.did
    assert claims["iss"] == provider.plane.did


async def test_an_offer_requiring_a_purchase_is_agreed_once_the_consumer_holds_one(
    space: Space,
) -> None:
    provider, consumer, http = space.provider, space.consumer, space.http
    await _dataset(provider, http, "urn:dcp:paid", policy=_requires(PURCHASE))
    before = len(await _provider_negotiations(provider, http))
    refused = await _negotiate(consumer, provider, http, "urn:dcp:paid")
    ended = await consumer.wait_for(http, "negotiations", refused["id"], {"TERMINATED"})
    assert "credential-missing" in ended["error_reason"]
    assert "403" in ended["error_reason"]
    assert len(await _provider_negotiations(provider, http)) == before

    # The marketplace (an accredited issuer) issues a purchase credential to the consumer.
    marketplace = Signer.for_did_key(KeyPair.generate())
    await space.ta("PUT", f"/admin/issuers/{quote(marketplace.did, safe='')}",
                   {"issuerType": "TI", "credentialTypes": [PURCHASE]})
    purchase = issue_vc_jwt(build_credential(
        issuer=marketplace.did, types=[PURCHASE],
        subject={"id": consumer.plane.did, "product": "urn:dcp:paid", "plan": "monthly"}),
        marketplace)
    stored = await consumer.api(http, "POST", "/api/v1/credentials", expect=201,
                                json={"credential": purchase})
    assert stored["types"] == [PURCHASE]

    bought = await _negotiate(consumer, provider, http, "urn:dcp:paid")
    await consumer.wait_for(http, "negotiations", bought["id"], {"FINALIZED"})
    [theirs] = [n for n in await _provider_negotiations(provider, http)
                if n["consumer_pid"] == bought["id"]]
    assert theirs["caller"]["claims"][PURCHASE]["plan"] == "monthly"
    assert {MEMBERSHIP, PURCHASE} <= set(theirs["caller"]["credentialTypes"])


async def test_a_known_caller_is_not_queried_on_every_request(space: Space) -> None:
    provider, consumer, http = space.provider, space.consumer, space.http
    consumer_replay = consumer.app[SERVICES].holder.trust.replay
    provider_replay = provider.app[SERVICES].holder.trust.replay
    auth = provider.plane.auth.authenticator
    assert isinstance(auth, DcpAuth)
    verifier = auth.verifier
    # The cached answer's clock, and the status lists' and the registry's it rests on,
    # stand still while the requests run, however slow the machine; tokens are still
    # checked against the real time.
    clock = FakeClock(datetime.now(UTC))
    checker = verifier.credential_verifier.status_checker
    assert checker is not None
    holders = [verifier, verifier.trusted_issuers, checker]
    real_clocks = [holder.clock for holder in holders]
    for holder in holders:
        holder.clock = clock
    try:
        # Warm the cache, then ten requests inside one refresh interval.
        assert (await _catalog(http, provider, await _token(consumer, provider)))[0] == 200
        queries_before = await consumer_replay.count()  # each query's token is recorded there
        tokens_before = await provider_replay.count()
        for _ in range(10):
            status, _ = await _catalog(http, provider, await _token(consumer, provider))
            assert status == 200
        assert await consumer_replay.count() == queries_before  # no query: all cached
        assert await provider_replay.count() == tokens_before + 10  # every token was checked

        # Past one status-list and registry refresh (1 s here) the answer is stale: the
        # next request queries the caller's Credential Service again.
        clock.set(datetime.now(UTC) + timedelta(seconds=2))
        assert (await _catalog(http, provider, await _token(consumer, provider)))[0] == 200
        assert await consumer_replay.count() == queries_before + 1
    finally:
        for holder, real_clock in zip(holders, real_clocks, strict=True):
            holder.clock = real_clock
        # lists loaded under the fake clock would look fresh (or stale) to the real one
        checker.forget()
        verifier.forget()


# --- refusals --------------------------------------------------------------------------------

async def test_a_connector_without_a_membership_credential_is_refused(space: Space) -> None:
    provider, http = space.provider, space.http
    stranger = await space.start("stranger")
    await _dataset(provider, http, "urn:dcp:stranger")
    before = len(await _provider_negotiations(provider, http))
    status, body = await _catalog(http, provider, await _token(stranger, provider))
    assert status == 403
    assert body["@type"] == "CatalogError"
    assert body["code"] == "credential-missing"
    dataset = await provider.api(http, "GET", "/api/v1/offers?dataset_id=urn:dcp:stranger",
                                 expect=200)
    offer = dataset["items"][0]
    status, body = await _contract_request(http, provider, await _token(stranger, provider), {
        "@id": offer["id"], "@type": "Offer", "target": "urn:dcp:stranger",
        "permission": [{"action": "use"}]})
    assert status == 403
    assert body["@type"] == "ContractNegotiationError"
    assert body["code"] == "credential-missing"
    # Through its management API the stranger learns why, and nothing was created.
    failed = await stranger.api(http, "POST", "/api/v1/negotiations", json={
        "counterparty_address": provider.dsp_url, "dataset_id": "urn:dcp:stranger"})
    assert failed["code"] == "catalog-request-failed"
    assert "credential-missing" in str(failed)
    assert len(await _provider_negotiations(provider, http)) == before


async def test_a_revoked_member_is_refused_after_the_status_list_refresh(space: Space) -> None:
    provider, http = space.provider, space.http
    leaver = await space.start("leaver")
    await space.onboard(leaver, "Leaver AS")
    assert (await _catalog(http, provider, await _token(leaver, provider)))[0] == 200
    status = await leaver.api(http, "GET", "/api/v1/membership", expect=200)
    await space.ta("POST", f"/admin/applications/{status['application_id']}/revoke",
                   {"reason": "left the data space"})
    # one status-list refresh is 1 s in this module; allow a loaded machine three
    deadline = asyncio.get_running_loop().time() + 3.0
    while True:
        await asyncio.sleep(0.25)
        status_code, body = await _catalog(http, provider, await _token(leaver, provider))
        if status_code != 200 or asyncio.get_running_loop().time() > deadline:
            break
    before = len(await _provider_negotiations(provider, http))
    assert status_code == 401
    assert body["code"] == "credential-revoked"
    await _dataset(provider, http, "urn:dcp:leaver")
    failed = await leaver.api(http, "POST", "/api/v1/negotiations", json={
        "counterparty_address": provider.dsp_url, "dataset_id": "urn:dcp:leaver"})
    assert "credential-revoked" in str(failed)
    assert len(await _provider_negotiations(provider, http)) == before
    assert (await leaver.api(http, "GET", "/api/v1/membership", expect=200))["status"] == \
        "revoked"


async def _running_transfer(space: Space, name: str,
                            legal_name: str) -> tuple[RunningConnector, dict[str, Any], str]:
    """A new member with a STARTED transfer from the provider: it, its agreement, the id."""
    provider, http = space.provider, space.http
    member = await space.start(name)
    await space.onboard(member, legal_name)
    await _dataset(provider, http, f"urn:dcp:{name}")
    started = await _negotiate(member, provider, http, f"urn:dcp:{name}")
    done = await member.wait_for(http, "negotiations", started["id"], {"FINALIZED"})
    transfer = await member.api(http, "POST", "/api/v1/transfers", expect=201,
                                json={"agreement_id": done["agreement_id"]})
    await member.wait_for(http, "transfers", transfer["id"], {"STARTED"})
    return member, done, transfer["id"]


async def _refresh(space: Space, member: RunningConnector, transfer_id: str) -> tuple[int, Any]:
    edr = await member.api(space.http, "GET", f"/api/v1/transfers/{transfer_id}/edr")
    if "token" not in edr:
        return 409, edr
    async with space.http.post(space.provider.base_url + "/dataplane/refresh",
                               headers={"Authorization": f"Bearer {edr['token']}"}) as resp:
        return resp.status, await resp.json()


async def _provider_side(space: Space, transfer_id: str) -> dict[str, Any]:
    [theirs] = [t for t in (await space.provider.api(
        space.http, "GET", "/api/v1/transfers?role=provider&limit=500", expect=200))["items"]
        if t["consumer_pid"] == transfer_id]
    return dict(theirs)


async def test_a_revoked_members_running_transfer_ends_within_one_refresh(
    space: Space,
) -> None:
    member, _, transfer_id = await _running_transfer(space, "puller", "Puller AS")
    theirs = await _provider_side(space, transfer_id)
    [membership] = [s for s in theirs["standing"] if MEMBERSHIP in s["types"]]
    assert membership["status"], "the status entries the consumer stood on are kept"
    assert (await _refresh(space, member, transfer_id))[0] == 200
    await asyncio.sleep(1.5)  # a check passes: a member in good standing keeps its transfer
    assert (await _provider_side(space, transfer_id))["state"] == "STARTED"

    status = await member.api(space.http, "GET", "/api/v1/membership", expect=200)
    await space.ta("POST", f"/admin/applications/{status['application_id']}/revoke",
                   {"reason": "left the data space"})
    # One status-list refresh (1 s) and one check (1 s), with room for a loaded machine.
    ended = await member.wait_for(space.http, "transfers", transfer_id, {"TERMINATED"},
                                  timeout=8.0)
    assert ended["error_code"] == "credential-revoked"
    assert "revoked" in ended["error_reason"]
    theirs = await _provider_side(space, transfer_id)
    assert (theirs["state"], theirs["error_code"]) == ("TERMINATED", "credential-revoked")
    code, body = await _refresh(space, member, transfer_id)
    assert code in (403, 409), body  # no fresh token for an ended transfer


async def test_a_suspended_members_transfer_ends_and_a_new_one_starts_after_reinstatement(
    space: Space,
) -> None:
    member, agreement, transfer_id = await _running_transfer(space, "pauser", "Pauser AS")
    status = await member.api(space.http, "GET", "/api/v1/membership", expect=200)
    application = status["application_id"]
    await space.ta("POST", f"/admin/applications/{application}/suspend",
                   {"reason": "unpaid fee"})
    ended = await member.wait_for(space.http, "transfers", transfer_id, {"TERMINATED"},
                                  timeout=8.0)
    assert ended["error_code"] == "credential-suspended"

    await space.ta("POST", f"/admin/applications/{application}/reinstate", {"reason": "paid"})
    await asyncio.sleep(1.2)  # one status-list refresh
    again = await member.api(space.http, "POST", "/api/v1/transfers", expect=201,
                             json={"agreement_id": agreement["agreement_id"]})
    await member.wait_for(space.http, "transfers", again["id"], {"STARTED"})
    await asyncio.sleep(1.5)  # a check passes: the reinstated member keeps it
    assert (await _provider_side(space, again["id"]))["state"] == "STARTED"


async def test_a_membership_credential_from_an_untrusted_issuer_is_refused(
    space: Space,
) -> None:
    provider, http = space.provider, space.http
    rogue = await space.start("rogue")
    forger = Signer.for_did_key(KeyPair.generate())
    forged = issue_vc_jwt(build_credential(issuer=forger.did, types=[MEMBERSHIP],
                                           subject={"id": rogue.plane.did}), forger)
    await rogue.api(http, "POST", "/api/v1/credentials", json={"credential": forged},
                    expect=201)
    status, body = await _catalog(http, provider, await _token(rogue, provider))
    assert status == 403
    assert body["code"] == "issuer-not-trusted"


async def test_a_replayed_token_is_refused(space: Space) -> None:
    provider, consumer, http = space.provider, space.consumer, space.http
    token = await _token(consumer, provider)
    assert (await _catalog(http, provider, token))[0] == 200
    status, body = await _catalog(http, provider, token)
    assert status == 401
    assert body["code"] == "jwt-replayed"


async def test_dsp_accepts_no_bearer_but_a_dcp_token(space: Space) -> None:
    provider, consumer, http = space.provider, space.consumer, space.http
    signer = consumer.plane.signer
    outbound = await _token(consumer, provider)
    header = jwt.get_unverified_header(outbound.split(" ", 1)[1])
    claims = jwt.decode(outbound.split(" ", 1)[1], options={"verify_signature": False})
    # What our connector sends: a self-issued token for the provider, with an access token.
    assert header["kid"].startswith(consumer.plane.did + "#")
    assert claims["iss"] == claims["sub"] == consumer.plane.did
    assert claims["aud"] == provider.plane.did
    access = claims["token"]
    assert jwt.decode(access, options={"verify_signature": False})["scope"] == \
        "org.eclipse.dspace.dcp.vc.type:MembershipCredential:read"
    attempts = {
        "none": None,
        "fixed token": "Bearer consumer-token",
        "TCK token": "tck-token",
        "bare self-issued token": outbound.split(" ", 1)[1],
        "our access token": f"Bearer {access}",
        "no access token inside": "Bearer " + create_self_issued_token(
            signer, provider.plane.did),
        "for another audience": "Bearer " + make_dsp_token(signer, consumer.plane.did, access),
        "signed by another key": "Bearer " + make_dsp_token(
            Signer.for_did(KeyPair.generate(), consumer.plane.did), provider.plane.did, access),
    }
    for name, authorization in attempts.items():
        status, body = await _catalog(http, provider, authorization)
        assert status == 401, (name, body)
        assert body["@type"] == "CatalogError", name


async def test_a_token_replayed_to_another_replica_is_refused(space: Space) -> None:
    """Two replicas of one provider (one database, one key, one DID) share the replay store."""
    consumer, http = space.consumer, space.http
    database = space.stores()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    first = await space.start("replicated", port=port, public_url=public, database=database)
    second = await space.start("replicated", port=free_port(), public_url=public,
                               database=database)
    assert first.plane.did == second.plane.did
    token = await consumer.plane.auth.tokens.token_for(first.plane.did, [MEMBERSHIP])
    assert (await _catalog(http, first, token))[0] == 200
    status, body = await _catalog(http, second, token)
    assert status == 401
    assert body["code"] == "jwt-replayed"
    fresh = await consumer.plane.auth.tokens.token_for(first.plane.did, [MEMBERSHIP])
    assert (await _catalog(http, second, fresh))[0] == 200


# --- the holder side -------------------------------------------------------------------------

async def test_a_credential_requested_over_dcp_is_delivered_to_the_credential_service(
    space: Space,
) -> None:
    consumer, http = space.consumer, space.http
    before = (await consumer.api(http, "GET", "/api/v1/credentials?type=MembershipCredential",
                                 expect=200))["items"]
    requested = await consumer.api(http, "POST", "/api/v1/membership/collect", expect=202,
                                   json={"via": "dcp"})
    assert requested["request"]["status"] == "REQUESTED"
    deadline = time.monotonic() + 10
    while True:
        status = await consumer.api(http, "GET", "/api/v1/membership", expect=200)
        if status["dcp_request"]["status"] != "REQUESTED" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert status["dcp_request"]["status"] == "ISSUED"
    assert status["dcp_request"]["holder_pid"] == requested["request"]["holder_pid"]
    after = (await consumer.api(http, "GET", "/api/v1/credentials?type=MembershipCredential",
                                expect=200))["items"]
    assert len(after) == len(before) + 1
    assert after[-1]["source"] == "dcp"
    assert after[-1]["issuer"] == space.ta_did
    assert after[-1]["subject"] == consumer.plane.did


async def test_the_credential_service_presents_only_what_the_access_token_grants(
    space: Space,
) -> None:
    provider, consumer, http = space.provider, space.consumer, space.http
    # The consumer holds a purchase credential (an earlier test) but grants only membership.
    outbound = await consumer.plane.auth.tokens.token_for(provider.plane.did, [])
    access = jwt.decode(outbound.split(" ", 1)[1], options={"verify_signature": False})["token"]

    async def query(scope: str, asker: Signer) -> tuple[int, Any]:
        query_token = make_dsp_token(asker, consumer.plane.did, access)
        async with http.post(consumer.base_url + "/dcp/presentations/query",
                             headers={"Authorization": f"Bearer {query_token}"}, json={
                "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                "type": "PresentationQueryMessage",
                "scope": [f"org.eclipse.dspace.dcp.vc.type:{scope}:read"]}) as resp:
            return resp.status, await resp.json(content_type=None)

    async def ask(scope: str) -> list[Any]:
        status, answer = await query(scope, provider.plane.signer)
        assert status == 200, answer
        return list(answer["presentation"])

    assert await ask(PURCHASE) == []
    [presentation] = await ask(MEMBERSHIP)
    vp = jwt.decode(presentation, options={"verify_signature": False})
    assert vp["aud"] == provider.plane.did
    # A VC 2.0 presentation: each vc+jwt in an EnvelopedVerifiableCredential.
    types = [jwt.decode(vc["id"].split(",", 1)[1], options={"verify_signature": False})["type"]
             for vc in vp["verifiableCredential"]]
    assert types
    assert all(MEMBERSHIP in t and PURCHASE not in t for t in types)
    # Another party holding the same access token cannot use it.
    thief = Signer.for_did_key(KeyPair.generate())
    assert (await query(MEMBERSHIP, thief))[0] == 401


async def test_a_peer_cannot_make_us_address_tokens_to_someone_else(space: Space) -> None:
    """A server claiming to be the provider gets tokens for its own did:web, and is refused."""
    provider, consumer, http = space.provider, space.consumer, space.http
    seen: list[str] = []

    async def version(_request: web.Request) -> web.Response:
        return web.json_response({"protocolVersions": [{
            "version": "2025-1", "path": "/dsp", "binding": "HTTPS",
            "serviceId": provider.plane.did + "#dsp"}]})

    async def catalog(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@id": "urn:uuid:evil", "@type": "Catalog", "participantId": provider.plane.did})

    app = web.Application()
    app.router.add_get("/.well-known/dspace-version", version)
    app.router.add_post("/dsp/catalog/request", catalog)
    port = free_port()
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        failed = await consumer.api(http, "POST", "/api/v1/negotiations", json={
            "counterparty_address": f"http://127.0.0.1:{port}/dsp", "dataset_id": "urn:x"})
    finally:
        await server.close()
    assert failed["code"] == "participant-id-mismatch", failed
    [authorization] = seen
    claims = jwt.decode(authorization.split(" ", 1)[1], options={"verify_signature": False})
    assert claims["aud"] == f"did:web:127.0.0.1%3A{port}"
    assert claims["aud"] != provider.plane.did
