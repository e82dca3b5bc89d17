"""Bitstring Status List v1.0: bit order, encoding, the list credential and checking entries."""

from __future__ import annotations

import base64
import gzip
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from identity import (
    CredentialVerifier,
    DidResolver,
    KeyPair,
    Signer,
    StatusList,
    StatusListChecker,
    StatusPurpose,
    TokenCache,
    VerificationError,
    VerifiedCredential,
    build_credential,
    build_status_list_credential,
    issue_vc_jwt,
    status_list_entry,
)
from tests.fakes import FakeClock

from .conftest import Host, refusal


def test_bit_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    bits = StatusList()
    assert len(bits) == 131_072
    assert len(bits.to_bytes()) == 16_384
    bits.set(0)
    bits.set(9)
    bits.set(131_071)
    raw = bits.to_bytes()
    assert raw[0] == 0x80
    assert raw[1] == 0x40
    assert raw[-1] == 0x01
    assert bits.get(0)
    assert bits.get(9)
    assert not bits.get(1)
    assert bits.get(131_071)
    bits.clear(9)
    assert bits.to_bytes()[1] == 0


def test_encoded_list_is_gzip_in_multibase_base64url() -> None:
    bits = StatusList()
    bits.set(42)
    encoded = bits.encode()
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert "+" not in encoded
    assert "/" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw == bits.to_bytes()
    decoded = StatusList.decode(encoded)
    assert decoded.get(42)
    assert not decoded.get(41)
    assert len(decoded) == 131_072


def test_lists_are_at_least_131072_entries_and_bombs_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 131072"):
        StatusList(1024)
    short = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(1024))).decode().rstrip("=")
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(64 * 1024 * 1024))).decode().rstrip(
        "="
    )
    for encoded in (short, bomb, "zabc", "u!!!"):
        with pytest.raises(VerificationError) as err:
            StatusList.decode(encoded)
        assert err.value.code == "status-list-invalid"
    with pytest.raises(IndexError):
        StatusList().get(131_072)


def test_entry_and_credential_shapes() -> None:
    url = "https://ta.example/status/1"
    entry = status_list_entry(list_credential=url, index=94567, purpose=StatusPurpose.SUSPENSION)
    assert entry == {
        "id": f"{url}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "suspension",
        "statusListIndex": "94567",
        "statusListCredential": url,
    }
    credential = build_status_list_credential(
        id=url, issuer="did:web:ta.example", status_list=StatusList()
    )
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["credentialSubject"]["type"] == "BitstringStatusList"
    assert credential["credentialSubject"]["statusPurpose"] == "revocation"


class Registry:
    """An issuer publishing a revocation and a suspension list on the loopback host."""

    def __init__(self, host: Host, issuer: Signer, clock: FakeClock) -> None:
        self.host, self.issuer, self.clock = host, issuer, clock
        self.lists = {"revocation": StatusList(), "suspension": StatusList()}

    def url(self, purpose: str) -> str:
        return f"{self.host.base_url}/status/{purpose}"

    def publish(self) -> None:
        for purpose, bits in self.lists.items():
            credential = build_status_list_credential(
                id=self.url(purpose), issuer=self.issuer.did, status_list=bits, purpose=purpose
            )
            self.host.publish(f"/status/{purpose}", issue_vc_jwt(credential, self.issuer))

    def credential(self, index: int, *purposes: str) -> str:
        now = datetime.fromtimestamp(self.clock.now, UTC)
        return issue_vc_jwt(
            build_credential(
                issuer=self.issuer.did,
                subject={"id": "did:example:company"},
                types=["MembershipCredential"],
                valid_from=now - timedelta(minutes=1),
                status=[
                    status_list_entry(list_credential=self.url(p), index=index, purpose=p)
                    for p in purposes or ("revocation",)
                ],
            ),
            self.issuer,
        )


@pytest.fixture
def registry(host: Host, issuer: Signer, clock: FakeClock) -> Registry:
    return Registry(host, issuer, clock)


@pytest.fixture
async def checking(resolver: DidResolver, clock: FakeClock) -> AsyncIterator[CredentialVerifier]:
    checker = StatusListChecker(allow_loopback=True, ttl=300, clock=clock)
    try:
        yield CredentialVerifier(resolver, clock=clock, status_checker=checker)
    finally:
        await checker.close()


Caching = tuple[CredentialVerifier, TokenCache[VerifiedCredential]]


@pytest.fixture
async def caching(resolver: DidResolver, clock: FakeClock) -> AsyncIterator[Caching]:
    """A verifier that caches its conclusions (up to an hour) and status lists for 120 s."""
    checker = StatusListChecker(allow_loopback=True, ttl=120, clock=clock)
    cache: TokenCache[VerifiedCredential] = TokenCache(clock=clock)
    try:
        yield CredentialVerifier(resolver, clock=clock, status_checker=checker, cache=cache,
                                 max_cache_seconds=3600), cache
    finally:
        await checker.close()


