"""Persistence: SQLAlchemy Core queries over one schema for SQLite and PostgreSQL.

Every function takes the caller's :class:`~sqlalchemy.ext.asyncio.AsyncConnection`,
so a state change, its outbound message and its job commit in one transaction.
"""

from pathlib import Path

from connector.store.tables import metadata

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "connector_version"

__all__ = ["MIGRATIONS", "VERSION_TABLE", "metadata"]
