"""The data plane's persistence: its tables and their migrations (own version table)."""

from pathlib import Path

from connector.dataplane.store.tables import metadata

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "dataplane_version"

__all__ = ["MIGRATIONS", "VERSION_TABLE", "metadata"]
