"""The data plane's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

They live beside the control plane's tables in the connector's database but
under their own migration history (``dataplane_version``), so the two halves
evolve independently. Times are epoch seconds (float).
"""

from __future__ import annotations

import sqlalchemy as sa

from servicekit.db import timestamps

__all__ = [
    "audit",
    "audit_checkpoint_columns",
    "audit_checkpoints",
    "audit_columns",
    "audit_head",
    "audit_head_columns",
    "counter_columns",
    "counters",
    "epoch",
    "epoch_columns",
    "flow_columns",
    "flows",
    "metadata",
    "usage",
    "usage_columns",
    "worker_columns",
    "workers",
]

_Items = list[sa.schema.SchemaItem]

# Each table as dp0001 created it; the migration calls these functions too, so they
# are frozen (see servicekit.db): a later column goes after the call, at the end.


def flow_columns() -> _Items:
    """``dp_flows``: one row per transfer the data plane serves (or served)."""
    return [
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
        *timestamps(),
    ]


def epoch_columns() -> _Items:
    """``dp_epoch``: the revocation epoch, bumped by every change of a flow (one row, id 1)."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("epoch", sa.BigInteger, nullable=False),
    ]


def worker_columns() -> _Items:
    """``dp_workers``: live data-plane workers and the epoch each has applied (heartbeat)."""
    return [
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("seen_epoch", sa.BigInteger, nullable=False),
        sa.Column("heartbeat", sa.Float, nullable=False),
    ]


def counter_columns() -> _Items:
    """``dp_counters``: usage a policy limits, one row per agreement and counting window."""
    return [
        sa.Column("key", sa.String(320), primary_key=True),
        sa.Column("agreement_id", sa.String(255), nullable=False),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("limit_n", sa.BigInteger, nullable=False),
        sa.Column("allocated", sa.BigInteger, nullable=False),
        sa.Column("last_take", sa.BigInteger, nullable=False),
        sa.Column("consumed", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    ]


def audit_columns() -> _Items:
    """``dp_audit``: the hash-chained audit log."""
    return [
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("transfer_id", sa.String(255), nullable=True, index=True),
        sa.Column("agreement_id", sa.String(255), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    ]


def audit_head_columns() -> _Items:
    """``dp_audit_head``: the head of the chain (one row, id 1); appenders lock it."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("checkpoint_seq", sa.BigInteger, nullable=False),
        sa.Column("checkpoint_at", sa.Float, nullable=False),
    ]


def audit_checkpoint_columns() -> _Items:
    """``dp_audit_checkpoints``: the connector's signatures over (seq, hash) of the chain."""
    return [
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("jws", sa.Text, nullable=False),
    ]


def usage_columns() -> _Items:
    """``dp_usage``: metered usage per agreement, transfer and time bucket."""
    return [
        sa.Column("agreement_id", sa.String(255), primary_key=True),
        sa.Column("transfer_id", sa.String(255), primary_key=True),
        sa.Column("bucket_start", sa.Float, primary_key=True),
        sa.Column("consumer_id", sa.String(500), nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("failures", sa.BigInteger, nullable=False),
        sa.Column("billable", sa.Boolean, nullable=False),
        sa.Column("reported", sa.Boolean, nullable=False, server_default=sa.false()),
    ]


metadata = sa.MetaData()

flows = sa.Table(
    "dp_flows",
    metadata,
    *flow_columns(),
    sa.Column("credentials", sa.Text, nullable=True),  # dp0002
    sa.Column("consumer_pid", sa.String(255), nullable=True),  # dp0003
)
epoch = sa.Table("dp_epoch", metadata, *epoch_columns())
workers = sa.Table("dp_workers", metadata, *worker_columns())
counters = sa.Table("dp_counters", metadata, *counter_columns())
audit = sa.Table("dp_audit", metadata, *audit_columns())
audit_head = sa.Table("dp_audit_head", metadata, *audit_head_columns())
audit_checkpoints = sa.Table("dp_audit_checkpoints", metadata, *audit_checkpoint_columns())
usage = sa.Table("dp_usage", metadata, *usage_columns())
