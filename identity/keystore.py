"""A key store of JWK files, private keys encrypted at rest with a passphrase.

One file per key, ``<dir>/<name>.jwk.json`` (mode 0600, directory 0700)::

    {"version": 1, "name": ..., "kid": ..., "alg": ..., "public_jwk": {...},
     "private": {"kdf": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": ...,
                 "enc": "A256GCM", "iv": ..., "ciphertext": ...}}

The private JWK is sealed with AES-256-GCM under a key derived from the
passphrase with scrypt; the key id and name are the associated data, so a
sealed key cannot be moved to another entry unnoticed. Public keys are read
without the passphrase.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from identity.encoding import b64url_decode, b64url_encode
from identity.keys import KeyPair, KeyType, jwk_thumbprint
from servicekit.errors import Conflict, InvalidRequest, NotFound

__all__ = ["KeyStore"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SUFFIX = ".jwk.json"


class KeyStore:
    """Named key pairs in a directory; see the module docstring for the format.

    ``passphrase`` is needed to store or load private keys, not to read
    public ones. ``scrypt_n`` is the scrypt cost (2**15 by default).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        passphrase: str | bytes | None = None,
        *,
        scrypt_n: int = 2**15,
    ) -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase.encode() if isinstance(passphrase, str) else passphrase
        self._scrypt_n = scrypt_n

    def __repr__(self) -> str:
        return f"KeyStore({str(self.directory)!r})"

    def path(self, name: str) -> Path:
        """The file of key ``name`` (the name is checked: no paths)."""
        if not _NAME.match(name):
            raise InvalidRequest(f"invalid key name {name!r}", code="key-name-invalid")
        return self.directory / (name + _SUFFIX)

    def names(self) -> list[str]:
        """The names of the stored keys."""
        if not self.directory.is_dir():
            return []
        return sorted(p.name[: -len(_SUFFIX)] for p in self.directory.glob("*" + _SUFFIX))

    def exists(self, name: str) -> bool:
        """True if key ``name`` is stored."""
        return self.path(name).is_file()

    def generate(self, name: str, key_type: KeyType | str = KeyType.ED25519) -> KeyPair:
        """Generate, store and return a new key pair (refuses to overwrite one)."""
        pair = KeyPair.generate(key_type)
        self.save(name, pair)
        return pair

    def save(self, name: str, pair: KeyPair, *, overwrite: bool = False) -> Path:
        """Encrypt and write ``pair`` as ``name``."""
        path = self.path(name)
        passphrase = self._require_passphrase()
        salt, iv = secrets.token_bytes(16), secrets.token_bytes(12)
        n, r, p = self._scrypt_n, 8, 1
        key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)
        secret = orjson.dumps(pair.export_private_jwk())
        ciphertext = AESGCM(key).encrypt(iv, secret, self._aad(name, pair.kid))
        document = {
            "version": 1,
            "name": name,
            "kid": pair.kid,
            "alg": pair.alg,
            "public_jwk": pair.public_jwk,
            "private": {
                "kdf": "scrypt",
                "n": n,
                "r": r,
                "p": p,
                "salt": b64url_encode(salt),
                "enc": "A256GCM",
                "iv": b64url_encode(iv),
                "ciphertext": b64url_encode(ciphertext),
            },
        }
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.exists() and not overwrite:
            raise Conflict(f"key {name!r} exists already", code="key-exists")
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        return path

    def public_jwk(self, name: str) -> dict[str, Any]:
        """The public JWK of ``name`` (no passphrase needed)."""
        jwk = self._read(name).get("public_jwk")
        if not isinstance(jwk, dict):
            raise InvalidRequest(f"key file {name!r} is damaged", code="key-file-invalid")
        return jwk

    def load(self, name: str) -> KeyPair:
        """Decrypt and return key pair ``name``."""
        document = self._read(name)
        sealed = document.get("private")
        kid = document.get("kid")
        if (
            not isinstance(sealed, dict)
            or not isinstance(kid, str)
            or sealed.get("kdf") != "scrypt"
        ):
            raise InvalidRequest(f"key file {name!r} is damaged", code="key-file-invalid")
        passphrase = self._require_passphrase()
        try:
            key = Scrypt(
                salt=b64url_decode(sealed["salt"]),
                length=32,
                n=int(sealed["n"]),
                r=int(sealed["r"]),
                p=int(sealed["p"]),
            ).derive(passphrase)
            secret = AESGCM(key).decrypt(
                b64url_decode(sealed["iv"]),
                b64url_decode(sealed["ciphertext"]),
                self._aad(name, kid),
            )
        except InvalidTag as exc:
            raise InvalidRequest(
                "wrong passphrase or tampered key file", code="key-passphrase-invalid"
            ) from exc
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidRequest(f"key file {name!r} is damaged", code="key-file-invalid") from exc
        pair = KeyPair.from_private_jwk(orjson.loads(secret))
        if pair.kid != kid and jwk_thumbprint(pair.public_jwk) != kid:
            raise InvalidRequest(f"key file {name!r} is damaged", code="key-file-invalid")
        return pair

    def _read(self, name: str) -> dict[str, Any]:
        path = self.path(name)
        try:
            document = orjson.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise NotFound(
                f"no key named {name!r} in {self.directory}", code="key-not-in-store"
            ) from exc
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest(f"key file {name!r} is damaged", code="key-file-invalid") from exc
        if not isinstance(document, dict):
            raise InvalidRequest(f"key file {name!r} is damaged", code="key-file-invalid")
        return document

    def _require_passphrase(self) -> bytes:
        if not self._passphrase:
            raise InvalidRequest(
                "a passphrase is needed for private keys", code="key-passphrase-missing"
            )
        return self._passphrase

    @staticmethod
    def _aad(name: str, kid: str) -> bytes:
        return f"dataspace-keystore/v1\n{name}\n{kid}".encode()
