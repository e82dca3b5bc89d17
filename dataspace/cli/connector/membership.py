"""``dataspace connector membership|credentials``: the connector as a member.

``membership`` applies at the trust anchor with the connector's own DID and
collects the credential; ``credentials`` lists and adds the connector's own
verifiable credentials.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from dataspace.cli.common import fail, json_option, print_json, print_next, print_table, when
from dataspace.cli.connector import connector
from dataspace.cli.connector.client import Management, client_options, follow_args

__all__ = ["credentials", "membership"]


@connector.group()
def membership() -> None:
    """Make this connector a member: apply at the trust anchor, collect the credential."""


@membership.command("apply")
@client_options
@click.option("--legal-name", required=True)
@click.option("--org-number", "organisation_number", required=True,
              help="National register number, e.g. 940 192 226.")
@click.option("--country", default="NO", show_default=True)
@click.option("--contact-name", required=True)
@click.option("--contact-email", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["provider", "consumer", "marketplace"]),
              help="Roles applied for (repeat).")
def membership_apply(data_dir: Path, url: str | None, api_key: str | None, legal_name: str,
                     organisation_number: str, country: str, contact_name: str,
                     contact_email: str, roles: tuple[str, ...]) -> None:
    """Apply with the connector's own DID (it signs the trust anchor's challenge)."""
    api = Management(data_dir, url, api_key)
    body = {"legal_name": legal_name, "organisation_number": organisation_number,
            "country": country, "contact": {"name": contact_name, "email": contact_email},
            "roles": list(roles)}
    print_json(api.request("POST", "/api/v1/membership/apply", body))


@membership.command("collect")
@client_options
@click.option("--tx-code", default=None, help="The transaction code the operator handed over.")
@click.option("--via", type=click.Choice(["oid4vci", "dcp"]), default="oid4vci",
              show_default=True, help="OpenID4VCI, or a DCP credential request.")
def membership_collect(data_dir: Path, url: str | None, api_key: str | None,
                       tx_code: str | None, via: str) -> None:
    """Collect the approved MembershipCredential into the connector."""
    api = Management(data_dir, url, api_key)
    print_json(api.request("POST", "/api/v1/membership/collect",
                           {"tx_code": tx_code, "via": via}))


@membership.command("status")
@client_options
def membership_status(data_dir: Path, url: str | None, api_key: str | None) -> None:
    """The application as the trust anchor reports it; exit 1 unless the connector is active."""
    api = Management(data_dir, url, api_key)
    result = api.request("GET", "/api/v1/membership")
    print_json(result)
    if result.get("status") != "active":
        sys.exit(1)


@connector.group()
def credentials() -> None:
    """The connector's own verifiable credentials."""


@credentials.command("list")
@client_options
@click.option("--type", "credential_type", default=None, help="Only this credential type.")
@json_option
def credentials_list(data_dir: Path, url: str | None, api_key: str | None,
                     credential_type: str | None, as_json: bool) -> None:
    """List them (types, issuer, claims, expiry; not the credentials themselves)."""
    api = Management(data_dir, url, api_key)
    page = api.request("GET", "/api/v1/credentials?limit=500" + (
        f"&type={quote(credential_type, safe='')}" if credential_type else ""))
    if as_json:
        print_json(page)
        return
    items = page["items"]
    if not items:
        click.echo("No credentials" + (f" of type {credential_type}." if credential_type
                                       else " yet."))
        print_next("`dataspace connector membership apply --help`, then "
                   f"`dataspace connector membership collect {follow_args(data_dir, url)}`")
        return
    print_table(("ID", "TYPE", "ISSUER", "SOURCE", "VALID UNTIL"), [
        (c["id"], ", ".join(t for t in c["types"] if t != "VerifiableCredential"),
         c["issuer"], c["source"], when(c.get("valid_until")) or "no expiry")
        for c in items])


@credentials.command("add")
@client_options
@click.argument("credential_file", type=click.Path(path_type=Path, dir_okay=False,
                                                   exists=True))
def credentials_add(data_dir: Path, url: str | None, api_key: str | None,
                    credential_file: Path) -> None:
    """Add a credential about the connector (a JWT, or a JSON credential) from a file."""
    api = Management(data_dir, url, api_key)
    text = credential_file.read_text().strip()
    credential: Any = text
    if text.startswith("{"):
        try:
            credential = json.loads(text)
        except json.JSONDecodeError as exc:
            fail(f"credential file is not JSON: {exc}")
    print_json(api.request("POST", "/api/v1/credentials", {"credential": credential}))
