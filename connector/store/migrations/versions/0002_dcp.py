"""DCP: replay keys shared by replicas, our credentials, issuance requests, membership."""

from alembic import op

from connector.store import tables as t

revision = "cn0002"
down_revision = "cn0001"


def upgrade() -> None:
    op.create_table("replay_keys", *t.replay_key_columns())
    op.create_table("holder_credentials", *t.holder_credential_columns())
    op.create_table("credential_requests", *t.credential_request_columns())
    op.create_table("membership_applications", *t.membership_application_columns())


def downgrade() -> None:
    op.drop_table("membership_applications")
    op.drop_table("credential_requests")
    op.drop_table("holder_credentials")
    op.drop_index("ix_replay_keys_expires", table_name="replay_keys")
    op.drop_table("replay_keys")
