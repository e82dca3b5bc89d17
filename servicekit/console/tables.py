"""The console's tables: people's accounts, sessions, API tokens, one-time links and
pending sign-in requests (OpenID4VP), shared by every service's pages.

Each ``*_columns()`` function is frozen: the migration ``sk0002`` builds its table
with it too (see ``tests/test_migrations_frozen.py``).
"""

from __future__ import annotations

import sqlalchemy as sa

from servicekit.db import timestamps

__all__ = [
    "accounts_columns",
    "accounts_table",
    "links_columns",
    "links_table",
    "metadata",
    "sessions_columns",
    "sessions_table",
    "signin_requests_columns",
    "signin_requests_table",
    "tokens_columns",
    "tokens_table",
]


def accounts_columns() -> list[sa.schema.SchemaItem]:
    """A person's account in the organisation that runs the service."""
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_enabled", sa.Boolean, nullable=False),
        sa.Column("totp_last_step", sa.Integer, nullable=True),
        sa.Column("failed_attempts", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.Float, nullable=True),
        *timestamps(),
    ]


def sessions_columns() -> list[sa.schema.SchemaItem]:
    """A browser's session: the cookie is kept only as its SHA-256 hash."""
    return [
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=True),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("organisation", sa.Text, nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        *timestamps(),
        sa.Index("ix_console_sessions_account", "account_id"),
        sa.Index("ix_console_sessions_subject", "subject"),
    ]


def tokens_columns() -> list[sa.schema.SchemaItem]:
    """A named, scoped, expiring API token for machines (kept hashed)."""
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(80), nullable=False, unique=True),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.Column("last_used_at", sa.Float, nullable=True),
        sa.Column("revoked_at", sa.Float, nullable=True),
        *timestamps(),
        sa.Index("ix_console_tokens_account", "account_id"),
    ]


def links_columns() -> list[sa.schema.SchemaItem]:
    """A one-time link (sign-in, invitation, password reset), kept hashed."""
    return [
        sa.Column("link_hash", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("used_at", sa.Float, nullable=True),
        *timestamps(),
    ]


def signin_requests_columns() -> list[sa.schema.SchemaItem]:
    """A pending sign-in with the organisation's credential (OpenID4VP), by its state."""
    return [
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(64), nullable=False, unique=True),
        sa.Column("browser_hash", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request_object", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("expires_at", sa.Float, nullable=False),
        *timestamps(),
    ]


metadata = sa.MetaData()
accounts_table = sa.Table("console_accounts", metadata, *accounts_columns())
sessions_table = sa.Table("console_sessions", metadata, *sessions_columns())
tokens_table = sa.Table("console_tokens", metadata, *tokens_columns())
links_table = sa.Table("console_links", metadata, *links_columns())
signin_requests_table = sa.Table("console_signin_requests", metadata,
                                 *signin_requests_columns())
