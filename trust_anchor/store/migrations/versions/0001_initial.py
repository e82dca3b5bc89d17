"""The trust anchor's first schema: participants, credentials, offers, registry."""

from alembic import op

from trust_anchor.store import tables as t

revision = "ta0001"
down_revision = None


def upgrade() -> None:
    op.create_table("api_keys", *t.api_key_columns())
    op.create_table("challenges", *t.challenge_columns())
    op.create_table("dcp_requests", *t.dcp_request_columns())
    op.create_table("issuers", *t.issuer_columns())
    op.create_table("nonces", *t.nonce_columns())
    op.create_table("participants", *t.participant_columns())
    op.create_table("status_lists", *t.status_list_columns())
    op.create_table("audit_events", *t.audit_event_columns())
    op.create_table("issued_credentials", *t.issued_credential_columns())
    op.create_table("credential_offers", *t.credential_offer_columns())



def downgrade() -> None:
    for table in ("credential_offers", "issued_credentials", "audit_events", "status_lists",
                  "participants", "nonces", "issuers", "dcp_requests", "challenges", "api_keys"):
        op.drop_table(table)  # its indexes go with it
