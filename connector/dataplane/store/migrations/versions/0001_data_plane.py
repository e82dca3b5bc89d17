"""Data plane: flows, revocation epoch, workers, counters, audit chain, usage buckets."""

import sqlalchemy as sa
from alembic import op

from connector.dataplane.store import tables as t

revision = "dp0001"
down_revision = None


def upgrade() -> None:
    op.create_table("dp_flows", *t.flow_columns())
    op.create_table("dp_epoch", *t.epoch_columns())
    op.bulk_insert(sa.table("dp_epoch", sa.column("id"), sa.column("epoch")),
                   [{"id": 1, "epoch": 0}])
    op.create_table("dp_workers", *t.worker_columns())
    op.create_table("dp_counters", *t.counter_columns())
    op.create_table("dp_audit", *t.audit_columns())
    op.create_table("dp_audit_head", *t.audit_head_columns())
    op.bulk_insert(
        sa.table("dp_audit_head", sa.column("id"), sa.column("seq"), sa.column("hash"),
                 sa.column("checkpoint_seq"), sa.column("checkpoint_at")),
        [{"id": 1, "seq": 0, "hash": "0" * 64, "checkpoint_seq": 0, "checkpoint_at": 0.0}],
    )
    op.create_table("dp_audit_checkpoints", *t.audit_checkpoint_columns())
    op.create_table("dp_usage", *t.usage_columns())


def downgrade() -> None:
    for table in ("dp_usage", "dp_audit_checkpoints", "dp_audit_head", "dp_audit",
                  "dp_counters", "dp_workers", "dp_epoch", "dp_flows"):
        op.drop_table(table)
