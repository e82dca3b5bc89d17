"""The trust anchor as a DCP issuer: a member's credential service asks, the credential arrives.

Members are the did:web participants with real credential services from
tests/identity/dcp (holder library, loopback), onboarded at a real trust
anchor. Every message is checked against the DCP schemas on both sides.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from identity.dcp import fetch_issuer_metadata, request_credentials, request_status
from identity.jose import decode_jws
from identity.self_issued import create_self_issued_token
from servicekit.errors import Forbidden, InvalidRequest, NotFound
from tests.conftest import Database, free_port
from tests.factories import trust_anchor_settings
from tests.identity.dcp.conftest import Member, World
from tests.identity.dcp.conftest import world as world
from tests.trust_anchor.conftest import TrustAnchor, serving
from trust_anchor.settings import CredentialTypeConfig


@pytest.fixture
async def trust_anchor(tmp_path: Path, database: Database) -> AsyncIterator[TrustAnchor]:
    """A trust anchor that also issues a marketplace-only type on request."""
    settings = trust_anchor_settings(tmp_path, database, free_port(), credential_types=[
        CredentialTypeConfig(type="MembershipCredential", on_approval=True),
        CredentialTypeConfig(type="MarketOperatorCredential", roles=["marketplace"]),
    ])
    async with serving(settings) as running:
        yield running


async def settled(world: World, member: Member, status_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        status = await request_status(world.session, status_url, member.signer, world.ta.did)
        if status["status"] != "RECEIVED":
            return status
        assert time.monotonic() < deadline, "the request was never settled"
        await asyncio.sleep(0.05)


async def test_a_member_requests_its_membership_credential_over_dcp(world: World) -> None:
    member = await world.add_member()
    metadata = await fetch_issuer_metadata(world.session, world.ta.url)
    assert metadata["issuer"] == world.ta.did
    ids = [o["id"] for o in metadata["credentialsSupported"]]
    assert ids == ["MembershipCredential", "MarketOperatorCredential"]
    before = len(member.credentials)
    receipt = await request_credentials(world.session, world.ta.url, member.signer, world.ta.did,
                                        ["MembershipCredential"],
                                        write_types=["MembershipCredential"])
    status = await settled(world, member, receipt.status_url)
    assert status["status"] == "ISSUED"
    assert status["holderPid"] == receipt.holder_pid
    assert len(member.credentials) == before + 1
    (message,) = member.delivered
    assert message["status"] == "ISSUED"
    assert message["holderPid"] == receipt.holder_pid
    payload = message["credentials"][0]["payload"]
    verified = await world.credentials.verify(payload)
    assert verified.subject_id == member.did
    assert verified.issuer == world.ta.did
    assert verified.has_type("MembershipCredential")
    assert verified.claims["legalName"] == "Halden kommune"
    # A second, distinct credential with status slots of its own.
    first = decode_jws(verified.raw if isinstance(verified.raw, str) else payload).claims()
    status, view = await world.ta.get(f"/admin/applications/{member.application_id}",
                                      admin=True)
    assert view["status"] == "active"
    assert first["id"].startswith("urn:uuid:")
    assert len({s["statusListIndex"] for s in first["credentialStatus"]}) == 2


async def test_requests_from_non_members_and_for_unknown_objects_are_refused(
    world: World,
) -> None:
    stranger = await world.add_member(onboard=False)
    # A refusal keeps its family (the issuer's 403 / 400), not a 502.
    with pytest.raises(Forbidden) as refused:
        await request_credentials(world.session, world.ta.url, stranger.signer, world.ta.did,
                                  ["MembershipCredential"], write_types=["MembershipCredential"])
    assert refused.value.extra["upstream_status"] == 403
    member = await world.add_member()
    with pytest.raises(InvalidRequest) as invalid:
        await request_credentials(world.session, world.ta.url, member.signer, world.ta.did,
                                  ["DataProductPurchaseCredential"],
                                  write_types=["DataProductPurchaseCredential"])
    assert invalid.value.extra["upstream_status"] == 400
    assert member.delivered == []


async def test_a_request_without_a_write_token_or_with_a_bad_body_is_refused(
    world: World,
) -> None:
    member = await world.add_member()
    token = create_self_issued_token(member.signer, world.ta.did)  # no `token` claim
    body = {"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
            "type": "CredentialRequestMessage", "holderPid": "x",
            "credentials": [{"id": "MembershipCredential"}]}
    async with world.session.post(f"{world.ta.url}/credentials", json=body,
                                  headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 401
        assert (await response.json())["code"] == "token-missing"
    receipt_token = create_self_issued_token(member.signer, world.ta.did, token="x.y.z")
    async with world.session.post(f"{world.ta.url}/credentials",
                                  json={k: v for k, v in body.items() if k != "credentials"},
                                  headers={"Authorization": f"Bearer {receipt_token}"}
                                  ) as response:
        assert response.status == 400
        assert (await response.json())["code"] == "dcp-schema-violation"
    assert member.delivered == []


async def test_only_the_requester_sees_the_status(world: World) -> None:
    member = await world.add_member()
    other = await world.add_member()
    receipt = await request_credentials(world.session, world.ta.url, member.signer, world.ta.did,
                                        ["MembershipCredential"],
                                        write_types=["MembershipCredential"])
    await settled(world, member, receipt.status_url)
    with pytest.raises(NotFound) as caught:
        await request_status(world.session, receipt.status_url, other.signer, world.ta.did)
    assert caught.value.extra["upstream_status"] == 404


async def test_a_type_the_member_may_not_hold_is_rejected_by_message(world: World) -> None:
    member = await world.add_member()  # a provider and consumer, not a marketplace
    receipt = await request_credentials(world.session, world.ta.url, member.signer, world.ta.did,
                                        ["MarketOperatorCredential"],
                                        write_types=["MarketOperatorCredential"])
    status = await settled(world, member, receipt.status_url)
    assert status["status"] == "REJECTED"
    (message,) = member.delivered
    assert message["status"] == "REJECTED"
    assert "marketplace" in message["rejectionReason"]
    assert "credentials" not in message
    assert len(member.credentials) == 1  # only the membership from onboarding
