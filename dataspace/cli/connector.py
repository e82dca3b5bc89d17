"""``dataspace connector``: run a connector, and drive one through its management API.

``serve`` runs it. The other commands talk to a running connector's
management API, found through ``<data-dir>/service.json`` (``management_url``
and ``admin_api_key``) or given with ``--url`` and ``--api-key``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import click

from connector.app import create_app
from connector.settings import ConnectorSettings
from dataspace.cli import cli
from dataspace.cli.common import (
    fail,
    locate_service,
    print_json,
    serve,
    service_name_option,
    service_options,
)
from dataspace.client import CONNECTOR_ROLES, DATASPACE_FILE

__all__ = ["connector"]

_FINAL_NEGOTIATION = {"FINALIZED", "TERMINATED"}
_SETTLED_TRANSFER = {"STARTED", "COMPLETED", "TERMINATED", "SUSPENDED"}


@cli.group()
def connector() -> None:
    """A Dataspace Protocol connector: publish datasets, negotiate contracts, pull data."""


@connector.command("serve")
@service_options(ConnectorSettings.default_port)
@click.option("--name", default=None, help="The connector's name [connector].")
@click.option("--role", type=click.Choice(["provider", "consumer"]), default=None,
              help="What it mainly does (service.json); it speaks both DSP roles.")
@click.option("--trust-anchor", "trust_anchor_url", default=None, help="Trust anchor URL.")
@click.option("--marketplace", "marketplace_url", default=None, help="Marketplace URL.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes sharing the ports.")
@click.option("--management-port", type=int, default=None,
              help="Port of the management API [port + 1].")
@click.option("--did-method", type=click.Choice(["web", "key"]), default=None,
              help="did:web of the public URL (default) or did:key (default with --dev).")
@click.option("--tck", is_flag=True, default=False,
              help="TCK mode: seeded ids, scripted scenarios, trigger endpoints.")
def serve_command(config_file: Path | None, workers: int, tck: bool, **flags: Any) -> None:
    """Run the connector until Ctrl-C; writes <data-dir>/service.json when ready.

    DSP 2025-1 is served under /dsp on --port, the management API on
    --management-port.
    """
    if tck:
        flags["tck"] = {"enabled": True}
    serve(ConnectorSettings, create_app, config_file=config_file, workers=workers, **flags)


# --- the management client ---------------------------------------------------------------

_client_options = [
    click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                 default=Path(".dataspace"), show_default=True,
                 help="Where the connector's service.json is (or a `dataspace up` folder)."),
    service_name_option("--connector", "connector"),
    click.option("--url", default=None, help="Management API URL (instead of service.json)."),
    click.option("--api-key", default=None, envvar="CONNECTOR_API_KEY",
                 help="Admin API key (instead of service.json)."),
]


def client_options(command: Any) -> Any:
    """The options that locate a running connector."""
    for option in reversed(_client_options):
        command = option(command)
    return command


def describe_problem(status: int, answer: Any) -> str:
    """One line from a problem+json answer: code, title, detail and the reasons given."""
    if not isinstance(answer, dict):
        return f"HTTP {status}"
    code = answer.get("code") or "error"
    title = answer.get("title") or ""
    detail = answer.get("detail") or ""
    same = title.strip().lower() == detail.strip().lower()
    text = f"{code}: {detail or title}" if not (title and detail) or same else (
        f"{code}: {title}: {detail}")
    reasons = [
        str(r.get("message") or r.get("code")) if isinstance(r, dict) else str(r)
        for r in answer.get("reasons") or []
    ]
    if reasons:
        text += " (" + "; ".join(reasons) + ")"
    return text


def follow_args(data_dir: Path, url: str | None) -> str:
    """The options that reach the same connector again, for a next-step hint."""
    if url is not None:
        return f"--url {url}"
    # ``--connector`` keeps its value in the click context (see service_name_option).
    name = click.get_current_context().meta.get("dataspace.service-name")
    return f"--data-dir {data_dir}" + (f" --connector {name}" if name else "")


def awaiting_owner(negotiation: dict[str, Any], follow: str, timeout: float) -> str:
    """What a consumer is told when its request is still unanswered after ``timeout``."""
    return (f"the negotiation {negotiation['id']} is still {negotiation['state']} after "
            f"{timeout:g} s: the provider has not agreed yet (a restricted dataset awaits "
            "its owner's approval). Follow it with `dataspace connector negotiations "
            f"{negotiation['id']} --wait {follow}`")


class Management:
    """A tiny client of the management API; errors end the command with one line."""

    def __init__(self, data_dir: Path, url: str | None, api_key: str | None) -> None:
        if url is None or api_key is None:
            _folder, info = locate_service(data_dir, CONNECTOR_ROLES, "connector", "--connector")
            if "management_url" not in info:
                fail(f"no connector service.json in {data_dir}; give --url and --api-key")
            url = url or str(info["management_url"])
            api_key = api_key or str(info["admin_api_key"])
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}

    async def call(self, http: aiohttp.ClientSession, method: str, path: str,
                   body: Any = None) -> Any:
        """One request; a problem+json answer ends the command (exit 2)."""
        try:
            async with http.request(method, self.url + path, json=body,
                                    headers=self.headers) as resp:
                answer = await resp.json(content_type=None) if resp.status != 204 else None
                if resp.status >= 400:
                    code = answer.get("code", "error") if isinstance(answer, dict) else "error"
                    detail = answer.get("detail", "") if isinstance(answer, dict) else ""
                    errors = answer.get("errors") if isinstance(answer, dict) else None
                    where = "; ".join(f"{e.get('path') or e.get('loc') or '/'}: "
                                      f"{e.get('message') or e.get('msg')}"
                                      for e in errors[:3] if isinstance(e, dict)
                                      ) if isinstance(errors, list) else ""
                    fail(f"{code}: {detail}" + (f" ({where})" if where else ""))
                return answer
        except aiohttp.ClientError as exc:
            fail(f"cannot reach the connector at {self.url}: {exc}")

    async def wait(self, http: aiohttp.ClientSession, path: str, done: set[str],
                   seconds: float) -> dict[str, Any]:
        """Poll ``path`` until its state is in ``done`` (or ``seconds`` are up)."""
        deadline = time.monotonic() + seconds
        while True:
            current: dict[str, Any] = await self.call(http, "GET", path)
            if current["state"] in done or time.monotonic() > deadline:
                return current
            await asyncio.sleep(0.1)


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


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

    async def go() -> Any:
        async with aiohttp.ClientSession() as http:
            return await api.call(http, "POST", "/api/v1/datasets", body)

    print_json(_run(go()))


@dataset.command("list")
@client_options
@click.option("--after", default=None, help="List ids after this one.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def dataset_list(data_dir: Path, url: str | None, api_key: str | None, after: str | None,
                 limit: int) -> None:
    """List datasets by id."""
    api = Management(data_dir, url, api_key)
    path = f"/api/v1/datasets?limit={limit}" + (f"&after={after}" if after else "")

    async def go() -> Any:
        async with aiohttp.ClientSession() as http:
            return await api.call(http, "GET", path)

    print_json(_run(go()))


@connector.command("negotiate")
@client_options
@click.option("--provider", "provider_url", required=True, help="The provider's DSP URL.")
@click.option("--dataset", "dataset_id", required=True)
@click.option("--offer", "offer_id", default=None, help="Offer id (default: the first one).")
@click.option("--provider-id", default=None, help="Provider DID (default: from its catalog).")
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.option("--timeout", type=float, default=30.0, show_default=True)
def negotiate(data_dir: Path, url: str | None, api_key: str | None, provider_url: str,
              dataset_id: str, offer_id: str | None, provider_id: str | None, wait: bool,
              timeout: float) -> None:
    """Negotiate a contract for a dataset; exit 1 if the provider terminates or the wait ends.

    A restricted (yellow) dataset waits for its owner's approval: when
    --timeout passes first, the command says so and how to follow it (exit 1).
    """
    api = Management(data_dir, url, api_key)

    async def go() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http:
            started: dict[str, Any] = await api.call(http, "POST", "/api/v1/negotiations", {
                "counterparty_address": provider_url, "dataset_id": dataset_id,
                "offer_id": offer_id, "counterparty_id": provider_id})
            if not wait:
                return started
            return await api.wait(http, f"/api/v1/negotiations/{started['id']}",
                                  _FINAL_NEGOTIATION, timeout)

    result = _run(go())
    print_json(result)
    if result["state"] == "TERMINATED":
        fail(f"the provider terminated the negotiation: {result.get('error_reason')}", code=1)
    if wait and result["state"] not in _FINAL_NEGOTIATION:
        fail(awaiting_owner(result, follow_args(data_dir, url), timeout), code=1)


async def _transfer(api: Management, http: aiohttp.ClientSession, agreement_id: str,
                    provider_url: str | None, seconds: float) -> dict[str, Any]:
    started: dict[str, Any] = await api.call(http, "POST", "/api/v1/transfers", {
        "agreement_id": agreement_id, "counterparty_address": provider_url})
    return await api.wait(http, f"/api/v1/transfers/{started['id']}", _SETTLED_TRANSFER,
                          seconds)


@connector.command("transfer")
@client_options
@click.option("--agreement", "agreement_id", required=True)
@click.option("--provider", "provider_url", default=None,
              help="The provider's DSP URL (default: where the agreement was made).")
@click.option("--timeout", type=float, default=30.0, show_default=True)
def transfer(data_dir: Path, url: str | None, api_key: str | None, agreement_id: str,
             provider_url: str | None, timeout: float) -> None:
    """Start an HTTP-pull transfer; prints it and its endpoint data reference."""
    api = Management(data_dir, url, api_key)

    async def go() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http:
            process = await _transfer(api, http, agreement_id, provider_url, timeout)
            if process["state"] == "STARTED":
                process["edr"] = await api.call(
                    http, "GET", f"/api/v1/transfers/{process['id']}/edr")
            return process

    result = _run(go())
    print_json(result)
    if result["state"] != "STARTED":
        sys.exit(1)


@connector.command("pull")
@client_options
@click.option("--transfer", "transfer_id", default=None, help="A started transfer.")
@click.option("--agreement", "agreement_id", default=None,
              help="Start a transfer under this agreement first.")
@click.option("--provider", "provider_url", default=None, help="The provider's DSP URL.")
@click.option("--dataset", "dataset_id", default=None,
              help="With --provider: negotiate for this dataset first.")
@click.option("--path", "sub_path", default="", help="Path below the data-plane endpoint.")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the data here (default: stdout).")
@click.option("--timeout", type=float, default=30.0, show_default=True)
def pull(data_dir: Path, url: str | None, api_key: str | None, transfer_id: str | None,
         agreement_id: str | None, provider_url: str | None, dataset_id: str | None,
         sub_path: str, output: Path | None, timeout: float) -> None:
    """Fetch data through the provider's data plane with the transfer's access token.

    Give a started --transfer, or an --agreement to transfer under, or
    --provider and --dataset to negotiate and transfer first.
    """
    if transfer_id is None and agreement_id is None and not (provider_url and dataset_id):
        fail("give --transfer, --agreement, or --provider with --dataset")
    api = Management(data_dir, url, api_key)

    async def go() -> bytes:
        nonlocal agreement_id, transfer_id
        async with aiohttp.ClientSession() as http:
            if transfer_id is None and agreement_id is None:
                started = await api.call(http, "POST", "/api/v1/negotiations", {
                    "counterparty_address": provider_url, "dataset_id": dataset_id})
                done = await api.wait(http, f"/api/v1/negotiations/{started['id']}",
                                      _FINAL_NEGOTIATION, timeout)
                if done["state"] not in _FINAL_NEGOTIATION:
                    fail(awaiting_owner(done, follow_args(data_dir, url), timeout), code=1)
                if done["state"] != "FINALIZED":
                    fail(f"the negotiation ended {done['state']}: {done.get('error_reason')}",
                         code=1)
                agreement_id = done["agreement_id"]
            if transfer_id is None:
                assert agreement_id is not None
                process = await _transfer(api, http, agreement_id, provider_url, timeout)
                if process["state"] != "STARTED":
                    fail(f"the transfer is {process['state']}", code=1)
                transfer_id = process["id"]
            edr = await api.call(http, "GET", f"/api/v1/transfers/{transfer_id}/edr")
            endpoint = edr["endpoint"].rstrip("/") + ("/" + sub_path.lstrip("/")
                                                      if sub_path else "")
            try:
                async with http.get(endpoint, headers={
                        "Authorization": f"Bearer {edr['token']}"}) as resp:
                    data = await resp.read()
                    if resp.status >= 400:
                        try:
                            problem = json.loads(data)
                        except ValueError:
                            problem = None
                        fail(f"the data plane refused (HTTP {resp.status}): "
                             f"{describe_problem(resp.status, problem)}", code=1)
                    return data
            except aiohttp.ClientError as exc:
                fail(f"cannot reach the data plane at {endpoint}: {exc}", code=1)

    data = _run(go())
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


# --- the data plane's audit log ------------------------------------------------------------


def _audit_commands() -> None:
    """``dataspace connector audit verify``: check the data plane's hash-chained audit log."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from connector.dataplane.audit import verify_store
    from connector.dataplane.store.tables import audit as audit_table
    from identity.keys import public_key_from_jwk
    from servicekit.db import create_engine
    from servicekit.errors import DataspaceError

    @connector.group()
    def audit() -> None:
        """The data plane's tamper-evident audit log."""

    @audit.command("verify")
    @click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                  help="The connector's data folder (database and key), or a `dataspace up` "
                       "folder [.dataspace].")
    @service_name_option("--connector", "connector")
    @click.option("--database-url", default=None, help="The connector's database URL.")
    @click.option("--database-schema", default=None, help="Its PostgreSQL schema, if any.")
    @click.option("--public-key", type=click.File("r"), default=None,
                  help="The connector's public JWK (default: read the key store).")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    def verify(data_dir: Path | None, database_url: str | None, database_schema: str | None,
               public_key: Any, as_json: bool) -> None:
        """Check every record's hash, link and position and every signed checkpoint.

        The database is the one the connector itself uses: --database-url (or
        CONNECTOR_DATABASE_URL), else what its service.json says (the URL
        without its password, and the schema). Nothing is created: a missing
        database is an error. Exit 0 when the log is intact, 1 when it was
        edited, cut or reordered.
        """
        try:
            written = None
            if data_dir is not None and any(
                    (data_dir / name).exists() for name in ("service.json", DATASPACE_FILE)):
                data_dir, written = locate_service(data_dir, CONNECTOR_ROLES, "connector",
                                                   "--connector")
            # The database file is named after the connector: take its name from the
            # service.json it wrote, when there is one.
            settings = ConnectorSettings.load(
                data_dir=data_dir, database_url=database_url, database_schema=database_schema,
                name=written.get("name") if written else None)
            own = (written or {}).get("database")
            if not settings.database_url and isinstance(own, dict) and own.get("url"):
                # The service's own settings, as it wrote them when it started.
                settings = settings.model_copy(update={
                    "database_url": own["url"],
                    "database_schema": database_schema or own.get("schema")})
            if public_key is not None:
                key = public_key_from_jwk(json.load(public_key))
            elif not (settings.data_dir / "keys").is_dir():
                fail(f"no connector key store in {settings.data_dir}; give --public-key")
            else:
                # Checking signatures needs only the public key: no passphrase.
                from identity.keystore import KeyStore

                key = public_key_from_jwk(
                    KeyStore(settings.data_dir / "keys").public_jwk("connector"))
        except (ValueError, OSError, DataspaceError) as exc:
            fail(f"cannot read the settings or the key: {exc}".replace("\n", "; "))

        url = make_url(settings.sqlalchemy_url)
        if url.get_backend_name() == "sqlite" and not (
                url.database and Path(url.database).is_file()):
            # Connecting would create an empty database file.
            fail(f"no connector database at {url.database}; give --data-dir of the connector "
                 "(or of `dataspace up`) or --database-url")

        async def check() -> Any:
            engine = create_engine(settings.sqlalchemy_url, schema=settings.database_schema)
            try:
                async with engine.connect() as conn:
                    found = await conn.run_sync(lambda c: sa.inspect(c).has_table(
                        audit_table.name))
                return await verify_store(engine, public_key=key) if found else None
            finally:
                await engine.dispose()

        try:
            report = _run(check())
        except (OSError, sa.exc.SQLAlchemyError) as exc:
            fail(f"cannot read the database {url.render_as_string(hide_password=True)}: "
                 f"{str(exc).splitlines()[0]}")
        if report is None:
            where = url.render_as_string(hide_password=True)
            schema = f" (schema {settings.database_schema})" if settings.database_schema else ""
            fail(f"no data-plane audit log in {where}{schema}")
        if as_json:
            print_json({"ok": report.ok, "records": report.records,
                        "checkpoints": report.checkpoints, "problems": report.problems})
        elif report.ok:
            click.echo(f"audit log intact: {report.records} records, "
                       f"{report.checkpoints} signed checkpoints verified")
        else:
            for problem in report.problems:
                click.echo(problem, err=True)
            click.echo(f"audit log NOT intact: {len(report.problems)} problem(s) in "
                       f"{report.records} records", err=True)
        sys.exit(0 if report.ok else 1)


