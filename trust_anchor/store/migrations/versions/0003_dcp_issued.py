"""Remember which credentials a DCP request produced, so a retried delivery reuses them."""

import sqlalchemy as sa
from alembic import op

revision = "ta0003"
down_revision = "ta0002"


def upgrade() -> None:
    with op.batch_alter_table("dcp_requests") as batch:
        batch.add_column(sa.Column("issued", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dcp_requests") as batch:
        batch.drop_column("issued")
