"""Data plane: flows, revocation epoch, workers, counters, audit chain, usage buckets."""

import sqlalchemy as sa
from alembic import op

revision = "dp0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "dp_flows",
        sa.Column("transfer_id", sa.String(255), primary_key=True),
        sa.Column("agreement_id", sa.String(255), nullable=False, index=True),
        sa.Column("dataset_id", sa.String(255), nullable=False),
        sa.Column("consumer_id", sa.String(500), nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("backend", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("epoch", sa.BigInteger, nullable=False, index=True),
        sa.Column("agreed_at", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "dp_epoch",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("epoch", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(sa.table("dp_epoch", sa.column("id"), sa.column("epoch")),
                   [{"id": 1, "epoch": 0}])
    op.create_table(
        "dp_workers",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("seen_epoch", sa.BigInteger, nullable=False),
        sa.Column("heartbeat", sa.Float, nullable=False),
    )
    op.create_table(
        "dp_counters",
        sa.Column("key", sa.String(320), primary_key=True),
        sa.Column("agreement_id", sa.String(255), nullable=False),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("limit_n", sa.BigInteger, nullable=False),
        sa.Column("allocated", sa.BigInteger, nullable=False),
        sa.Column("last_take", sa.BigInteger, nullable=False),
        sa.Column("consumed", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "dp_audit",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("transfer_id", sa.String(255), nullable=True, index=True),
        sa.Column("agreement_id", sa.String(255), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "dp_audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("checkpoint_seq", sa.BigInteger, nullable=False),
        sa.Column("checkpoint_at", sa.Float, nullable=False),
    )
    op.bulk_insert(
        sa.table("dp_audit_head", sa.column("id"), sa.column("seq"), sa.column("hash"),
                 sa.column("checkpoint_seq"), sa.column("checkpoint_at")),
        [{"id": 1, "seq": 0, "hash": "0" * 64, "checkpoint_seq": 0, "checkpoint_at": 0.0}],
    )
    op.create_table(
        "dp_audit_checkpoints",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("jws", sa.Text, nullable=False),
    )
    op.create_table(
        "dp_usage",
        sa.Column("agreement_id", sa.String(255), primary_key=True),
        sa.Column("transfer_id", sa.String(255), primary_key=True),
        sa.Column("bucket_start", sa.Float, primary_key=True),
        sa.Column("consumer_id", sa.String(500), nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("failures", sa.BigInteger, nullable=False),
        sa.Column("billable", sa.Boolean, nullable=False),
        sa.Column("reported", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    for table in ("dp_usage", "dp_audit_checkpoints", "dp_audit_head", "dp_audit",
                  "dp_counters", "dp_workers", "dp_epoch", "dp_flows"):
        op.drop_table(table)
