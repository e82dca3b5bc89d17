"""DCP self-issued ID tokens: create, verify, and every check the connector relies on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from identity import (
    DidResolver,
    InMemoryReplayStore,
    KeyPair,
    SelfIssuedToken,
    SelfIssuedTokenVerifier,
    Signer,
    TokenCache,
    VerificationError,
    create_self_issued_token,
    encode_jws,
)
from identity.replay import ReplayStore
from servicekit.errors import RateLimited
from tests.fakes import FakeClock

from .conftest import Host, refusal

US = "did:web:provider.example"


def _claims(who: str, jti: str, clock: FakeClock, *, lifetime: int = 60) -> dict[str, object]:
    """The claims of a self-issued token ``who`` makes for us now."""
    now = int(clock.now)
    return {"iss": who, "sub": who, "aud": US, "jti": jti, "iat": now, "exp": now + lifetime}

Make = Callable[..., SelfIssuedTokenVerifier]


@pytest.fixture
def make(resolver: DidResolver, clock: FakeClock) -> Make:
    def build(**options: object) -> SelfIssuedTokenVerifier:
        return SelfIssuedTokenVerifier(
            resolver,
            InMemoryReplayStore(clock=clock),
            audience=US,
            clock=clock,
            **options,  # type: ignore[arg-type]
        )

    return build


async def test_round_trip_with_access_token(make: Make, holder: Signer, clock: FakeClock) -> None:
    token = create_self_issued_token(holder, US, clock=clock, token="access-123")
    result = await make().verify(token, require_token=True)
    assert result.issuer == holder.did
    assert result.audience == US
    assert result.access_token == "access-123"
    assert result.kid == holder.kid
    assert result.expires_at == int(clock.now) + 300


async def test_replayed_jti(make: Make, holder: Signer, clock: FakeClock) -> None:
    verifier = make()
    token = create_self_issued_token(holder, US, clock=clock)
    await verifier.verify(token)
    assert await refusal(verifier.verify(token)) == "jwt-replayed"
    # A new token that reuses the jti is a replay too.
    reused = create_self_issued_token(
        holder, US, clock=clock, jti=(await make().verify(token)).jti, lifetime=200
    )
    assert await refusal(verifier.verify(reused)) == "jwt-replayed"


async def test_the_cache_never_bypasses_the_replay_check(
    make: Make, holder: Signer, clock: FakeClock
) -> None:
    cache: TokenCache[SelfIssuedToken] = TokenCache(clock=clock)
    verifier = make(cache=cache)
    token = create_self_issued_token(holder, US, clock=clock)
    await verifier.verify(token)
    assert len(cache) == 1
    for _ in range(2):
        assert await refusal(verifier.verify(token)) == "jwt-replayed"
    assert cache.hits == 2  # answered from the cache, and still refused


async def test_a_forged_token_does_not_burn_the_jti(
    make: Make, holder: Signer, clock: FakeClock
) -> None:
    verifier = make()
    attacker = KeyPair.generate("p256")
    genuine = create_self_issued_token(holder, US, clock=clock, jti="jti-1")
    claims = _claims(holder.did, "jti-1", clock)
    forged = encode_jws(claims, attacker, kid=holder.kid, typ="JWT")
    assert await refusal(verifier.verify(forged)) == "jwt-signature-invalid"
    await verifier.verify(genuine)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"aud": "did:web:other.example"}, "jwt-audience-mismatch"),
        ({"sub": "did:example:victim"}, "issuer-mismatch"),
        ({"exp": -61}, "jwt-expired"),
        ({"iat": 120, "nbf": 120, "exp": 400}, "jwt-not-yet-valid"),
        ({"exp": 3600}, "jwt-lifetime-too-long"),
        ({"jti": None}, "jwt-malformed"),
        ({"exp": None}, "jwt-malformed"),
        ({"token": 42}, "jwt-malformed"),
    ],
)
async def test_claims_are_checked(
    make: Make, holder: Signer, clock: FakeClock, change: dict[str, object], code: str
) -> None:
    now = int(clock.now)
    claims = _claims(holder.did, "j", clock, lifetime=300)
    for name, value in change.items():
        if value is None:
            del claims[name]
        elif name in ("exp", "iat", "nbf"):
            claims[name] = now + value  # type: ignore[operator]
        else:
            claims[name] = value
    with pytest.raises(VerificationError) as err:
        await make().verify(holder.sign_jwt(claims, typ="JWT"))
    assert err.value.code == code


async def test_skew_is_bounded(make: Make, holder: Signer, clock: FakeClock) -> None:
    token = create_self_issued_token(holder, US, clock=clock, lifetime=60)
    clock.advance(60 + 59)  # expired, but within the default 60 s skew
    await make().verify(token)
    clock.advance(2)
    assert await refusal(make().verify(token)) == "jwt-expired"


async def test_token_claim_can_be_required(make: Make, holder: Signer, clock: FakeClock) -> None:
    with pytest.raises(VerificationError) as err:
        await make().verify(create_self_issued_token(holder, US, clock=clock), require_token=True)
    assert err.value.code == "token-missing"


async def test_other_token_types_are_refused(make: Make, holder: Signer, clock: FakeClock) -> None:
    claims = _claims(holder.did, "j", clock)
    assert await refusal(make().verify(holder.sign_jwt(claims, typ="vc+jwt"))) == "jwt-typ-mismatch"


async def test_header_jwk_is_never_trusted(make: Make, holder: Signer, clock: FakeClock) -> None:
    attacker = KeyPair.generate("p256")  # same algorithm as the holder's key
    claims = _claims(holder.did, "j", clock)
    token = encode_jws(
        claims, attacker, kid=None, typ="JWT", extra_header={"jwk": attacker.public_jwk}
    )
    assert await refusal(make().verify(token)) == "jwt-signature-invalid"


async def test_kid_under_another_did(make: Make, holder: Signer, clock: FakeClock) -> None:
    other = Signer.for_did_key(KeyPair.generate())
    claims = _claims(holder.did, "j", clock)
    assert await refusal(make().verify(other.sign_jwt(claims, typ="JWT"))) == "issuer-mismatch"


async def test_did_web_keys_and_relationships(make: Make, host: Host, clock: FakeClock) -> None:
    first, second = KeyPair.generate(), KeyPair.generate("p256")
    did = host.publish_did([first, second], path="/two")
    only_assert = host.publish_did([first], path="/assert", relationships=("assertionMethod",))
    single = host.publish_did([second], path="/one", relationships=("capabilityInvocation",))
    # With kid: fine.
    await make().verify(create_self_issued_token(Signer.for_did(second, did), US, clock=clock))
    # Without kid, two keys are ambiguous; one key is fine.
    with pytest.raises(VerificationError) as err:
        await make().verify(encode_jws(_claims(did, "a", clock), first, kid=None, typ="JWT"))
    assert err.value.code == "key-ambiguous"
    await make().verify(encode_jws(_claims(single, "b", clock), second, kid=None, typ="JWT"))
    # A key listed only under assertionMethod may not invoke.
    with pytest.raises(VerificationError) as err:
        await make().verify(
            create_self_issued_token(Signer.for_did(first, only_assert), US, clock=clock)
        )
    assert err.value.code == "key-not-authorized"
    # A kid that is not in the document.
    stranger = KeyPair.generate()
    with pytest.raises(VerificationError) as err:
        await make().verify(
            create_self_issued_token(Signer.for_did(stranger, did), US, clock=clock)
        )
    assert err.value.code == "key-not-found"
    # DCP strict mode: capabilityInvocation only.
    strict = make(relationships=("capabilityInvocation",))
    auth_only = host.publish_did([first], path="/auth", relationships=("authentication",))
    with pytest.raises(VerificationError) as err:
        await strict.verify(
            create_self_issued_token(Signer.for_did(first, auth_only), US, clock=clock)
        )
    assert err.value.code == "key-not-authorized"


async def test_in_memory_replay_store(clock: FakeClock) -> None:
    store = InMemoryReplayStore(clock=clock, max_entries=2)
    assert isinstance(store, ReplayStore)
    assert await store.check_and_record("a", clock.now + 10)
    assert not await store.check_and_record("a", clock.now + 10)
    assert await store.check_and_record("b", clock.now + 20)
    with pytest.raises(RateLimited) as err:
        await store.check_and_record("c", clock.now + 20)
    assert err.value.code == "replay-store-full"
    clock.advance(11)  # "a" expired: forgotten, so there is room again
    assert await store.check_and_record("c", clock.now + 20)
    assert len(store) == 2
