"""``dataspace connector audit verify``: check the data plane's hash-chained audit log.

It reads the connector's own database directly (not through the management
API), so it works on a stopped connector or a copy of its database.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dataspace.cli.common import fail, locate_service, print_json, service_name_option
from dataspace.cli.connector import connector

if TYPE_CHECKING:
    from connector.dataplane.audit import VerifyReport
    from connector.settings import ConnectorSettings

__all__ = ["audit"]


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
    from servicekit.errors import DataspaceError

    try:
        settings = _settings(data_dir, database_url, database_schema)
        key = _public_key(settings, public_key)
    except (ValueError, OSError, DataspaceError) as exc:
        fail(f"cannot read the settings or the key: {exc}".replace("\n", "; "))
    report = _read(settings, key)
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


def _settings(data_dir: Path | None, database_url: str | None,
              database_schema: str | None) -> ConnectorSettings:
    """The connector's settings: flags, environment, else what its service.json says."""
    from connector.settings import ConnectorSettings
    from dataspace.client import CONNECTOR_ROLES, DATASPACE_FILE

    written = None
    if data_dir is not None and any(
            (data_dir / name).exists() for name in ("service.json", DATASPACE_FILE)):
        data_dir, written = locate_service(data_dir, CONNECTOR_ROLES, "connector", "--connector")
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
    return settings


def _public_key(settings: ConnectorSettings, public_key: Any) -> Any:
    """The key checkpoints are signed with: ``--public-key``, else the key store's."""
    from identity.keys import public_key_from_jwk

    if public_key is not None:
        return public_key_from_jwk(json.load(public_key))
    if not (settings.data_dir / "keys").is_dir():
        fail(f"no connector key store in {settings.data_dir}; give --public-key")
    # Checking signatures needs only the public key: no passphrase.
    from identity.keystore import KeyStore

    return public_key_from_jwk(KeyStore(settings.data_dir / "keys").public_jwk("connector"))


def _read(settings: ConnectorSettings, key: Any) -> VerifyReport:
    """The audit log's report; ends the command when there is no database or no log."""
    import asyncio

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from connector.dataplane.audit import verify_store
    from connector.dataplane.store.tables import audit as audit_table
    from servicekit.db import create_engine

    url = make_url(settings.sqlalchemy_url)
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not (
            url.database and Path(url.database).is_file()):
        # Connecting would create an empty database file.
        fail(f"no connector database at {url.database}; give --data-dir of the connector "
             "(or of `dataspace up`) or --database-url")

    async def check() -> VerifyReport | None:
        engine = create_engine(settings.sqlalchemy_url, schema=settings.database_schema)
        try:
            async with engine.connect() as conn:
                found = await conn.run_sync(lambda c: sa.inspect(c).has_table(
                    audit_table.name))
            return await verify_store(engine, public_key=key) if found else None
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(check())
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        fail(f"cannot read the database {where}: {str(exc).splitlines()[0]}")
    if report is None:
        schema = f" (schema {settings.database_schema})" if settings.database_schema else ""
        fail(f"no data-plane audit log in {where}{schema}")
    return report
