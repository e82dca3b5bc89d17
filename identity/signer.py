"""A signing identity: a key pair together with the DID URL that names it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from identity.did_key import did_key_from_public_key, did_key_verification_method
from identity.jose import encode_jws
from identity.keys import KeyPair

__all__ = ["Signer"]


@dataclass(frozen=True, slots=True)
class Signer:
    """A key pair and its verification method id (``kid``, a DID URL).

    ``Signer(key, "did:web:example.com#<thumbprint>")`` signs as that method;
    :meth:`for_did_key` makes the did:key identity of a key.
    """

    key: KeyPair
    kid: str

    def __post_init__(self) -> None:
        if "#" not in self.kid or not self.kid.startswith("did:"):
            raise ValueError("Signer kid must be a DID URL with a fragment")

    @classmethod
    def for_did_key(cls, key: KeyPair) -> Signer:
        """The did:key identity of ``key``."""
        return cls(key, did_key_verification_method(did_key_from_public_key(key.public_key)))

    @classmethod
    def for_did(cls, key: KeyPair, did: str) -> Signer:
        """``key`` as method ``{did}#{key.kid}`` (how :mod:`identity.did_web` lists keys)."""
        return cls(key, f"{did}#{key.kid}")

    @property
    def did(self) -> str:
        """The DID this signer speaks for."""
        return self.kid.split("#", 1)[0]

    def sign_jwt(
        self,
        payload: Mapping[str, Any] | bytes,
        *,
        typ: str | None,
        extra_header: Mapping[str, Any] | None = None,
    ) -> str:
        """A compact JWS of ``payload`` with ``alg``, ``typ`` and ``kid`` set."""
        return encode_jws(payload, self.key, kid=self.kid, typ=typ, extra_header=extra_header)
