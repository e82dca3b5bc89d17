"""Orders and payments: the payment events acted on, unique per provider (replays collide)."""

import sqlalchemy as sa
from alembic import op

revision = "mp0003"
down_revision = "mp0002"


def upgrade() -> None:
    op.create_table(
        "payment_events",
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("order_id", sa.String(80), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id"),
    )
    op.create_index("ix_payment_events_order_id", "payment_events", ["order_id"])


def downgrade() -> None:
    op.drop_table("payment_events")