async def test_revoked_and_valid_entries(
    registry: Registry, checking: CredentialVerifier, host: Host
) -> None:
    registry.lists["revocation"].set(7)
    registry.publish()
    valid, revoked = registry.credential(8), registry.credential(7)
    assert (await checking.verify(valid)).status[0]["statusListIndex"] == "8"
    assert await refusal(checking.verify(revoked)) == "credential-revoked"
    assert host.hits == ["/status/revocation"]  # one fetch, cached for the second check


async def test_suspension(registry: Registry, checking: CredentialVerifier) -> None:
    registry.lists["suspension"].set(3)
    registry.publish()
    refused = await refusal(checking.verify(registry.credential(3, "revocation", "suspension")))
    assert refused == "credential-suspended"
    await checking.verify(registry.credential(4, "revocation", "suspension"))


async def test_revocation_shows_after_the_cache_ttl(
    registry: Registry, checking: CredentialVerifier, clock: FakeClock, host: Host
) -> None:
    registry.publish()
    token = registry.credential(5)
    await checking.verify(token)
    registry.lists["revocation"].set(5)
    registry.publish()
    await checking.verify(token)  # still the cached list
    clock.advance(301)
    assert await refusal(checking.verify(token)) == "credential-revoked"
    assert len(host.hits) == 2


async def test_verified_token_cache_respects_the_status_ttl(
    registry: Registry, caching: Caching, clock: FakeClock
) -> None:
    verifier, cache = caching
    registry.publish()
    token = registry.credential(9)
    await verifier.verify(token)
    registry.lists["revocation"].set(9)
    registry.publish()
    await verifier.verify(token)
    assert cache.hits == 1
    clock.advance(121)
    assert await refusal(verifier.verify(token)) == "credential-revoked"


async def test_a_cached_conclusion_ends_when_the_list_it_read_is_refreshed(
    registry: Registry, caching: Caching, clock: FakeClock
) -> None:
    # The list is fetched for one credential; another, first verified 100 s later,
    # reads the same cached list: its conclusion may not outlive that list's refresh.
    verifier, _ = caching
    registry.publish()
    await verifier.verify(registry.credential(8))
    clock.advance(100)
    token = registry.credential(9)
    await verifier.verify(token)
    registry.lists["revocation"].set(9)
    registry.publish()
    clock.advance(21)  # the list is due again; the second conclusion is only 21 s old
    assert await refusal(verifier.verify(token)) == "credential-revoked"


async def test_list_with_another_purpose_or_issuer_is_refused(
    registry: Registry, checking: CredentialVerifier, host: Host, issuer: Signer
) -> None:
    def serve(at: str, signer: Signer) -> None:
        """An empty suspension list signed by ``signer``, at the URL of the ``at`` list."""
        listed = build_status_list_credential(
            id=registry.url(at), issuer=signer.did, status_list=StatusList(), purpose="suspension"
        )
        host.publish(f"/status/{at}", issue_vc_jwt(listed, signer))

    registry.publish()
    serve("revocation", issuer)  # the revocation URL now serves a suspension list
    assert await refusal(checking.verify(registry.credential(1))) == "status-list-invalid"

    serve("suspension", Signer.for_did_key(KeyPair.generate()))
    assert await refusal(checking.verify(registry.credential(1, "suspension"))) == "issuer-mismatch"


async def test_tampered_or_missing_list(
    registry: Registry, checking: CredentialVerifier, host: Host
) -> None:
    registry.publish()
    header, payload, signature = host.documents["/status/revocation"].split(".")
    host.publish("/status/revocation", f"{header}.{payload}.{signature[:-6]}AAAAAA")
    assert await refusal(checking.verify(registry.credential(1))) == "jwt-signature-invalid"
    del host.documents["/status/revocation"]
    assert await refusal(checking.verify(registry.credential(1))) == "status-list-unavailable"


async def test_injected_fetcher(
    registry: Registry, resolver: DidResolver, clock: FakeClock
) -> None:
    registry.lists["revocation"].set(11)
    registry.publish()
    fetched: list[str] = []

    async def fetch(url: str) -> str:
        fetched.append(url)
        document = registry.host.documents[url.removeprefix(registry.host.base_url)]
        assert isinstance(document, str)
        return document

    checker = StatusListChecker(fetcher=fetch, clock=clock)
    verifier = CredentialVerifier(resolver, clock=clock, status_checker=checker)
    entry = status_list_entry(list_credential=registry.url("revocation"), index=11)
    result = await checker.check(entry, verifier)
    assert result.revoked
    assert result.index == 11
    assert not result.suspended
    assert not (await checker.check(dict(entry, statusListIndex="12"), verifier)).is_set
    assert fetched == [registry.url("revocation")]
    refused = await refusal(checker.check(dict(entry, statusListIndex="131072"), verifier))
    assert refused == "status-list-invalid"
