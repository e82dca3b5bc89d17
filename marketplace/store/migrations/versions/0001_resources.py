"""The marketplace's first schema: the TM Forum resources table."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "mp0001"
down_revision = None


def upgrade() -> None:
    body = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "resources",
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("version", sa.String(20), nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(500), nullable=False),
        sa.Column("parent", sa.String(80), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_update", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", body, nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", "version"),
    )
    op.create_index("ix_resources_kind_owner", "resources", ["kind", "owner"])
    op.create_index("ix_resources_kind_parent", "resources", ["kind", "parent"])
    op.create_index("ix_resources_kind_state", "resources", ["kind", "state"])


def downgrade() -> None:
    op.drop_table("resources")
