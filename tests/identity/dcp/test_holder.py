"""The holder library on its own: access tokens, query answers, delivered credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from identity import (
    CredentialVerifier,
    DidResolver,
    InMemoryReplayStore,
    KeyPair,
    PresentationVerifier,
    SelfIssuedTokenVerifier,
    Signer,
    build_credential,
    create_self_issued_token,
    issue_vc_jwt,
)
from identity.dcp import (
    PRESENTATION_RESPONSE_MESSAGE,
    DcpHolder,
    DcpTokenProvider,
    NotSupported,
    Scope,
    StoredCredential,
    credential_message,
    issue_access_token,
    make_dsp_token,
    parse_bearer,
    presentation_query_message,
    scopes_for,
    type_scope,
    validate_dcp,
    verify_access_token,
)
from identity.errors import VerificationError
from servicekit.errors import DataspaceError, Forbidden, InvalidRequest, ValidationFailed
from tests.fakes import FakeClock

from ..conftest import Host


@dataclass
class Parties:
    holder: DcpHolder
    holder_signer: Signer
    verifier: Signer
    issuer: Signer
    clock: FakeClock
    resolver: DidResolver
    store: list[StoredCredential]

    def credential(self, kind: str, *, subject: str | None = None, issuer: Signer | None = None,
                   **extra: Any) -> StoredCredential:
        signer = issuer or self.issuer
        token = issue_vc_jwt(build_credential(
            issuer=signer.did, subject={"id": subject or self.holder_signer.did}, types=[kind],
            **extra), signer)
        return StoredCredential.from_credential(token)

    def authorization(self, scopes: list[str], *, verifier: Signer | None = None,
                      audience: str | None = None) -> str:
        who = verifier or self.verifier
        access = self.holder.issue_access_token(who.did, scopes)
        return "Bearer " + make_dsp_token(who, audience or self.holder_signer.did, access,
                                          clock=self.clock)


@pytest.fixture
async def parties(clock: FakeClock) -> AsyncIterator[Parties]:
    holder_signer = Signer.for_did_key(KeyPair.generate())
    async with DidResolver(allow_loopback=True, clock=clock) as resolver:
        holder = DcpHolder(holder_signer, resolver, InMemoryReplayStore(clock=clock),
                           credential_verifier=CredentialVerifier(resolver, clock=clock),
                           clock=clock)
        yield Parties(holder, holder_signer, Signer.for_did_key(KeyPair.generate("p256")),
                      Signer.for_did_key(KeyPair.generate()), clock, resolver, [])


async def _present(parties: Parties, answer: dict[str, Any]) -> list[str]:
    """The types presented, after verifying the answer as the verifier would."""
    validate_dcp(PRESENTATION_RESPONSE_MESSAGE, answer)
    verifier = PresentationVerifier(CredentialVerifier(parties.resolver, clock=parties.clock))
    types = []
    for item in answer["presentation"]:
        vp = await verifier.verify(item, audience=parties.verifier.did, nonce=None,
                                   holder=parties.holder_signer.did)
        types.extend(t for c in vp.credentials for t in c.types if t != "VerifiableCredential")
    return types


async def test_the_holder_presents_what_was_both_asked_and_granted(parties: Parties) -> None:
    store = [parties.credential("MembershipCredential"), parties.credential("PurchaseCredential"),
             parties.credential("OtherCredential")]
    query = presentation_query_message(
        [type_scope("MembershipCredential"), type_scope("PurchaseCredential")])
    header = parties.authorization(["MembershipCredential", "OtherCredential"])
    answer = await parties.holder.answer_query(header, query, store)
    assert await _present(parties, answer) == ["MembershipCredential"]


async def test_nothing_granted_is_an_empty_answer_not_an_error(parties: Parties) -> None:
    store = [parties.credential("MembershipCredential")]
    query = presentation_query_message([type_scope("MembershipCredential")])
    answer = await parties.holder.answer_query(parties.authorization(["Other"]), query, store)
    assert answer["presentation"] == []


async def test_selection_by_id_and_all_access_and_never_for_write(parties: Parties) -> None:
    member = parties.credential("MembershipCredential", id="urn:uuid:1234")
    store = [member, parties.credential("MembershipCredential", id="urn:uuid:5678")]
    query = presentation_query_message(["org.eclipse.dspace.dcp.vc.id:urn:uuid:1234:read"])
    header = parties.authorization(["org.eclipse.dspace.dcp.vc.id:urn:uuid:1234:all"])
    answer = await parties.holder.answer_query(header, query, store)
    assert len(answer["presentation"]) == 1
    assert parties.holder.select(store, [Scope.parse(query["scope"][0])]) == [member]
    write = presentation_query_message([type_scope("MembershipCredential", "write")])
    header = parties.authorization([type_scope("MembershipCredential", "all")])
    assert (await parties.holder.answer_query(header, write, store))["presentation"] == []


async def test_expired_credentials_are_not_presented(parties: Parties) -> None:
    from datetime import UTC, datetime, timedelta

    past = datetime.fromtimestamp(parties.clock.now, UTC) - timedelta(days=1)
    store = [parties.credential("MembershipCredential", valid_until=past)]
    query = presentation_query_message([type_scope("MembershipCredential")])
    header = parties.authorization(["MembershipCredential"])
    assert (await parties.holder.answer_query(header, query, store))["presentation"] == []


@pytest.mark.parametrize(("change", "code"), [
    ("other-holder", "access-token-invalid"),
    ("other-verifier", "jwt-audience-mismatch"),
    ("expired", "jwt-expired"),
    ("holder-audience", "jwt-audience-mismatch"),
    ("no-token", "token-missing"),
    ("not-bearer", "authorization-missing"),
])
async def test_queries_without_a_valid_grant_are_refused(
    parties: Parties, change: str, code: str
) -> None:
    query = presentation_query_message([type_scope("MembershipCredential")])
    verifier = parties.verifier
    access = parties.holder.issue_access_token(verifier.did, ["MembershipCredential"])
    audience = parties.holder_signer.did
    if change == "other-holder":
        access = issue_access_token(Signer.for_did_key(KeyPair.generate()), verifier.did,
                                    ["MembershipCredential"], clock=parties.clock)
    elif change == "other-verifier":
        access = parties.holder.issue_access_token(Signer.for_did_key(KeyPair.generate()).did,
                                                   ["MembershipCredential"])
    elif change == "expired":
        parties.clock.advance(400)  # the access token lives 300 s; the query token is fresh
    elif change == "holder-audience":
        audience = verifier.did
    token = make_dsp_token(verifier, audience, access, clock=parties.clock)
    header = "Bearer " + token
    if change == "no-token":
        header = "Bearer " + create_self_issued_token(verifier, audience, clock=parties.clock)
    elif change == "not-bearer":
        header = "Token " + token
    with pytest.raises(VerificationError) as caught:
        await parties.holder.answer_query(header, query, [])
    assert caught.value.code == code


async def test_the_verifier_token_must_not_be_replayed(parties: Parties) -> None:
    query = presentation_query_message([type_scope("MembershipCredential")])
    header = parties.authorization(["MembershipCredential"])
    await parties.holder.answer_query(header, query, [])
    with pytest.raises(VerificationError) as caught:
        await parties.holder.answer_query(header, query, [])
    assert caught.value.code == "jwt-replayed"


async def test_the_verifier_key_must_be_a_capability_invocation_key(
    parties: Parties, host: Host
) -> None:
    key = KeyPair.generate()
    did = host.publish_did([key], relationships=("authentication", "assertionMethod"))
    verifier = Signer.for_did(key, did)
    query = presentation_query_message([type_scope("MembershipCredential")])
    with pytest.raises(VerificationError) as caught:
        await parties.holder.answer_query(
            parties.authorization(["MembershipCredential"], verifier=verifier), query, [])
    assert caught.value.code == "key-not-authorized"


async def test_bad_queries(parties: Parties) -> None:
    def header() -> str:
        return parties.authorization(["MembershipCredential"])

    definition = {"id": "pd", "input_descriptors": []}
    base = {"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
            "type": "PresentationQueryMessage"}
    with pytest.raises(NotSupported) as unsupported:
        await parties.holder.answer_query(
            header(), {**base, "presentationDefinition": definition}, [])
    assert (unsupported.value.status, unsupported.value.code) == (
        501, "presentation-definition-not-supported")
    with pytest.raises(InvalidRequest) as both:
        await parties.holder.answer_query(
            header(), {**base, "scope": ["a:b"], "presentationDefinition": definition}, [])
    assert both.value.code == "query-invalid"
    with pytest.raises(ValidationFailed) as invalid:
        await parties.holder.answer_query(header(), {**base, "scope": []}, [])
    assert invalid.value.errors[0]["path"] == "/scope"
    with pytest.raises(InvalidRequest) as scope:
        await parties.holder.answer_query(header(), {**base, "scope": ["nonsense"]}, [])
    assert scope.value.code == "scope-malformed"


# --- the Storage API ----------------------------------------------------------------


def _delivery(parties: Parties, containers: list[dict[str, str]], *,
              write: list[str] | None = None, status: str = "ISSUED") -> tuple[str, Any]:
    access = parties.holder.issue_access_token(
        parties.issuer.did, scopes_for(write if write is not None else ["MembershipCredential"],
                                       "write"))
    header = "Bearer " + make_dsp_token(parties.issuer, parties.holder_signer.did, access,
                                        clock=parties.clock)
    return header, credential_message(issuer_pid="i-1", holder_pid="h-1", status=status,
                                      credentials=containers)


def _container(parties: Parties, *, kind: str = "MembershipCredential",
               subject: str | None = None) -> dict[str, str]:
    token = issue_vc_jwt(build_credential(
        issuer=parties.issuer.did, subject={"id": subject or parties.holder_signer.did},
        types=[kind]), parties.issuer)
    return {"credentialType": kind, "payload": token, "format": "vc+jwt"}


async def test_delivered_credentials_are_verified_before_they_are_stored(
    parties: Parties,
) -> None:
    header, message = _delivery(parties, [_container(parties)])
    delivered = await parties.holder.accept_credentials(
        header, message, expected_issuer=parties.issuer.did)
    assert (delivered.issuer, delivered.issuer_pid, delivered.holder_pid) == (
        parties.issuer.did, "i-1", "h-1")
    [stored] = delivered.credentials
    assert stored.types == ("VerifiableCredential", "MembershipCredential")
    assert stored.subject == parties.holder_signer.did


@pytest.mark.parametrize(("case", "error", "code"), [
    ("someone-else", VerificationError, "subject-mismatch"),
    ("wrong-type", VerificationError, "credential-message-invalid"),
    ("not-granted", Forbidden, "scope-not-granted"),
    ("other-issuer", VerificationError, "issuer-mismatch"),
])
async def test_bad_deliveries_are_refused(
    parties: Parties, case: str, error: type[DataspaceError], code: str
) -> None:
    container = _container(parties)
    write = None
    if case == "someone-else":
        container = _container(parties, subject=parties.verifier.did)
    elif case == "wrong-type":
        container = {**container, "credentialType": "OtherCredential"}
        write = ["OtherCredential"]
    elif case == "not-granted":
        write = ["OtherCredential"]
    header, message = _delivery(parties, [container], write=write)
    expected = parties.verifier.did if case == "other-issuer" else None
    with pytest.raises(error) as caught:
        await parties.holder.accept_credentials(header, message, expected_issuer=expected)
    assert caught.value.code == code


async def test_a_rejection_carries_no_credentials(parties: Parties) -> None:
    header, message = _delivery(parties, [], status="REJECTED")
    message["rejectionReason"] = "not a member"
    delivered = await parties.holder.accept_credentials(header, message)
    assert (delivered.status, delivered.credentials) == ("REJECTED", ())
    assert delivered.rejection_reason == "not a member"


# --- tokens and scopes ------------------------------------------------------------


async def test_the_token_provider_makes_a_bearer_token_with_a_fresh_grant(
    parties: Parties,
) -> None:
    provider = DcpTokenProvider(parties.holder_signer, clock=parties.clock)
    value = await provider.token_for(parties.verifier.did)
    tokens = SelfIssuedTokenVerifier(
        parties.resolver, InMemoryReplayStore(clock=parties.clock),
        audience=parties.verifier.did, clock=parties.clock)
    caller = await tokens.verify(parse_bearer(value), require_token=True)
    assert caller.access_token is not None
    grant = verify_access_token(caller.access_token, parties.holder_signer, parties.verifier.did,
                                clock=parties.clock)
    assert [str(s) for s in grant.scopes] == [type_scope("MembershipCredential")]
    other = await provider.token_for(parties.verifier.did, ["DataProductPurchase"])
    assert other != value


def test_scopes() -> None:
    assert Scope.parse("org.eclipse.dspace.dcp.vc.type:Member") == Scope(
        "org.eclipse.dspace.dcp.vc.type", "Member", "read")
    assert Scope.parse("org.eclipse.dspace.dcp.vc.id:urn:uuid:1:all").value == "urn:uuid:1"
    assert Scope.parse("a:read") == Scope("a", "read", "read")
    assert Scope("a", "b", "all").covers(Scope("a", "b", "write"))
    assert not Scope("a", "b", "read").covers(Scope("a", "b", "write"))
    assert not Scope("a", "b", "read").covers(Scope("a", "c", "read"))
    assert scopes_for(["Member", "x:y:read", "Member"]) == [
        "org.eclipse.dspace.dcp.vc.type:Member:read", "x:y:read"]
    for bad in ["", "alias", "alias:", ":value", "a::read", "x" * 600]:
        with pytest.raises(InvalidRequest):
            Scope.parse(bad)


def test_an_access_token_is_never_a_self_issued_token(parties: Parties) -> None:
    from identity.jose import decode_jws

    access = parties.holder.issue_access_token(parties.verifier.did, ["M"])
    jws = decode_jws(access)
    claims = jws.claims()
    assert jws.header["typ"] == "at+jwt"
    assert claims["iss"] == parties.holder_signer.did
    assert claims["sub"] == claims["aud"] == parties.verifier.did
    with pytest.raises(VerificationError) as caught:
        decode_jws(access, typ=(None, "JWT"))
    assert caught.value.code == "jwt-typ-mismatch"


async def test_preloaded_documents_are_not_fetched(host: Host, resolver: DidResolver) -> None:
    key = KeyPair.generate()
    did = host.did("/svc")
    from identity import build_did_document

    document = build_did_document(did, [key.public_jwk])
    resolver.preload(did, document)
    assert (await resolver.resolve(did)).id == did
    assert host.hits == []
    with pytest.raises(VerificationError) as caught:
        resolver.preload("did:web:elsewhere.example", document)
    assert caught.value.code == "did-id-mismatch"
    resolver.forget(did)
    with pytest.raises(VerificationError):
        await resolver.resolve(did)  # not published: now it is fetched, and missing
    assert host.hits == ["/svc/did.json"]
