"""DCP verifier end to end: a real trust anchor, real credential services, real HTTP."""

from __future__ import annotations

import pytest

from identity import KeyPair, Signer, build_credential, create_self_issued_token, issue_vc_jwt
from identity.dcp import (
    PRESENTATION_QUERY_MESSAGE,
    PRESENTATION_RESPONSE_MESSAGE,
    CredentialsRefused,
    StoredCredential,
    make_dsp_token,
    validate_dcp,
)
from identity.errors import VerificationError
from servicekit.errors import DataspaceError

from .conftest import Member, World

MEMBERSHIP = ["MembershipCredential"]


def _schema_checked(member: Member) -> None:
    """Every message the member's credential service saw or sent matches the DCP schemas."""
    for query in member.queries:
        validate_dcp(PRESENTATION_QUERY_MESSAGE, query)
    for answer in member.answers:
        validate_dcp(PRESENTATION_RESPONSE_MESSAGE, answer)


async def _refused(world: World, member: Member, header: str | None = None,
                   types: list[str] = MEMBERSHIP) -> DataspaceError:
    if header is None:
        header = await member.tokens.token_for(world.verifier_did, types)
    with pytest.raises(DataspaceError) as caught:
        await world.verifier.verify_caller(header, types)
    return caught.value


async def test_a_member_is_accepted_with_its_membership_credential(world: World) -> None:
    member = await world.add_member()
    header = await member.tokens.token_for(world.verifier_did, MEMBERSHIP)
    caller = await world.verifier.verify_caller(header, MEMBERSHIP)
    assert caller.did == member.did
    assert not caller.cached
    [credential] = caller.credentials
    assert credential.issuer == world.ta.did
    assert credential.subject_id == member.did
    assert caller.claims["MembershipCredential"]["legalName"] == "Halden kommune"
    assert caller.token.issuer == member.did
    # What went over the wire: one scope query, one vp+jwt for our DID.
    assert [q["scope"] for q in member.queries] == [
        ["org.eclipse.dspace.dcp.vc.type:MembershipCredential:read"]]
    [answer] = member.answers
    assert len(answer["presentation"]) == 1
    assert isinstance(answer["presentation"][0], str)
    _schema_checked(member)


async def test_an_enveloped_presentation_is_accepted_too(world: World) -> None:
    member = await world.add_member(envelope=True)
    header = await member.tokens.token_for(world.verifier_did, MEMBERSHIP)
    caller = await world.verifier.verify_caller(header, MEMBERSHIP)
    assert caller.did == member.did
    assert member.answers[0]["presentation"][0]["type"] == "EnvelopedVerifiablePresentation"
    _schema_checked(member)


