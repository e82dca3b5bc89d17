"""Shared tables: the durable job queue."""

from alembic import op

from servicekit.jobs import jobs_columns

revision = "sk0001"
down_revision = None


def upgrade() -> None:
    op.create_table("jobs", *jobs_columns())


def downgrade() -> None:
    op.drop_table("jobs")
