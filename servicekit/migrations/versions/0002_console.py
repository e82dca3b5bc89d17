"""Shared tables: the consoles' accounts, sessions, API tokens, links and sign-in requests."""

from alembic import op

from servicekit.console.tables import (
    accounts_columns,
    links_columns,
    sessions_columns,
    signin_requests_columns,
    tokens_columns,
)

revision = "sk0002"
down_revision = "sk0001"

_TABLES = {
    "console_accounts": accounts_columns,
    "console_sessions": sessions_columns,
    "console_tokens": tokens_columns,
    "console_links": links_columns,
    "console_signin_requests": signin_requests_columns,
}


def upgrade() -> None:
    for name, columns in _TABLES.items():
        op.create_table(name, *columns())


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
