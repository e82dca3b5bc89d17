"""The trust anchor's store: SQLAlchemy Core tables and queries for SQLite and PostgreSQL."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "trust_anchor_version"

__all__ = ["MIGRATIONS", "VERSION_TABLE"]