_audit_commands()


# --- membership: onboarding the connector itself ------------------------------------------

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

    async def go() -> Any:
        async with aiohttp.ClientSession() as http:
            return await api.call(http, "POST", "/api/v1/membership/apply", body)

    print_json(_run(go()))


@membership.command("collect")
@client_options
@click.option("--tx-code", default=None, help="The transaction code the operator handed over.")
@click.option("--via", type=click.Choice(["oid4vci", "dcp"]), default="oid4vci",
              show_default=True, help="OpenID4VCI, or a DCP credential request.")
def membership_collect(data_dir: Path, url: str | None, api_key: str | None,
                       tx_code: str | None, via: str) -> None:
    """Collect the approved MembershipCredential into the connector."""
    api = Management(data_dir, url, api_key)

    async def go() -> Any:
        async with aiohttp.ClientSession() as http:
            return await api.call(http, "POST", "/api/v1/membership/collect",
                                  {"tx_code": tx_code, "via": via})

    print_json(_run(go()))


@membership.command("status")
@client_options
def membership_status(data_dir: Path, url: str | None, api_key: str | None) -> None:
    """The application as the trust anchor reports it; exit 1 unless the connector is active."""
    api = Management(data_dir, url, api_key)

    async def go() -> Any:
        async with aiohttp.ClientSession() as http:
            return await api.call(http, "GET", "/api/v1/membership")

    result = _run(go())
    print_json(result)
    if result.get("status") != "active":
        sys.exit(1)


@connector.group()
def credentials() -> None:
    """The connector's own verifiable credentials."""


@credentials.command("list")
@client_options
@click.option("--type", "credential_type", default=None, help="Only this credential type.")
def credentials_list(data_dir: Path, url: str | None, api_key: str | None,
                     credential_type: str | None) -> None:
    """List them (types, issuer, claims, expiry; not the credentials themselves)."""
    api = Management(data_dir, url, api_key)
    path = "/api/v1/credentials?limit=500" + (f"&type={credential_type}"
                                                if credential_type else "")

    async def go() -> Any:
        async with aiohttp.ClientSession() as http:
            return await api.call(http, "GET", path)

    print_json(_run(go()))


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

    async def go() -> Any:
        async with aiohttp.ClientSession() as http:
            return await api.call(http, "POST", "/api/v1/credentials",
                                  {"credential": credential})

    print_json(_run(go()))


# What the owner decides and the consumer follows (requests, approve, catalog, receipt...).
import dataspace.cli.contracts  # noqa: E402,F401
