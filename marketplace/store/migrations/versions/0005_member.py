"""The marketplace as a member: its credentials, DCP requests, application, harvested datasets."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "mp0005"
down_revision = "mp0004"


def upgrade() -> None:
    body = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "holder_credentials",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("credential_id", sa.String(500), nullable=True, unique=True),
        sa.Column("types", sa.JSON, nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(500), nullable=True),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("raw", sa.JSON, nullable=False),
        sa.Column("claims", sa.JSON, nullable=False),
        sa.Column("valid_until", sa.Float, nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "holder_requests",
        sa.Column("holder_pid", sa.String(80), primary_key=True),
        sa.Column("issuer_did", sa.String(500), nullable=False),
        sa.Column("credential_types", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "membership_applications",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("trust_anchor_url", sa.String(500), nullable=False),
        sa.Column("trust_anchor_did", sa.String(500), nullable=False),
        sa.Column("status_token", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "harvested_datasets",
        sa.Column("publisher", sa.String(500), nullable=False),
        sa.Column("dataset_id", sa.String(500), nullable=False),
        sa.Column("publisher_name", sa.String(500), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("dsp_address", sa.String(500), nullable=False),
        sa.Column("body", body, nullable=False),
        sa.Column("harvested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("publisher", "dataset_id"),
    )
    op.create_index("ix_harvested_datasets_title", "harvested_datasets", ["title"])


def downgrade() -> None:
    for table in ("harvested_datasets", "membership_applications", "holder_requests",
                  "holder_credentials"):
        op.drop_table(table)
