"""Usage billing: charges (one per rated usage report, id unique) and provider payouts."""

import sqlalchemy as sa
from alembic import op

revision = "mp0004"
down_revision = "mp0003"


def upgrade() -> None:
    op.create_table(
        "charges",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", sa.String(200), nullable=False, unique=True),
        sa.Column("buyer", sa.String(500), nullable=False),
        sa.Column("provider", sa.String(500), nullable=False),
        sa.Column("product", sa.String(80), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("net_minor", sa.BigInteger, nullable=False),
        sa.Column("vat_minor", sa.BigInteger, nullable=False),
        sa.Column("quantity_micro", sa.BigInteger, nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bill_id", sa.String(80), nullable=True),
        sa.Column("payout_id", sa.String(80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
    )
    op.create_index("ix_charges_bill_id", "charges", ["bill_id"])
    op.create_index("ix_charges_payout_id", "charges", ["payout_id"])
    op.create_index("ix_charges_product_period", "charges", ["product", "period_start"])
    op.create_index("ix_charges_buyer", "charges", ["buyer"])
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("provider", sa.String(500), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
    )
    op.create_index("ix_payouts_provider", "payouts", ["provider"])


def downgrade() -> None:
    op.drop_table("payouts")
    op.drop_table("charges")
