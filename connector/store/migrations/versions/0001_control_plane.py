"""Control plane: catalog (datasets, policies, offers), negotiations, agreements, transfers, outbox."""

from alembic import op

from connector.store import tables as t

revision = "cn0001"
down_revision = None


def upgrade() -> None:
    op.create_table("datasets", *t.dataset_columns())
    op.create_table("policies", *t.policy_columns())
    op.create_table("offers", *t.offer_columns())
    op.create_table("negotiations", *t.negotiation_columns())
    op.create_table("agreements", *t.agreement_columns())
    op.create_table("transfers", *t.transfer_columns())
    op.create_table("outbox", *t.outbox_columns())


def downgrade() -> None:
    for table in ("outbox", "transfers", "agreements", "negotiations", "offers", "policies",
                  "datasets"):
        op.drop_table(table)
