"""A revoked credential next to a good one of its type, at the holder and at the verifier.

A buyer whose purchase was cancelled (its purchase credential revoked) and
who bought again holds both credentials. The holder leaves the revoked one
out of its presentations; a verifier given both anyway accepts the good one.
With only the revoked one, the request is refused as revoked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from identity import (
    CredentialVerifier,
    DidResolver,
    InMemoryReplayStore,
    KeyPair,
    Signer,
    StatusList,
    StatusListChecker,
    build_credential,
    build_status_list_credential,
    decode_jws,
    issue_vc_jwt,
    status_list_entry,
)
from identity.dcp import DcpHolder, StoredCredential
from servicekit.errors import DataspaceError

from ..conftest import Host
from .conftest import Member, World

PURCHASE = "DataProductPurchaseCredential"
MEMBERSHIP = "MembershipCredential"


@dataclass
class Issuer:
    """An accredited issuer publishing one revocation list on the loopback host."""

    signer: Signer
    host: Host
    world: World
    bits: StatusList

    @property
    def list_url(self) -> str:
        return f"{self.host.base_url}/status/revocation"

    def publish(self) -> None:
        self.host.publish("/status/revocation", issue_vc_jwt(build_status_list_credential(
            id=self.list_url, issuer=self.signer.did, status_list=self.bits), self.signer))

    def issue(self, member: Member, kind: str, index: int, order: str, *,
              age: timedelta) -> StoredCredential:
        """A credential about ``member`` that took effect ``age`` ago."""
        start = datetime.fromtimestamp(self.world.clock.now, UTC) - age
        token = issue_vc_jwt(build_credential(
            issuer=self.signer.did, subject={"id": member.did, "order": order}, types=[kind],
            valid_from=start, valid_until=start + timedelta(days=30),
            status=[status_list_entry(list_credential=self.list_url, index=index)],
        ), self.signer)
        return StoredCredential.from_credential(token)

    def revoke(self, index: int) -> None:
        self.bits.set(index)
        self.publish()


@pytest.fixture
async def issuer(world: World, host: Host) -> Issuer:
    issuer = Issuer(Signer.for_did_key(KeyPair.generate()), host, world, StatusList())
    issuer.publish()
    await world.accredit(issuer.signer.did, [PURCHASE, MEMBERSHIP])
    return issuer


@pytest.fixture
async def checking_holder(world: World) -> AsyncIterator[Member]:
    """A member whose Credential Service checks its own credentials' status."""
    member = await world.add_member(onboard=False)
    checker = StatusListChecker(session=world.session, allow_loopback=True, ttl=60,
                                clock=world.clock)
    member.holder = DcpHolder(
        member.signer, DidResolver(session=world.session, allow_loopback=True),
        InMemoryReplayStore(), clock=world.clock,
        credential_verifier=CredentialVerifier(
            DidResolver(session=world.session, allow_loopback=True), clock=world.clock,
            status_checker=checker))
    try:
        yield member
    finally:
        await checker.close()


def _presented(member: Member) -> list[str]:
    """The credentials (JWTs) of the member's last answer."""
    [presentation] = member.answers[-1]["presentation"]
    enveloped = decode_jws(presentation).claims()["verifiableCredential"]
    return [item["id"].split(",", 1)[1] for item in enveloped]


async def _verify(world: World, member: Member, types: list[str]) -> list[str]:
    """The orders of the credentials the verifier accepted."""
    header = await member.tokens.token_for(world.verifier_did, types)
    caller = await world.verifier.verify_caller(header, types)
    return [str(c.claims["order"]) for c in caller.credentials]


async def _refused(world: World, member: Member, types: list[str]) -> DataspaceError:
    world.verifier.forget()
    header = await member.tokens.token_for(world.verifier_did, types)
    with pytest.raises(DataspaceError) as caught:
        await world.verifier.verify_caller(header, types)
    return caught.value


async def test_the_holder_presents_the_good_credential_and_not_the_revoked_one(
    world: World, issuer: Issuer, checking_holder: Member,
) -> None:
    member = checking_holder
    cancelled = issuer.issue(member, PURCHASE, 1, "order-1", age=timedelta(hours=2))
    renewed = issuer.issue(member, PURCHASE, 2, "order-2", age=timedelta(hours=1))
    member.credentials.extend([cancelled, renewed])
    issuer.revoke(1)
    assert await _verify(world, member, [PURCHASE]) == ["order-2"]
    assert _presented(member) == [renewed.raw]
    # With only the revoked one left, it is presented, and the refusal says why.
    member.credentials.remove(renewed)
    error = await _refused(world, member, [PURCHASE])
    assert (error.status, error.code) == (401, "credential-revoked")
    assert _presented(member) == [cancelled.raw]


async def test_the_holder_presents_the_newest_first_and_leaves_out_the_expired(
    world: World, issuer: Issuer, checking_holder: Member,
) -> None:
    member = checking_holder
    old = issuer.issue(member, PURCHASE, 3, "order-3", age=timedelta(days=2))
    new = issuer.issue(member, PURCHASE, 4, "order-4", age=timedelta(days=1))
    expired = issuer.issue(member, PURCHASE, 5, "order-5", age=timedelta(days=40))
    member.credentials.extend([old, expired, new])
    assert await _verify(world, member, [PURCHASE]) == ["order-4", "order-3"]
    assert _presented(member) == [new.raw, old.raw]


async def test_a_verifier_given_a_revoked_and_a_good_credential_accepts_the_good_one(
    world: World, issuer: Issuer,
) -> None:
    # The world's members present everything they hold (their holders check no status).
    member = await world.add_member(onboard=False)
    cancelled = issuer.issue(member, PURCHASE, 6, "order-6", age=timedelta(hours=2))
    renewed = issuer.issue(member, PURCHASE, 7, "order-7", age=timedelta(hours=1))
    member.credentials.extend([cancelled, renewed])
    issuer.revoke(6)
    assert await _verify(world, member, [PURCHASE]) == ["order-7"]
    assert _presented(member) == [renewed.raw, cancelled.raw]
    header = await member.tokens.token_for(world.verifier_did, [PURCHASE])
    caller = await world.verifier.verify_caller(header, [PURCHASE])
    assert caller.cached
    assert caller.claims[PURCHASE]["order"] == "order-7"
    # The revoked one alone is refused as revoked.
    member.credentials.remove(renewed)
    error = await _refused(world, member, [PURCHASE])
    assert (error.status, error.code) == (401, "credential-revoked")


async def test_a_revoked_membership_still_refuses_when_no_good_membership_remains(
    world: World, issuer: Issuer,
) -> None:
    member = await world.add_member(onboard=False)
    member.credentials.extend([
        issuer.issue(member, MEMBERSHIP, 8, "member", age=timedelta(hours=1)),
        issuer.issue(member, PURCHASE, 9, "order-9", age=timedelta(hours=1)),
    ])
    assert sorted(await _verify(world, member, [MEMBERSHIP, PURCHASE])) == ["member", "order-9"]
    issuer.revoke(8)
    world.clock.advance(61)  # the verifier's status lists are read again
    error = await _refused(world, member, [MEMBERSHIP, PURCHASE])
    assert (error.status, error.code) == (401, "credential-revoked")
    # The good purchase credential alone still proves a purchase.
    assert await _verify(world, member, [PURCHASE]) == ["order-9"]
