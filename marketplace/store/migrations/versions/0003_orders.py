"""Orders and payments: the payment events acted on, unique per provider (replays collide)."""

from alembic import op

from marketplace.store import tables as t

revision = "mp0003"
down_revision = "mp0002"


def upgrade() -> None:
    op.create_table("payment_events", *t.payment_event_columns())


def downgrade() -> None:
    op.drop_table("payment_events")
