"""``dataspace connector dataset add|list``: the datasets this connector offers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from dataspace.cli.common import fail, json_option, print_json, print_next, print_table, when
from dataspace.cli.connector import connector
from dataspace.cli.connector.client import Management, client_options, follow_args

__all__ = ["dataset"]


@connector.group()
def dataset() -> None:
    """The datasets this connector offers."""


@dataset.command("add")
@client_options
@click.option("--id", "dataset_id", default=None, help="Dataset id (default: a new urn:uuid).")
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--keyword", "keywords", multiple=True)
@click.option("--theme", "themes", multiple=True)
@click.option("--publisher", default=None)
@click.option("--license", "license_", default=None, help="Licence IRI.")
@click.option("--access-level", type=click.Choice(["PUBLIC", "RESTRICTED", "NON_PUBLIC"]),
              default="PUBLIC", show_default=True,
              help="Traffic light: green (agreed automatically), yellow (owner approves), "
                   "red (never offered).")
@click.option("--backend", "backend_url", required=True,
              help="Where the data comes from (kept private).")
@click.option("--backend-type", type=click.Choice(["http", "file", "postgresql"]),
              default="http", show_default=True)
@click.option("--policy", "policy_file", type=click.Path(path_type=Path, dir_okay=False,
                                                         exists=True), default=None,
              help="ODRL policy JSON file to offer the dataset under.")
def dataset_add(data_dir: Path, url: str | None, api_key: str | None, dataset_id: str | None,
                title: str, description: str, keywords: tuple[str, ...],
                themes: tuple[str, ...], publisher: str | None, license_: str | None,
                access_level: str, backend_url: str, backend_type: str,
                policy_file: Path | None) -> None:
    """Register a dataset (and offer it unless NON_PUBLIC); prints it and its offer."""
    api = Management(data_dir, url, api_key)
    body: dict[str, Any] = {
        "title": title, "description": description, "keywords": list(keywords),
        "themes": list(themes), "publisher": publisher, "license": license_,
        "access_level": access_level,
        "backend": {"type": backend_type, "address": backend_url},
    }
    if dataset_id:
        body["id"] = dataset_id
    if policy_file is not None:
        try:
            body["policy"] = json.loads(policy_file.read_text())
        except json.JSONDecodeError as exc:
            fail(f"policy file is not JSON: {exc}")
    print_json(api.request("POST", "/api/v1/datasets", body))


@dataset.command("list")
@client_options
@click.option("--after", default=None, help="List ids after this one.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@json_option
def dataset_list(data_dir: Path, url: str | None, api_key: str | None, after: str | None,
                 limit: int, as_json: bool) -> None:
    """List datasets by id."""
    api = Management(data_dir, url, api_key)
    page = api.request("GET", f"/api/v1/datasets?limit={limit}" + (
        f"&after={after}" if after else ""))
    if as_json:
        print_json(page)
        return
    items = page["items"]
    follow = follow_args(data_dir, url)
    if not items:
        click.echo("No datasets" + (f" after {after}." if after else " yet."))
        print_next(f"`dataspace connector dataset add --title TITLE --backend URL {follow}`")
        return
    print_table(("ID", "TITLE", "ACCESS", "BACKEND", "UPDATED"), [
        (d["id"], d.get("title"), d.get("access_level"), (d.get("backend") or {}).get("type"),
         when(d.get("updated_at")))
        for d in items])
    if len(items) == limit:
        print_next(f"`dataspace connector dataset list --after {items[-1]['id']} {follow}`")
