"""The trust anchor's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from identity import status_store
from servicekit.types import UtcDateTime

__all__ = [
    "api_key_columns",
    "api_keys",
    "audit_event_columns",
    "audit_events",
    "challenge_columns",
    "challenges",
    "credential_offer_columns",
    "credential_offers",
    "dcp_request_columns",
    "dcp_requests",
    "issued_credential_columns",
    "issued_credentials",
    "issuer_columns",
    "issuers",
    "metadata",
    "nonce_columns",
    "nonces",
    "participant_columns",
    "participants",
    "status_list_columns",
    "status_lists",
]

_Items = list[sa.schema.SchemaItem]

# Each table as ta0001 created it; the migration calls these functions too, so they
# are frozen (see servicekit.db): a later column goes after the call, at the end.


def participant_columns() -> _Items:
    """``participants``: applications for membership and what became of them."""
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("did", sa.String(500), nullable=False),
        sa.Column("legal_name", sa.String(200), nullable=False),
        sa.Column("organisation_number", sa.String(40), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(320), nullable=False),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_token_hash", sa.String(80), nullable=False),
        sa.Column("submitted_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("member_since", UtcDateTime(), nullable=True),
        # One live application per DID: a rejected applicant may apply again.
        sa.Index(
            "ux_participants_live_did",
            "did",
            unique=True,
            sqlite_where=sa.text("state != 'rejected'"),
            postgresql_where=sa.text("state != 'rejected'"),
        ),
    ]


def audit_event_columns() -> _Items:
    """``audit_events``: every transition of an application, who made it and why."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("participant_id", sa.String(36), sa.ForeignKey("participants.id"),
                  nullable=False, index=True),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
    ]


def _single_use(key: str, *columns: sa.Column[Any]) -> _Items:
    """Values (``key``) used once before they expire; ``used`` marks a spent one."""
    return [
        sa.Column(key, sa.String(64), primary_key=True),
        *columns,
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False, default=False),
    ]


def challenge_columns() -> _Items:
    """``challenges``: DID-control challenges handed to applicants."""
    return _single_use("nonce", sa.Column("did", sa.String(500), nullable=False))


def nonce_columns() -> _Items:
    """``nonces``: OID4VCI ``c_nonce`` values for proofs of key possession."""
    return _single_use("value")


def status_list_columns() -> _Items:
    """``status_lists``: the Bitstring status lists and how many of their bits are given."""
    return status_store.status_list_columns()


def issued_credential_columns() -> _Items:
    """``issued_credentials``: what we issued, with its revocation and suspension slots."""
    return [
        *status_store.issued_credential_columns(
            sa.Column("participant_id", sa.String(36), nullable=True, index=True),
            slot_prefix="ux_"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
    ]


def credential_offer_columns() -> _Items:
    """``credential_offers``: OID4VCI pre-authorized offers, their codes and access tokens."""
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("participant_id", sa.String(36), nullable=False, index=True),
        sa.Column("credential_id", sa.String(100), nullable=False),
        sa.Column("configuration_id", sa.String(100), nullable=False),
        sa.Column("code_hash", sa.String(80), nullable=False),
        sa.Column("tx_code_hash", sa.String(80), nullable=True),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("code_used_at", sa.Float, nullable=True),
        sa.Column("access_token_hash", sa.String(80), nullable=True),
        sa.Column("access_token_expires_at", sa.Float, nullable=True),
        sa.Column("delivered_at", sa.Float, nullable=True),
        # Table-level, in the order ta0001 has always declared them.
        sa.ForeignKeyConstraint(["credential_id"], ["issued_credentials.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"]),
        sa.UniqueConstraint("access_token_hash"),
        sa.UniqueConstraint("code_hash"),
    ]


def issuer_columns() -> _Items:
    """``issuers``: the trusted-issuers registry (EBSI TIR v4 entries)."""
    return [
        sa.Column("did", sa.String(500), primary_key=True),
        sa.Column("issuer_type", sa.String(16), nullable=False),
        sa.Column("tao", sa.String(500), nullable=False),
        sa.Column("root_tao", sa.String(500), nullable=False),
        sa.Column("credential_types", sa.Text, nullable=False),
        sa.Column("accreditation", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def api_key_columns() -> _Items:
    """``api_keys``: the operator's API keys (hashes only)."""
    return [
        sa.Column("hash", sa.String(80), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    ]


def dcp_request_columns() -> _Items:
    """``dcp_requests``: DCP credential requests from holders and how they ended."""
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("holder_pid", sa.String(200), nullable=False),
        sa.Column("holder_did", sa.String(500), nullable=False, index=True),
        sa.Column("credential_ids", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


metadata = sa.MetaData()

participants = sa.Table("participants", metadata, *participant_columns())
audit_events = sa.Table(
    "audit_events",
    metadata,
    *audit_event_columns(),
    sa.Column("action", sa.String(32), nullable=True),  # ta0004
    sa.Column("detail", sa.Text, nullable=True),  # ta0004
)
challenges = sa.Table("challenges", metadata, *challenge_columns())
status_lists = sa.Table("status_lists", metadata, *status_list_columns())
issued_credentials = sa.Table("issued_credentials", metadata, *issued_credential_columns())
credential_offers = sa.Table(
    "credential_offers",
    metadata,
    *credential_offer_columns(),
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),  # ta0002
)
nonces = sa.Table("nonces", metadata, *nonce_columns())
issuers = sa.Table("issuers", metadata, *issuer_columns())
api_keys = sa.Table("api_keys", metadata, *api_key_columns())
dcp_requests = sa.Table(
    "dcp_requests",
    metadata,
    *dcp_request_columns(),
    sa.Column("issued", sa.Text, nullable=True),  # ta0003
)
