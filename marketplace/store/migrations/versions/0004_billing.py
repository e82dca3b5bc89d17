"""Usage billing: charges (one per rated usage report, id unique) and provider payouts."""

from alembic import op

from marketplace.store import tables as t

revision = "mp0004"
down_revision = "mp0003"


def upgrade() -> None:
    op.create_table("charges", *t.charge_columns())
    op.create_table("payouts", *t.payout_columns())


def downgrade() -> None:
    op.drop_table("payouts")
    op.drop_table("charges")
