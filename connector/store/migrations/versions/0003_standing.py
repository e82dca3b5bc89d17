"""Transfers keep the consumer's standing (the credentials it stood on) for the standing check."""

import sqlalchemy as sa
from alembic import op

revision = "cn0003"
down_revision = "cn0002"


def upgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        batch.add_column(sa.Column("standing", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("standing")