async def test_without_the_credential_the_caller_is_refused(world: World) -> None:
    member = await world.add_member(onboard=False)
    error = await _refused(world, member)
    assert isinstance(error, CredentialsRefused)
    assert (error.status, error.code) == (403, "credential-missing")
    assert member.answers == [{"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                               "type": "PresentationResponseMessage", "presentation": []}]
    _schema_checked(member)


async def test_a_type_the_access_token_does_not_grant_is_not_presented(world: World) -> None:
    member = await world.add_member()
    # The caller lets the verifier read another type only: the holder answers fewer.
    header = await member.tokens.token_for(world.verifier_did, ["OtherCredential"])
    error = await _refused(world, member, header)
    assert error.code == "credential-missing"
    assert member.answers[-1]["presentation"] == []


async def test_a_revoked_credential_is_refused_after_the_status_list_refresh(
    world: World,
) -> None:
    member = await world.add_member()
    await world.verifier.verify_caller(
        await member.tokens.token_for(world.verifier_did, MEMBERSHIP), MEMBERSHIP)
    status, body = await world.ta.post(f"/admin/applications/{member.application_id}/revoke",
                                       {"reason": "left"}, admin=True)
    assert status == 200, body
    # Within one refresh the cached answer stands (no second query)...
    cached = await world.verifier.verify_caller(
        await member.tokens.token_for(world.verifier_did, MEMBERSHIP), MEMBERSHIP)
    assert cached.cached
    assert len(member.queries) == 1
    # ...after it, the list is fetched again and the caller refused.
    world.clock.advance(61)
    error = await _refused(world, member)
    assert (error.status, error.code) == (401, "credential-revoked")
    assert len(member.queries) == 2


async def test_a_credential_from_an_issuer_outside_the_registry_is_refused(
    world: World,
) -> None:
    member = await world.add_member(onboard=False)
    rogue = Signer.for_did_key(KeyPair.generate())
    forged = issue_vc_jwt(build_credential(issuer=rogue.did, subject={"id": member.did},
                                           types=["MembershipCredential"]), rogue)
    member.credentials.append(StoredCredential.from_credential(forged))
    error = await _refused(world, member)
    assert (error.status, error.code) == (403, "issuer-not-trusted")
    assert (await world.trusted.check(rogue.did, "MembershipCredential")).reason == (
        "not-registered")


async def test_an_issuer_revoked_in_the_registry_is_refused_after_one_refresh(
    world: World,
) -> None:
    member = await world.add_member(onboard=False)
    issuer = Signer.for_did_key(KeyPair.generate())
    await world.accredit(issuer.did, ["MembershipCredential"])
    credential = issue_vc_jwt(build_credential(issuer=issuer.did, subject={"id": member.did},
                                               types=["MembershipCredential"]), issuer)
    member.credentials.append(StoredCredential.from_credential(credential))
    caller = await world.verifier.verify_caller(
        await member.tokens.token_for(world.verifier_did, MEMBERSHIP), MEMBERSHIP)
    assert caller.credentials[0].issuer == issuer.did

    await world.revoke_issuer(issuer.did)
    world.clock.advance(61)
    error = await _refused(world, member)
    assert (error.status, error.code) == (403, "issuer-not-trusted")
    assert (await world.trusted.check(issuer.did, "MembershipCredential")).reason == "revoked"


async def test_a_credential_about_someone_else_is_refused(world: World) -> None:
    member = await world.add_member(onboard=False)
    other = await world.add_member()  # onboarded: its credential names its own DID
    member.credentials.extend(other.credentials)
    error = await _refused(world, member)
    assert (error.status, error.code) == (401, "subject-mismatch")


async def test_a_replayed_self_issued_token_is_refused(world: World) -> None:
    member = await world.add_member()
    header = await member.tokens.token_for(world.verifier_did, MEMBERSHIP)
    await world.verifier.verify_caller(header, MEMBERSHIP)
    error = await _refused(world, member, header)
    assert (error.status, error.code) == (401, "jwt-replayed")


async def test_a_token_for_another_audience_is_refused_before_any_query(world: World) -> None:
    member = await world.add_member()
    someone_else = Signer.for_did_key(KeyPair.generate()).did
    header = await member.tokens.token_for(someone_else, MEMBERSHIP)
    error = await _refused(world, member, header)
    assert (error.status, error.code) == (401, "jwt-audience-mismatch")
    assert member.queries == []


async def test_a_caller_token_without_an_access_token_is_refused(world: World) -> None:
    member = await world.add_member()
    header = "Bearer " + create_self_issued_token(member.signer, world.verifier_did)
    error = await _refused(world, member, header)
    assert (error.status, error.code) == (401, "token-missing")
    assert member.queries == []


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer a b"])
async def test_an_authorization_without_a_bearer_token_is_refused(
    world: World, header: str | None
) -> None:
    with pytest.raises(VerificationError) as caught:
        await world.verifier.verify_caller(header, MEMBERSHIP)
    assert caught.value.code == "authorization-missing"


async def test_an_access_token_issued_to_another_verifier_is_refused_by_the_holder(
    world: World,
) -> None:
    member = await world.add_member()
    elsewhere = Signer.for_did_key(KeyPair.generate()).did
    stolen = member.holder.issue_access_token(elsewhere, MEMBERSHIP)
    header = "Bearer " + make_dsp_token(member.signer, world.verifier_did, stolen)
    error = await _refused(world, member, header)
    assert (error.status, error.code) == (401, "presentation-query-refused")
    assert member.refusals == ["jwt-audience-mismatch"]


async def test_the_cache_answers_without_a_second_query_but_never_skips_replay(
    world: World,
) -> None:
    member = await world.add_member()
    first = await world.verifier.verify_caller(
        await member.tokens.token_for(world.verifier_did, MEMBERSHIP), MEMBERSHIP)
    header = await member.tokens.token_for(world.verifier_did, MEMBERSHIP)
    second = await world.verifier.verify_caller(header, MEMBERSHIP)
    assert second.cached
    assert not first.cached
    assert second.did == first.did
    assert second.credentials == first.credentials
    assert second.token.jti != first.token.jti
    assert len(member.queries) == 1
    error = await _refused(world, member, header)
    assert error.code == "jwt-replayed"
    assert len(member.queries) == 1
    # Other required types are another question: they are queried.
    with pytest.raises(CredentialsRefused):
        await world.verifier.verify_caller(
            await member.tokens.token_for(world.verifier_did, ["DataProductPurchase"]),
            ["DataProductPurchase"])
    assert len(member.queries) == 2
    _schema_checked(member)


async def test_a_caller_without_a_credential_service_is_refused(world: World) -> None:
    caller = Signer.for_did_key(KeyPair.generate())  # a did:key lists no services
    header = "Bearer " + make_dsp_token(caller, world.verifier_did, "opaque")
    with pytest.raises(VerificationError) as caught:
        await world.verifier.verify_caller(header, MEMBERSHIP)
    assert caught.value.code == "credential-service-missing"


async def test_a_credential_service_that_is_down_fails_closed(world: World) -> None:
    member = await world.add_member()
    assert member.server is not None
    await member.server.close()
    world.resolver.preload(member.did, member.document())  # its DID still resolves
    with pytest.raises(DataspaceError) as caught:
        await world.verifier.verify_caller(
            await member.tokens.token_for(world.verifier_did, MEMBERSHIP), MEMBERSHIP)
    assert (caught.value.status, caught.value.code) == (502, "credential-service-unavailable")


async def test_no_required_types_means_authentication_only(world: World) -> None:
    member = await world.add_member(onboard=False)
    caller = await world.verifier.verify_caller(
        await member.tokens.token_for(world.verifier_did, MEMBERSHIP), [])
    assert caller.did == member.did
    assert caller.credentials == ()
    assert member.queries == []


async def test_concurrent_requests_of_one_caller_share_one_query(world: World) -> None:
    import asyncio

    member = await world.add_member()
    headers = [await member.tokens.token_for(world.verifier_did, MEMBERSHIP) for _ in range(4)]
    callers = await asyncio.gather(*[world.verifier.verify_caller(h, MEMBERSHIP)
                                     for h in headers])
    assert {c.did for c in callers} == {member.did}
    assert len({c.token.jti for c in callers}) == 4
    assert len(member.queries) == 1


async def test_a_fresh_question_asks_again_and_replaces_the_cached_answer(
    world: World,
) -> None:
    member = await world.add_member()
    await world.verifier.verify_caller(
        await member.tokens.token_for(world.verifier_did, MEMBERSHIP), MEMBERSHIP)
    assert len(member.queries) == 1
    fresh = await world.verifier.verify_caller(
        await member.tokens.token_for(world.verifier_did, MEMBERSHIP), MEMBERSHIP, fresh=True)
    assert not fresh.cached
    assert len(member.queries) == 2
    # the fresh answer is what later questions get from the cache
    later = await world.verifier.verify_caller(
        await member.tokens.token_for(world.verifier_did, MEMBERSHIP), MEMBERSHIP)
    assert later.cached
    assert later.expires_at == fresh.expires_at
    assert len(member.queries) == 2
