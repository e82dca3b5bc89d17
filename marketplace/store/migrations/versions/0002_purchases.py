"""Purchase credentials: the status lists, the issued credentials, buyers' DCP requests."""

import sqlalchemy as sa
from alembic import op

revision = "mp0002"
down_revision = "mp0001"


def upgrade() -> None:
    op.create_table(
        "status_lists",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("bits", sa.LargeBinary, nullable=False),
        sa.Column("allocated", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "issued_credentials",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("order_id", sa.String(80), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.Text, nullable=True),
        sa.Column("subject_did", sa.String(500), nullable=False),
        sa.Column("credential_type", sa.String(100), nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_list", sa.String(64), nullable=False),
        sa.Column("revocation_index", sa.Integer, nullable=False),
        sa.Column("suspension_list", sa.String(64), nullable=False),
        sa.Column("suspension_index", sa.Integer, nullable=False),
        sa.UniqueConstraint("revocation_list", "revocation_index",
                            name="ux_issued_credentials_revocation_slot"),
        sa.UniqueConstraint("suspension_list", "suspension_index",
                            name="ux_issued_credentials_suspension_slot"),
    )
    op.create_index("ix_issued_credentials_order_id", "issued_credentials", ["order_id"])
    op.create_index("ix_issued_credentials_subject_did", "issued_credentials", ["subject_did"])
    op.create_table(
        "credential_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("holder_did", sa.String(500), nullable=False),
        sa.Column("holder_pid", sa.String(200), nullable=False),
        sa.Column("credential_ids", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_credential_requests_holder_did", "credential_requests", ["holder_did"])


def downgrade() -> None:
    op.drop_table("credential_requests")
    op.drop_table("issued_credentials")
    op.drop_table("status_lists")
