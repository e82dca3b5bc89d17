"""Keep the consumer's transfer process id with each flow (named in usage receipts)."""

import sqlalchemy as sa
from alembic import op

revision = "dp0003"
down_revision = "dp0002"


def upgrade() -> None:
    with op.batch_alter_table("dp_flows") as batch:
        batch.add_column(sa.Column("consumer_pid", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dp_flows") as batch:
        batch.drop_column("consumer_pid")
