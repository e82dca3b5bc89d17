"""``dataspace db upgrade``: migrate a service's database without starting it.

Services migrate on start-up; in Kubernetes a migration Job (or an init
container) runs this first so replicas start against a ready schema.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import click

from dataspace.cli import cli
from dataspace.cli.common import handle_errors

__all__ = ["db"]

#: The package whose ``store`` holds each service's migrations.
SERVICES = {"trust-anchor": "trust_anchor", "connector": "connector",
            "marketplace": "marketplace"}


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.argument("service", type=click.Choice(sorted(SERVICES)))
@click.option("--database-url", envvar="DATABASE_URL", required=True,
              help="SQLAlchemy URL (or $DATABASE_URL).")
@click.option("--schema", default=None, help="PostgreSQL schema of the service.")
@handle_errors
def upgrade(service: str, database_url: str, schema: str | None) -> None:
    """Bring SERVICE's tables (and the shared job queue) to the latest revision."""
    from servicekit import jobs
    from servicekit.db import create_engine, current_revision, migrate

    store = importlib.import_module(f"{SERVICES[service]}.store")
    migrations: Path = store.MIGRATIONS
    version_table: str = store.VERSION_TABLE

    async def run() -> str | None:
        engine = create_engine(database_url, schema=schema)
        try:
            await migrate(engine, jobs.MIGRATIONS, version_table=jobs.VERSION_TABLE,
                          schema=schema)
            await migrate(engine, migrations, version_table=version_table, schema=schema)
            return await current_revision(engine, version_table=version_table)
        finally:
            await engine.dispose()

    revision = asyncio.run(run())
    click.echo(f"{service}: database at revision {revision}")
