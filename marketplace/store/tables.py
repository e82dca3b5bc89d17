"""The marketplace's tables (SQLAlchemy Core, one schema for SQLite and PostgreSQL).

Every TM Forum resource (a catalog, category, product specification, product
offering, offering price, order, inventory product, usage, customer bill) is
a row of ``resources``: the resource's JSON as served (``body``), plus the
columns the marketplace filters, guards and joins on. One table keeps one
implementation of TMF630 filtering, ``fields``, paging and optimistic
updates for all five APIs; the columns that carry rules (state, owner,
version) are real columns, so every rule is a SQL predicate.

Migrations: ``migrations/versions/000N_<what>.py`` (``mp000N``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = ["metadata", "resources"]

metadata = sa.MetaData()

#: The body: JSON (jsonb on PostgreSQL, so ``body['field']`` filters use its operators).
JSON_BODY = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

resources = sa.Table(
    "resources",
    metadata,
    #: The TMF resource type in camelCase as in the path (``productOffering``).
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("id", sa.String(80), primary_key=True),
    #: A resource's version ("1.0"); versioned kinds keep one row per version.
    sa.Column("version", sa.String(20), primary_key=True),
    #: Only the newest version of a resource is current (what a plain GET returns).
    sa.Column("current", sa.Boolean, nullable=False),
    #: ``lifecycleStatus`` (catalog) or ``state`` (order, product, usage, bill).
    sa.Column("state", sa.String(40), nullable=False),
    #: The party that owns it: a provider's DID (catalog), a buyer's DID (order,
    #: product), the reporting provider's DID (usage); "" for the operator's.
    sa.Column("owner", sa.String(500), nullable=False),
    #: The resource it hangs on (a price's offering, a product's order...), or "".
    sa.Column("parent", sa.String(80), nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    #: Seen only by its owner (and the operator): a private offering, an order.
    sa.Column("private", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_update", sa.DateTime(timezone=True), nullable=False),
    sa.Column("body", JSON_BODY, nullable=False),
    sa.Index("ix_resources_kind_owner", "kind", "owner"),
    sa.Index("ix_resources_kind_parent", "kind", "parent"),
    sa.Index("ix_resources_kind_state", "kind", "state"),
)
