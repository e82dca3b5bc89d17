"""The marketplace's first schema: the TM Forum resources table."""

from alembic import op

from marketplace.store import tables as t

revision = "mp0001"
down_revision = None


def upgrade() -> None:
    op.create_table("resources", *t.resource_columns())


def downgrade() -> None:
    op.drop_table("resources")  # its indexes go with it
