"""The connector's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

JSON documents (policies, offers, agreements, data addresses) are stored as
text: both stores handle it alike and nothing queries inside them. Times are
epoch seconds (float). Process rows carry a ``version`` that every update
bumps, so a state change is a compare-and-set (``WHERE state = :expected``):
two replicas can never both move one negotiation.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "agreements",
    "credential_requests",
    "datasets",
    "holder_credentials",
    "membership_applications",
    "metadata",
    "negotiations",
    "offers",
    "outbox",
    "policies",
    "replay_keys",
    "transfers",
]

metadata = sa.MetaData()

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("keywords", sa.Text, nullable=False, default="[]"),
    sa.Column("themes", sa.Text, nullable=False, default="[]"),
    sa.Column("publisher", sa.String(500), nullable=True),
    sa.Column("contact_point", sa.String(500), nullable=True),
    sa.Column("license", sa.String(500), nullable=True),
    sa.Column("access_level", sa.String(20), nullable=False),
    sa.Column("media_type", sa.String(200), nullable=True),
    sa.Column("extra", sa.Text, nullable=False, default="{}"),
    sa.Column("backend", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("title", sa.String(500), nullable=False, default=""),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

offers = sa.Table(
    "offers",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("dataset_id", sa.String(255),
              sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    sa.Column("policy_id", sa.String(255), sa.ForeignKey("policies.id"), nullable=False),
    sa.Column("access_policy_id", sa.String(255), sa.ForeignKey("policies.id"), nullable=True),
    sa.Column("approval", sa.String(20), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_offers_dataset", "dataset_id"),
)


def _process_table(name: str, *items: sa.schema.SchemaItem) -> sa.Table:
    """A DSP process table (negotiations, transfers): ids, state, peer, error, version."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("provider_pid", sa.String(255), nullable=True),
        sa.Column("consumer_pid", sa.String(255), nullable=True),
        sa.Column("counterparty_id", sa.String(500), nullable=False),
        sa.Column("counterparty_address", sa.String(2000), nullable=False),
        sa.Column("dataset_id", sa.String(255), nullable=True),
        *items,
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("error_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, default=0),
        sa.Index(f"ix_{name}_created", "created_at"),
        sa.Index(f"ix_{name}_consumer_pid", "consumer_pid"),
    )


negotiations = _process_table(
    "negotiations",
    sa.Column("offer_id", sa.String(255), nullable=True),
    sa.Column("offer", sa.Text, nullable=True),
    sa.Column("agreement_id", sa.String(255), nullable=True),
    sa.Column("caller", sa.Text, nullable=True),
    sa.Column("awaiting", sa.String(20), nullable=True),
    sa.Index("ix_negotiations_role_state", "role", "state"),
)

agreements = sa.Table(
    "agreements",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("negotiation_id", sa.String(255), nullable=True),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("dataset_id", sa.String(255), nullable=False),
    sa.Column("assigner", sa.String(500), nullable=False),
    sa.Column("assignee", sa.String(500), nullable=False),
    sa.Column("policy", sa.Text, nullable=False),
    sa.Column("counterparty_id", sa.String(500), nullable=False),
    sa.Column("counterparty_address", sa.String(2000), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

transfers = _process_table(
    "transfers",
    sa.Column("agreement_id", sa.String(255), nullable=False),
    sa.Column("format", sa.String(100), nullable=False),
    sa.Column("data_address", sa.Text, nullable=True),
    sa.Column("standing", sa.Text, nullable=True),
    sa.Index("ix_transfers_agreement", "agreement_id"),
)

# Outbound DSP messages, in the order each process produced them. A job per
# row delivers it; a row is sent only once every earlier row of the same
# process has been delivered, so the peer sees messages in order.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("process_kind", sa.String(20), nullable=False),
    sa.Column("process_id", sa.String(255), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("audience", sa.String(500), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("delivered_at", sa.Float, nullable=True),
    sa.Index("ix_outbox_process", "process_id", "status", "id"),
)

# --- DCP: what the verifier remembers and what the holder keeps ----------------------

# Self-issued token ids (jti) the DCP verifier has accepted, shared by every
# replica: a key is recorded once (insert-or-fail) until its token expires,
# so a token replayed to another replica is refused. ``key`` is the SHA-256
# (hex) of issuer and jti; expired rows are purged.
replay_keys = sa.Table(
    "replay_keys",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_replay_keys_expires", "expires_at"),
)

# Our own verifiable credentials (we are their holder): presented through
# our Credential Service only as far as a verifier's access token grants.
holder_credentials = sa.Table(
    "holder_credentials",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("credential_id", sa.String(500), nullable=True),
    sa.Column("types", sa.Text, nullable=False),
    sa.Column("issuer", sa.String(500), nullable=False),
    sa.Column("subject", sa.String(500), nullable=True),
    sa.Column("format", sa.String(40), nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("claims", sa.Text, nullable=False),
    sa.Column("valid_until", sa.Float, nullable=True),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

# Credentials we asked an issuer for over DCP issuance; a delivery to our
# Credential Service is accepted only for a pending request of ours.
credential_requests = sa.Table(
    "credential_requests",
    metadata,
    sa.Column("holder_pid", sa.String(255), primary_key=True),
    sa.Column("issuer_did", sa.String(500), nullable=False),
    sa.Column("credential_types", sa.Text, nullable=False),
    sa.Column("status_url", sa.String(2000), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Our applications for membership at the trust anchor. The status token
# reads the application there; it is never shown by our API.
membership_applications = sa.Table(
    "membership_applications",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("trust_anchor_url", sa.String(2000), nullable=False),
    sa.Column("trust_anchor_did", sa.String(500), nullable=False),
    sa.Column("status_token", sa.String(500), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_membership_created", "created_at"),
)
