"""``dataspace keys``: generate and show keys in the encrypted key store.

The passphrase comes from ``DATASPACE_KEY_PASSPHRASE`` or ``--passphrase-file``,
never from a flag (flags end up in shell history and process lists). Only
public keys are ever printed.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from dataspace.cli import cli
from dataspace.cli.common import fail, handle_errors, print_json

__all__ = ["DEFAULT_STORE", "KEY_TYPES", "PASSPHRASE_ENV", "keys", "read_passphrase"]

DEFAULT_STORE = Path(".dataspace") / "keys"
PASSPHRASE_ENV = "DATASPACE_KEY_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
#: identity.KeyType's values, named here so that ``--help`` need not load identity.
KEY_TYPES = ("ed25519", "p256")

store_option = click.option(
    "--store",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_STORE,
    show_default=True,
    help="Key store directory.",
)
name_option = click.option("--name", default="default", show_default=True, help="Key name.")


def read_passphrase(passphrase_file: Path | None) -> str:
    """The key store passphrase from ``--passphrase-file`` or the environment."""
    if passphrase_file is not None:
        try:
            value = passphrase_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            fail(f"cannot read passphrase file {passphrase_file}: {exc.strerror}")
        if not value:
            fail(f"passphrase file {passphrase_file} is empty")
        return value
    # The CLI is the process boundary: this is where the environment is read.
    value = os.environ.get(PASSPHRASE_ENV, "")
    if not value:
        fail(f"set {PASSPHRASE_ENV} or pass --passphrase-file")
    return value


@cli.group()
def keys() -> None:
    """Generate and inspect keys in the encrypted key store."""


@keys.command()
@click.option(
    "--type",
    "key_type",
    type=click.Choice(KEY_TYPES),
    default=KEY_TYPES[0],
    show_default=True,
    help="ed25519 (EdDSA) or p256 (ES256).",
)
@store_option
@name_option
@click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"File holding the passphrase (else ${PASSPHRASE_ENV}).",
)
@click.option("--force", is_flag=True, help="Replace an existing key of that name.")
@handle_errors
def generate(
    key_type: str, store: Path, name: str, passphrase_file: Path | None, force: bool
) -> None:
    """Generate a key pair; print its public JWK and kid (never the private key)."""
    from identity import KeyPair, KeyStore, did_key_from_jwk

    key_store = KeyStore(store, read_passphrase(passphrase_file))
    key_store.path(name)  # check the name before the slow key derivation
    pair = KeyPair.generate(key_type)
    path = key_store.save(name, pair, overwrite=force)
    print_json(
        {
            "name": name,
            "kid": pair.kid,
            "alg": pair.alg,
            "did_key": did_key_from_jwk(pair.public_jwk),
            "public_jwk": pair.public_jwk,
            "path": str(path),
        }
    )


@keys.command()
@store_option
@name_option
@handle_errors
def show(store: Path, name: str) -> None:
    """Print a stored key's public JWK and kid (no passphrase needed)."""
    from identity import KeyStore

    jwk = KeyStore(store).public_jwk(name)
    print_json({"name": name, "kid": jwk.get("kid"), "alg": jwk.get("alg"), "public_jwk": jwk})
