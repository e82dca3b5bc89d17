"""The owner's console: dataset owner and retirement, agreement termination, decisions, receipts."""

import sqlalchemy as sa
from alembic import op

from connector.store import tables as t

revision = "cn0004"
down_revision = "cn0003"


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("owner", sa.String(320), nullable=True))
        batch.add_column(sa.Column("retired_at", sa.Float, nullable=True))
    with op.batch_alter_table("agreements") as batch:
        batch.add_column(sa.Column("terminated_at", sa.Float, nullable=True))
        batch.add_column(sa.Column("termination_reason", sa.Text, nullable=True))
    op.create_table("negotiation_decisions", *t.negotiation_decision_columns())
    op.create_table("receipts", *t.receipt_columns())


def downgrade() -> None:
    op.drop_index("ix_receipts_received", table_name="receipts")
    op.drop_index("ix_receipts_transfer", table_name="receipts")
    op.drop_table("receipts")
    op.drop_table("negotiation_decisions")
    with op.batch_alter_table("agreements") as batch:
        batch.drop_column("termination_reason")
        batch.drop_column("terminated_at")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("retired_at")
        batch.drop_column("owner")
