"""Keep the consumer's verified credentials with each flow (for credential constraints)."""

import sqlalchemy as sa
from alembic import op

revision = "dp0002"
down_revision = "dp0001"


def upgrade() -> None:
    with op.batch_alter_table("dp_flows") as batch:
        batch.add_column(sa.Column("credentials", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dp_flows") as batch:
        batch.drop_column("credentials")
