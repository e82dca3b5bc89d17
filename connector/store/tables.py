"""The connector's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

JSON documents (policies, offers, agreements, data addresses) are stored as
text: both stores handle it alike and nothing queries inside them. Times are
epoch seconds (float). Process rows carry a ``version`` that every update
bumps, so a state change is a compare-and-set (``WHERE state = :expected``):
two replicas can never both move one negotiation.
"""

from __future__ import annotations

import sqlalchemy as sa

from servicekit.db import timestamps

__all__ = [
    "agreement_columns",
    "agreements",
    "credential_request_columns",
    "credential_requests",
    "dataset_columns",
    "datasets",
    "holder_credential_columns",
    "holder_credentials",
    "membership_application_columns",
    "membership_applications",
    "metadata",
    "negotiation_columns",
    "negotiation_decision_columns",
    "negotiation_decisions",
    "negotiations",
    "offer_columns",
    "offers",
    "outbox",
    "outbox_columns",
    "policies",
    "policy_columns",
    "receipt_columns",
    "receipts",
    "replay_key_columns",
    "replay_keys",
    "transfer_columns",
    "transfers",
]

_Items = list[sa.schema.SchemaItem]

# Each table as cn0001 and cn0002 created it; the migration calls these functions too, so they
# are frozen (see servicekit.db): a later column goes after the call, at the end.


def dataset_columns() -> _Items:
    """``datasets``: what the catalog offers, with its DCAT metadata and backend."""
    return [
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
        *timestamps(),
    ]


def policy_columns() -> _Items:
    """``policies``: named ODRL policies (the body is JSON)."""
    return [
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("title", sa.String(500), nullable=False, default=""),
        sa.Column("body", sa.Text, nullable=False),
        *timestamps(),
    ]


