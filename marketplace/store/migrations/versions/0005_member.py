"""The marketplace as a member: its credentials, DCP requests, application, harvested datasets."""

from alembic import op

from marketplace.store import tables as t

revision = "mp0005"
down_revision = "mp0004"


def upgrade() -> None:
    op.create_table("holder_credentials", *t.holder_credential_columns())
    op.create_table("holder_requests", *t.holder_request_columns())
    op.create_table("membership_applications", *t.membership_application_columns())
    op.create_table("harvested_datasets", *t.harvested_dataset_columns())


def downgrade() -> None:
    for table in ("harvested_datasets", "membership_applications", "holder_requests",
                  "holder_credentials"):
        op.drop_table(table)
