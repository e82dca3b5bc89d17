"""Purchase credentials: the status lists, the issued credentials, buyers' DCP requests."""

from alembic import op

from marketplace.store import tables as t

revision = "mp0002"
down_revision = "mp0001"


def upgrade() -> None:
    op.create_table("status_lists", *t.status_list_columns())
    op.create_table("issued_credentials", *t.issued_credential_columns())
    op.create_table("credential_requests", *t.credential_request_columns())


def downgrade() -> None:
    op.drop_table("credential_requests")
    op.drop_table("issued_credentials")
    op.drop_table("status_lists")