def offer_columns() -> _Items:
    """``offers``: a dataset offered under a contract policy (and an access policy)."""
    return [
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("dataset_id", sa.String(255),
                  sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("policy_id", sa.String(255), sa.ForeignKey("policies.id"), nullable=False),
        sa.Column("access_policy_id", sa.String(255), sa.ForeignKey("policies.id"),
                  nullable=True),
        sa.Column("approval", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Index("ix_offers_dataset", "dataset_id"),
    ]


def _process_columns(name: str, *middle: sa.schema.SchemaItem) -> _Items:
    """A DSP process table (negotiations, transfers): ids, state, ``middle``, error, version."""
    return [
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("provider_pid", sa.String(255), nullable=True),
        sa.Column("consumer_pid", sa.String(255), nullable=True),
        *middle,
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("error_reason", sa.Text, nullable=True),
        *timestamps(),
        sa.Column("version", sa.Integer, nullable=False, default=0),
        sa.Index(f"ix_{name}_created", "created_at"),
        sa.Index(f"ix_{name}_consumer_pid", "consumer_pid"),
    ]


def negotiation_columns() -> _Items:
    """``negotiations``: DSP contract negotiations, as consumer or provider."""
    return _process_columns(
        "negotiations",
        sa.Column("counterparty_id", sa.String(500), nullable=False),
        sa.Column("counterparty_address", sa.String(2000), nullable=False),
        sa.Column("dataset_id", sa.String(255), nullable=True),
        sa.Column("offer_id", sa.String(255), nullable=True),
        sa.Column("offer", sa.Text, nullable=True),
        sa.Column("agreement_id", sa.String(255), nullable=True),
        sa.Column("caller", sa.Text, nullable=True),
        sa.Column("awaiting", sa.String(20), nullable=True),
        sa.Index("ix_negotiations_role_state", "role", "state"),
    )


def agreement_columns() -> _Items:
    """``agreements``: the contract agreements negotiations ended in."""
    return [
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
    ]


def transfer_columns() -> _Items:
    """``transfers``: DSP transfer processes under an agreement."""
    return _process_columns(
        "transfers",
        sa.Column("agreement_id", sa.String(255), nullable=False),
        sa.Column("dataset_id", sa.String(255), nullable=True),
        sa.Column("counterparty_id", sa.String(500), nullable=False),
        sa.Column("counterparty_address", sa.String(2000), nullable=False),
        sa.Column("format", sa.String(100), nullable=False),
        sa.Column("data_address", sa.Text, nullable=True),
        sa.Index("ix_transfers_agreement", "agreement_id"),
    )


def outbox_columns() -> _Items:
    """``outbox``: outbound DSP messages, in the order each process produced them.

    A job per row delivers it; a row is sent only once every earlier row of
    the same process has been delivered, so the peer sees messages in order.
    """
    return [
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
    ]


# --- DCP: what the verifier remembers and what the holder keeps ----------------------


def replay_key_columns() -> _Items:
    """``replay_keys``: self-issued token ids (jti) the DCP verifier has accepted.

    Shared by every replica: a key is recorded once (insert-or-fail) until its
    token expires, so a token replayed to another replica is refused. ``key``
    is the SHA-256 (hex) of issuer and jti; expired rows are purged.
    """
    return [
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Index("ix_replay_keys_expires", "expires_at"),
    ]


def holder_credential_columns() -> _Items:
    """``holder_credentials``: our own verifiable credentials (we are their holder).

    Presented through our Credential Service only as far as a verifier's
    access token grants.
    """
    return [
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
    ]


def credential_request_columns() -> _Items:
    """``credential_requests``: credentials we asked an issuer for over DCP issuance.

    A delivery to our Credential Service is accepted only for a pending
    request of ours.
    """
    return [
        sa.Column("holder_pid", sa.String(255), primary_key=True),
        sa.Column("issuer_did", sa.String(500), nullable=False),
        sa.Column("credential_types", sa.Text, nullable=False),
        sa.Column("status_url", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        *timestamps(),
    ]


def membership_application_columns() -> _Items:
    """``membership_applications``: our applications for membership at the trust anchor.

    The status token reads the application there; it is never shown by our API.
    """
    return [
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("trust_anchor_url", sa.String(2000), nullable=False),
        sa.Column("trust_anchor_did", sa.String(500), nullable=False),
        sa.Column("status_token", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        *timestamps(),
        sa.Index("ix_membership_created", "created_at"),
    ]


# --- the owner's console: decisions and receipts (cn0004) -----------------------------


def negotiation_decision_columns() -> _Items:
    """``negotiation_decisions``: who approved or rejected a request, and why.

    Written in the transaction that moves the negotiation, so a decision is
    never stored without its move (nor a move taken by the owner without it).
    """
    return [
        sa.Column("negotiation_id", sa.String(255), primary_key=True),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("approver", sa.String(320), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("decided_at", sa.Float, nullable=False),
    ]


def receipt_columns() -> _Items:
    """``receipts``: signed usage receipts a provider gave us for our (consumer) transfers.

    ``receipt`` is the provider's JWS as received; ``content`` its claims;
    ``verified`` whether its signature was the provider's when we fetched it.
    """
    return [
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("transfer_id", sa.String(255), nullable=False),
        sa.Column("agreement_id", sa.String(255), nullable=True),
        sa.Column("dataset_id", sa.String(255), nullable=True),
        sa.Column("provider_id", sa.String(500), nullable=False),
        sa.Column("receipt", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("problem", sa.Text, nullable=True),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Index("ix_receipts_transfer", "transfer_id", "received_at"),
        sa.Index("ix_receipts_received", "received_at"),
    ]


metadata = sa.MetaData()

datasets = sa.Table(
    "datasets",
    metadata,
    *dataset_columns(),
    sa.Column("owner", sa.String(320), nullable=True),  # cn0004
    sa.Column("retired_at", sa.Float, nullable=True),  # cn0004
)
policies = sa.Table("policies", metadata, *policy_columns())
offers = sa.Table("offers", metadata, *offer_columns())
negotiations = sa.Table("negotiations", metadata, *negotiation_columns())
agreements = sa.Table(
    "agreements",
    metadata,
    *agreement_columns(),
    sa.Column("terminated_at", sa.Float, nullable=True),  # cn0004
    sa.Column("termination_reason", sa.Text, nullable=True),  # cn0004
)
transfers = sa.Table(
    "transfers",
    metadata,
    *transfer_columns(),
    sa.Column("standing", sa.Text, nullable=True),  # cn0003
)
outbox = sa.Table("outbox", metadata, *outbox_columns())
replay_keys = sa.Table("replay_keys", metadata, *replay_key_columns())
holder_credentials = sa.Table("holder_credentials", metadata, *holder_credential_columns())
credential_requests = sa.Table("credential_requests", metadata, *credential_request_columns())
membership_applications = sa.Table(
    "membership_applications", metadata, *membership_application_columns()
)
negotiation_decisions = sa.Table("negotiation_decisions", metadata,
                                 *negotiation_decision_columns())
receipts = sa.Table("receipts", metadata, *receipt_columns())
