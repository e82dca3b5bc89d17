"""The data plane's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

They live beside the control plane's tables in the connector's database but
under their own migration history (``dataplane_version``), so the two halves
evolve independently. Times are epoch seconds (float).
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "audit",
    "audit_checkpoints",
    "audit_head",
    "counters",
    "epoch",
    "flows",
    "metadata",
    "usage",
    "workers",
]

metadata = sa.MetaData()

#: One row per transfer the data plane serves (or served).
flows = sa.Table(
    "dp_flows",
    metadata,
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
    sa.Column("credentials", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("consumer_pid", sa.String(255), nullable=True),
)

#: The revocation epoch: bumped by every change of a flow (one row, id 1).
epoch = sa.Table(
    "dp_epoch",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("epoch", sa.BigInteger, nullable=False),
)

#: Live data-plane workers and the epoch each has applied (heartbeat).
workers = sa.Table(
    "dp_workers",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("seen_epoch", sa.BigInteger, nullable=False),
    sa.Column("heartbeat", sa.Float, nullable=False),
)

#: Usage counters a policy limits: one row per agreement and counting window.
counters = sa.Table(
    "dp_counters",
    metadata,
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("agreement_id", sa.String(255), nullable=False),
    sa.Column("window_start", sa.Float, nullable=False),
    sa.Column("limit_n", sa.BigInteger, nullable=False),
    sa.Column("allocated", sa.BigInteger, nullable=False),
    sa.Column("last_take", sa.BigInteger, nullable=False),
    sa.Column("consumed", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

#: The hash-chained audit log.
audit = sa.Table(
    "dp_audit",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("transfer_id", sa.String(255), nullable=True, index=True),
    sa.Column("agreement_id", sa.String(255), nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

#: The head of the chain (one row, id 1): appenders lock it, so the chain is one sequence.
audit_head = sa.Table(
    "dp_audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("checkpoint_seq", sa.BigInteger, nullable=False),
    sa.Column("checkpoint_at", sa.Float, nullable=False),
)

#: Signed checkpoints: the connector's signature over (seq, hash) of the chain.
audit_checkpoints = sa.Table(
    "dp_audit_checkpoints",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("jws", sa.Text, nullable=False),
)

#: Metered usage per agreement, transfer and time bucket.
usage = sa.Table(
    "dp_usage",
    metadata,
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
