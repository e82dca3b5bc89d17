"""The marketplace's store: SQLAlchemy Core tables and queries for SQLite and PostgreSQL."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "marketplace_version"

__all__ = ["MIGRATIONS", "VERSION_TABLE"]
