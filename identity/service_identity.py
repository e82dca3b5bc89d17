"""A service's own identity: its key in the key store, its DID and DID document.

Every service (trust anchor, connector, marketplace) signs as one DID. In
production that is a did:web of its public URL (the document is served at
``/.well-known/did.json``); a development set-up may use did:key instead.
:meth:`ServiceIdentity.load_or_create` makes the key on first start and
reuses it afterwards, so restarts keep the same DID.

The key store needs a passphrase. Without one, development mode keeps a
generated passphrase in ``<keys>/.passphrase`` (mode 0600) and says so;
production refuses to start, because a key on disk must be sealed with a
secret that is not on the same disk.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from identity.did_document import build_did_document
from identity.did_key import did_key_from_public_key
from identity.did_web import did_web_from_url
from identity.keys import KeyPair, KeyType
from identity.keystore import KeyStore
from identity.signer import Signer
from servicekit.errors import InvalidRequest
from servicekit.settings import ServiceSettings

__all__ = ["ServiceIdentity", "resolve_passphrase"]

_PASSPHRASE_FILE = ".passphrase"  # noqa: S105 - a file name, not a secret


def resolve_passphrase(key_dir: Path, passphrase: str | None, *, dev: bool) -> str:
    """The key store passphrase: the configured one, or a kept dev-only one."""
    if passphrase:
        return passphrase
    if not dev:
        raise InvalidRequest(
            "a key passphrase is required outside development mode "
            "(set it in the service's KEY_PASSPHRASE environment variable)",
            code="key-passphrase-required",
        )
    path = key_dir / _PASSPHRASE_FILE
    if path.exists():
        return path.read_text().strip()
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


@dataclass(frozen=True)
class ServiceIdentity:
    """The signer a service speaks as, and the DID document that proves it."""

    signer: Signer
    did: str
    document: dict[str, Any] = field(repr=False)

    @property
    def key(self) -> KeyPair:
        """The service's key pair."""
        return self.signer.key

    @classmethod
    def for_service(
        cls,
        settings: ServiceSettings,
        *,
        key_name: str,
        method: str = "web",
        services: Iterable[Mapping[str, Any]] = (),
        scrypt_n: int = 2**15,
    ) -> ServiceIdentity:
        """:meth:`load_or_create` for a service: its key folder (``<data_dir>/keys``),
        public URL, key passphrase and development flag come from ``settings``."""
        return cls.load_or_create(
            settings.data_dir / "keys", base_url=settings.base_url,
            passphrase=settings.key_passphrase, dev=settings.dev, method=method,
            key_name=key_name, services=services, scrypt_n=scrypt_n,
        )

    @classmethod
    def load_or_create(
        cls,
        key_dir: Path,
        *,
        base_url: str,
        passphrase: str | None,
        dev: bool,
        method: str = "web",
        key_name: str = "service",
        key_type: KeyType | str = KeyType.ED25519,
        services: Iterable[Mapping[str, Any]] = (),
        scrypt_n: int = 2**15,
    ) -> ServiceIdentity:
        """Load the service key (creating it on first start) and derive the DID.

        ``method`` is ``web`` (the DID of ``base_url``) or ``key``. ``services``
        are DID document service entries (ids may be relative, ``#name``).
        """
        store = KeyStore(
            key_dir, resolve_passphrase(key_dir, passphrase, dev=dev), scrypt_n=scrypt_n
        )
        pair = store.load(key_name) if store.exists(key_name) else store.generate(
            key_name, key_type
        )
        if method == "web":
            did = did_web_from_url(base_url)
            signer = Signer.for_did(pair, did)
        elif method == "key":
            signer = Signer.for_did_key(pair)
            did = did_key_from_public_key(pair.public_key)
        else:
            raise InvalidRequest(f"unknown DID method {method!r}", code="did-method-unsupported")
        fragment = signer.kid.split("#", 1)[1]
        document = build_did_document(
            did, [pair.public_jwk], services=services, key_ids=[fragment]
        )
        return cls(signer=signer, did=did, document=document)
