"""``dataspace did``: show the DID of a stored key and its DID document.

Without ``--web`` the DID is the key's did:key; with ``--web URL`` it is the
did:web of that base URL, and the document is the one to serve at
``/.well-known/did.json`` (``--document`` prints only that).
"""

from __future__ import annotations

from pathlib import Path

import click

from dataspace.cli import cli
from dataspace.cli.common import fail, handle_errors, print_json
from dataspace.cli.keys import DEFAULT_STORE

__all__ = ["did"]


@cli.group()
def did() -> None:
    """Show DIDs and DID documents."""


@did.command()
@click.option(
    "--store",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_STORE,
    show_default=True,
    help="Key store directory.",
)
@click.option("--name", default="default", show_default=True, help="Key name.")
@click.option("--web", "web_url", default=None, help="Base URL: show its did:web instead.")
@click.option(
    "--service",
    "services",
    multiple=True,
    metavar="TYPE=URL",
    help="A service entry for did:web, e.g. CredentialService=https://host/api/credentials.",
)
@click.option("--document", "document_only", is_flag=True, help="Print only the DID document.")
@handle_errors
def show(
    store: Path, name: str, web_url: str | None, services: tuple[str, ...], document_only: bool
) -> None:
    """Print the DID (did:key, or did:web with --web) and its DID document."""
    from identity import (
        KeyStore,
        build_did_web_document,
        did_key_document,
        did_key_from_jwk,
        did_web_from_url,
        service_entry,
    )

    jwk = KeyStore(store).public_jwk(name)
    if web_url is None:
        if services:
            fail("--service needs --web (a did:key document has no services)")
        identifier = did_key_from_jwk(jwk)
        document = did_key_document(identifier)
    else:
        identifier = did_web_from_url(web_url)
        entries = []
        for spec in services:
            kind, sep, endpoint = spec.partition("=")
            if not sep or not kind or not endpoint.startswith(("https://", "http://")):
                fail(f"--service wants TYPE=URL, got {spec!r}")
            entries.append(service_entry(identifier, kind, endpoint))
        document = build_did_web_document(web_url, [jwk], services=entries)
    print_json(document if document_only else {"did": identifier, "didDocument": document})
