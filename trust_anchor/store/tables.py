"""Table definitions (the migrations create exactly these)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from servicekit.types import UtcDateTime

__all__ = [
    "api_keys",
    "audit_events",
    "challenges",
    "credential_offers",
    "dcp_requests",
    "issued_credentials",
    "issuers",
    "metadata",
    "nonces",
    "participants",
    "status_lists",
]

metadata = sa.MetaData()

participants = sa.Table(
    "participants",
    metadata,
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
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("participant_id", sa.String(36), sa.ForeignKey("participants.id"), nullable=False,
              index=True),
    sa.Column("from_state", sa.String(16), nullable=True),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("at", UtcDateTime(), nullable=False),
)


def _single_use(name: str, key: str, *columns: sa.Column[Any]) -> sa.Table:
    """A table of values (``key``) used once before they expire; ``used`` marks a spent one."""
    return sa.Table(
        name,
        metadata,
        sa.Column(key, sa.String(64), primary_key=True),
        *columns,
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False, default=False),
    )


#: DID-control challenges handed to applicants.
challenges = _single_use("challenges", "nonce", sa.Column("did", sa.String(500), nullable=False))

status_lists = sa.Table(
    "status_lists",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("bits", sa.LargeBinary, nullable=False),
    sa.Column("allocated", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

issued_credentials = sa.Table(
    "issued_credentials",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("participant_id", sa.String(36), sa.ForeignKey("participants.id"), nullable=True,
              index=True),
    sa.Column("subject_did", sa.String(500), nullable=False, index=True),
    sa.Column("credential_type", sa.String(100), nullable=False),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("issued_at", UtcDateTime(), nullable=False),
    sa.Column("valid_until", UtcDateTime(), nullable=True),
    sa.Column("revocation_list", sa.String(64), nullable=False),
    sa.Column("revocation_index", sa.Integer, nullable=False),
    sa.Column("suspension_list", sa.String(64), nullable=False),
    sa.Column("suspension_index", sa.Integer, nullable=False),
    sa.UniqueConstraint("revocation_list", "revocation_index", name="ux_revocation_slot"),
    sa.UniqueConstraint("suspension_list", "suspension_index", name="ux_suspension_slot"),
)

credential_offers = sa.Table(
    "credential_offers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("participant_id", sa.String(36), sa.ForeignKey("participants.id"), nullable=False,
              index=True),
    sa.Column("credential_id", sa.String(100), sa.ForeignKey("issued_credentials.id"),
              nullable=False),
    sa.Column("configuration_id", sa.String(100), nullable=False),
    sa.Column("code_hash", sa.String(80), nullable=False, unique=True),
    sa.Column("tx_code_hash", sa.String(80), nullable=True),
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("code_used_at", sa.Float, nullable=True),
    sa.Column("access_token_hash", sa.String(80), nullable=True, unique=True),
    sa.Column("access_token_expires_at", sa.Float, nullable=True),
    sa.Column("delivered_at", sa.Float, nullable=True),
)

#: OID4VCI ``c_nonce`` values for proofs of key possession.
nonces = _single_use("nonces", "value")

issuers = sa.Table(
    "issuers",
    metadata,
    sa.Column("did", sa.String(500), primary_key=True),
    sa.Column("issuer_type", sa.String(16), nullable=False),
    sa.Column("tao", sa.String(500), nullable=False),
    sa.Column("root_tao", sa.String(500), nullable=False),
    sa.Column("credential_types", sa.Text, nullable=False),
    sa.Column("accreditation", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("hash", sa.String(80), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

dcp_requests = sa.Table(
    "dcp_requests",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("holder_pid", sa.String(200), nullable=False),
    sa.Column("holder_did", sa.String(500), nullable=False, index=True),
    sa.Column("credential_ids", sa.Text, nullable=False),
    sa.Column("issued", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)
