"""Control plane: catalog (datasets, policies, offers), negotiations, agreements, transfers, outbox."""

import sqlalchemy as sa
from alembic import op

revision = "cn0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("keywords", sa.Text, nullable=False),
        sa.Column("themes", sa.Text, nullable=False),
        sa.Column("publisher", sa.String(500), nullable=True),
        sa.Column("contact_point", sa.String(500), nullable=True),
        sa.Column("license", sa.String(500), nullable=True),
        sa.Column("access_level", sa.String(20), nullable=False),
        sa.Column("media_type", sa.String(200), nullable=True),
        sa.Column("extra", sa.Text, nullable=False),
        sa.Column("backend", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("dataset_id", sa.String(255),
                  sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("policy_id", sa.String(255), sa.ForeignKey("policies.id"), nullable=False),
        sa.Column("access_policy_id", sa.String(255), sa.ForeignKey("policies.id"),
                  nullable=True),
        sa.Column("approval", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_offers_dataset", "offers", ["dataset_id"])
    op.create_table(
        "negotiations",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("provider_pid", sa.String(255), nullable=True),
        sa.Column("consumer_pid", sa.String(255), nullable=True),
        sa.Column("counterparty_id", sa.String(500), nullable=False),
        sa.Column("counterparty_address", sa.String(2000), nullable=False),
        sa.Column("dataset_id", sa.String(255), nullable=True),
        sa.Column("offer_id", sa.String(255), nullable=True),
        sa.Column("offer", sa.Text, nullable=True),
        sa.Column("agreement_id", sa.String(255), nullable=True),
        sa.Column("caller", sa.Text, nullable=True),
        sa.Column("awaiting", sa.String(20), nullable=True),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("error_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_negotiations_role_state", "negotiations", ["role", "state"])
    op.create_index("ix_negotiations_created", "negotiations", ["created_at"])
    op.create_index("ix_negotiations_consumer_pid", "negotiations", ["consumer_pid"])
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("negotiation_id", sa.String(255), nullable=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("dataset_id", sa.String(255), nullable=False),
        sa.Column("assigner", sa.String(500), nullable=False),
        sa.Column("assignee", sa.String(500), nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("counterparty_id", sa.String(500), nullable=False),
        sa.Column("counterparty_address", sa.String(2000), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("provider_pid", sa.String(255), nullable=True),
        sa.Column("consumer_pid", sa.String(255), nullable=True),
        sa.Column("agreement_id", sa.String(255), nullable=False),
        sa.Column("dataset_id", sa.String(255), nullable=True),
        sa.Column("counterparty_id", sa.String(500), nullable=False),
        sa.Column("counterparty_address", sa.String(2000), nullable=False),
        sa.Column("format", sa.String(100), nullable=False),
        sa.Column("data_address", sa.Text, nullable=True),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("error_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_transfers_agreement", "transfers", ["agreement_id"])
    op.create_index("ix_transfers_created", "transfers", ["created_at"])
    op.create_index("ix_transfers_consumer_pid", "transfers", ["consumer_pid"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("process_kind", sa.String(20), nullable=False),
        sa.Column("process_id", sa.String(255), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("audience", sa.String(500), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float, nullable=True),
    )
    op.create_index("ix_outbox_process", "outbox", ["process_id", "status", "id"])


def downgrade() -> None:
    for table in ("outbox", "transfers", "agreements", "negotiations", "offers", "policies",
                  "datasets"):
        op.drop_table(table)
