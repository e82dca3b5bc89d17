"""DCP: replay keys shared by replicas, our credentials, issuance requests, membership."""

import sqlalchemy as sa
from alembic import op

revision = "cn0002"
down_revision = "cn0001"


def upgrade() -> None:
    op.create_table(
        "replay_keys",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_replay_keys_expires", "replay_keys", ["expires_at"])
    op.create_table(
        "holder_credentials",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("credential_id", sa.String(500), nullable=True),
        sa.Column("types", sa.Text, nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(500), nullable=True),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("claims", sa.Text, nullable=False),
        sa.Column("valid_until", sa.Float, nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "credential_requests",
        sa.Column("holder_pid", sa.String(255), primary_key=True),
        sa.Column("issuer_did", sa.String(500), nullable=False),
        sa.Column("credential_types", sa.Text, nullable=False),
        sa.Column("status_url", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "membership_applications",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("trust_anchor_url", sa.String(2000), nullable=False),
        sa.Column("trust_anchor_did", sa.String(500), nullable=False),
        sa.Column("status_token", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_membership_created", "membership_applications", ["created_at"])


def downgrade() -> None:
    op.drop_table("membership_applications")
    op.drop_table("credential_requests")
    op.drop_table("holder_credentials")
    op.drop_index("ix_replay_keys_expires", table_name="replay_keys")
    op.drop_table("replay_keys")
