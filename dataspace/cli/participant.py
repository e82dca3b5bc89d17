"""``dataspace participant``: a key and DID, applying, following, collecting credentials."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from dataspace.cli import cli
from dataspace.cli.common import handle_errors, print_json
from dataspace.cli.keys import read_passphrase

__all__ = ["participant"]

def _participant_folder(_ctx: click.Context, _param: click.Parameter, value: Path) -> Path:
    """A ``dataspace up`` folder keeps the participant in its ``participant`` folder."""
    from dataspace.client import DATASPACE_FILE

    if (value / DATASPACE_FILE).exists():
        value = value / "participant"
        click.echo(f"using the participant in {value}", err=True)
    return value


data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path, file_okay=False),
    default=Path(".dataspace") / "participant", show_default=True,
    callback=_participant_folder,
    help="Where the participant's key, state and credentials live (in a `dataspace up` "
         "folder: its participant folder).")
passphrase_option = click.option(
    "--passphrase-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="File holding the key store passphrase (else $DATASPACE_KEY_PASSPHRASE).")


@cli.group()
def participant() -> None:
    """Join a data space: create a DID, apply, collect the membership credential."""


@participant.command("init")
@data_dir_option
@passphrase_option
@click.option("--web", "web_url", default=None,
              help="Use did:web of this URL (you host its /.well-known/did.json); "
                   "default is did:key.")
@handle_errors
def init(data_dir: Path, passphrase_file: Path | None, web_url: str | None) -> None:
    """Create (or show) the participant's key and DID."""
    from dataspace import participant as participant_lib

    who = participant_lib.init_participant(data_dir, read_passphrase(passphrase_file),
                                           web_url=web_url)
    click.echo(who.did)


@participant.command("apply")
@data_dir_option
@passphrase_option
@click.option("--trust-anchor", "trust_anchor_url", required=True, help="Trust anchor URL.")
@click.option("--legal-name", required=True)
@click.option("--org-number", required=True, help="Organisation number.")
@click.option("--country", default="NO", show_default=True)
@click.option("--contact-name", required=True)
@click.option("--contact-email", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["provider", "consumer", "marketplace"]))
@handle_errors
def apply(data_dir: Path, passphrase_file: Path | None, trust_anchor_url: str,
          legal_name: str, org_number: str, country: str, contact_name: str,
          contact_email: str, roles: tuple[str, ...]) -> None:
    """Apply to join, proving control of the DID; prints the application."""
    from dataspace import participant as participant_lib

    who = participant_lib.load_participant(data_dir, read_passphrase(passphrase_file))
    created = asyncio.run(participant_lib.apply(who, trust_anchor_url, {
        "legal_name": legal_name, "organisation_number": org_number, "country": country,
        "contact": {"name": contact_name, "email": contact_email}, "roles": list(roles),
    }))
    print_json({"id": created["id"], "state": created["state"], "did": who.did})
    # The next step on stderr, so stdout stays the application's JSON.
    click.echo(f"Next: wait for the operator's approval (`dataspace participant status "
               f"--data-dir {data_dir}`), then `dataspace participant collect --data-dir "
               f"{data_dir} --tx-code CODE` with the code the operator gives you.", err=True)


@participant.command("status")
@data_dir_option
@passphrase_option
@handle_errors
def status(data_dir: Path, passphrase_file: Path | None) -> None:
    """Show the application as the trust anchor sees it."""
    from dataspace import participant as participant_lib

    who = participant_lib.load_participant(data_dir, read_passphrase(passphrase_file))
    print_json(asyncio.run(participant_lib.application_status(who)))


@participant.command("collect")
@data_dir_option
@passphrase_option
@click.option("--tx-code", default=None, help="The transaction code the operator gave you.")
@click.option("--offer", default=None, help="An offer URI (default: the one waiting).")
@handle_errors
def collect(data_dir: Path, passphrase_file: Path | None, tx_code: str | None,
            offer: str | None) -> None:
    """Collect the credential waiting for you (OpenID for VC Issuance)."""
    from dataspace import participant as participant_lib

    who = participant_lib.load_participant(data_dir, read_passphrase(passphrase_file))
    credential = asyncio.run(participant_lib.collect(who, tx_code=tx_code, offer=offer))
    click.echo(credential)
