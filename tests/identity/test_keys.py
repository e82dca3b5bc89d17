"""Key pairs and the encrypted key store."""

from __future__ import annotations

import logging
import pickle
import stat
from pathlib import Path

import orjson
import pytest

from identity import KeyPair, KeyStore, jwk_thumbprint, public_key_from_jwk
from identity.keys import public_jwk_from_key
from servicekit.errors import DataspaceError

FAST = 2**12  # scrypt cost for tests that only need the format right


@pytest.mark.parametrize(
    ("key_type", "kty", "alg"), [("ed25519", "OKP", "EdDSA"), ("p256", "EC", "ES256")]
)
def test_generate_gives_a_public_jwk_with_thumbprint_kid(key_type: str, kty: str, alg: str) -> None:
    key = KeyPair.generate(key_type)
    assert key.public_jwk["kty"] == kty
    assert key.alg == alg
    assert key.kid == jwk_thumbprint(key.public_jwk)
    assert "d" not in key.public_jwk
    again = KeyPair.from_private_jwk(key.export_private_jwk())
    assert again.public_jwk == key.public_jwk
    assert public_jwk_from_key(public_key_from_jwk(key.public_jwk)) == public_jwk_from_key(
        key.public_key
    )


def test_private_material_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    key = KeyPair.generate()
    secret = key.export_private_jwk()["d"]
    caplog.set_level(logging.INFO)
    logging.getLogger("test").info("key %s %r", key, key)
    assert secret not in repr(key)
    assert secret not in str(key)
    assert secret not in caplog.text
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_key_store_round_trip_with_default_cost(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys", "correct horse")
    key = store.generate("connector", "p256")
    path = store.path("connector")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert key.export_private_jwk()["d"] not in text
    document = orjson.loads(text)
    assert document["private"]["kdf"] == "scrypt"
    assert document["private"]["enc"] == "A256GCM"
    loaded = KeyStore(tmp_path / "keys", "correct horse").load("connector")
    assert loaded.export_private_jwk() == key.export_private_jwk()
    assert store.names() == ["connector"]
    assert "correct horse" not in repr(store)


def test_public_key_needs_no_passphrase(tmp_path: Path) -> None:
    key = KeyStore(tmp_path, "pw", scrypt_n=FAST).generate("a")
    assert KeyStore(tmp_path).public_jwk("a") == key.public_jwk
    with pytest.raises(DataspaceError) as err:
        KeyStore(tmp_path).load("a")
    assert err.value.code == "key-passphrase-missing"


def test_wrong_passphrase_and_tampering_are_refused(tmp_path: Path) -> None:
    KeyStore(tmp_path, "right", scrypt_n=FAST).generate("a")
    with pytest.raises(DataspaceError) as err:
        KeyStore(tmp_path, "wrong").load("a")
    assert err.value.code == "key-passphrase-invalid"
    # Moving a sealed key to another name breaks the associated data.
    (tmp_path / "b.jwk.json").write_bytes((tmp_path / "a.jwk.json").read_bytes())
    with pytest.raises(DataspaceError) as err:
        KeyStore(tmp_path, "right").load("b")
    assert err.value.code == "key-passphrase-invalid"


def test_names_cannot_escape_the_directory_and_keys_are_not_overwritten(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, "pw", scrypt_n=FAST)
    for name in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(DataspaceError) as err:
            store.generate(name)
        assert err.value.code == "key-name-invalid"
    store.generate("a")
    with pytest.raises(DataspaceError) as err:
        store.generate("a")
    assert err.value.code == "key-exists"
    with pytest.raises(DataspaceError) as err:
        store.load("missing")
    assert err.value.code == "key-not-in-store"
