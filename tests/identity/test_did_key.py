"""did:key: our DIDs and documents agree with didkit's."""

from __future__ import annotations

import json

import didkit
import pytest

from identity import (
    DidResolutionError,
    KeyPair,
    did_key_from_jwk,
    did_key_verification_method,
    resolve_did_key,
)
from identity.keys import public_jwk_from_key


@pytest.mark.parametrize(
    ("key_type", "prefix"), [("ed25519", "did:key:z6Mk"), ("p256", "did:key:zDn")]
)
async def test_did_key_matches_didkit(key_type: str, prefix: str) -> None:
    key = KeyPair.generate(key_type)
    did = did_key_from_jwk(key.public_jwk)
    assert did.startswith(prefix)
    private = json.dumps(key.export_private_jwk())
    assert did == didkit.key_to_did("key", private)
    assert did_key_verification_method(did) == await didkit.key_to_verification_method(
        "key", private
    )
    theirs = json.loads(await didkit.resolve_did(did, "{}"))
    ours = resolve_did_key(did)
    method = ours.method(did_key_verification_method(did), "assertionMethod")
    assert public_jwk_from_key(method.public_key) == {
        k: v for k, v in theirs["verificationMethod"][0]["publicKeyJwk"].items() if k != "alg"
    }
    for relationship in ("authentication", "assertionMethod", "capabilityInvocation"):
        assert ours.method(None, relationship) is method


@pytest.mark.parametrize(
    "did",
    [
        "did:key:",
        "did:key:abc",
        "did:key:z6Mk0OIl",
        "did:key:zQ3s",
        "did:web:example.com",
        "did:key:z6Mk#x",
    ],
)
def test_malformed_did_keys(did: str) -> None:
    with pytest.raises(DidResolutionError) as err:
        resolve_did_key(did)
    assert err.value.code == "did-malformed"
