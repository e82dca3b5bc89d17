"""The console's store: accounts, sessions, tokens, links and sign-in requests (SQLAlchemy Core)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.console.tables import (
    accounts_table,
    links_table,
    sessions_table,
    signin_requests_table,
    tokens_table,
)
from servicekit.rows import record

__all__ = [
    "Account",
    "ApiToken",
    "ConsoleStore",
    "Link",
    "PendingSignins",
    "SessionRow",
    "SigninRequest",
]


@dataclass(frozen=True)
class Account:
    """A person's account."""

    id: str
    email: str
    name: str
    password_hash: str | None
    roles: tuple[str, ...]
    status: str  # invited | active | disabled
    totp_secret: str | None
    totp_enabled: bool
    totp_last_step: int | None
    failed_attempts: int
    locked_until: float | None
    created_at: float
    updated_at: float

    def public(self) -> dict[str, Any]:
        """What the API shows of the account (no secrets)."""
        return {"id": self.id, "email": self.email, "name": self.name, "roles": list(self.roles),
                "status": self.status, "totp": self.totp_enabled,
                "locked": self.locked_until is not None, "created_at": self.created_at}


@dataclass(frozen=True)
class SessionRow:
    """A stored session."""

    id_hash: str
    kind: str  # person | organisation
    account_id: str | None
    subject: str
    name: str
    roles: tuple[str, ...]
    organisation: dict[str, Any] | None
    stage: str  # full | totp | password (must set a password first)
    csrf: str
    expires_at: float
    last_seen: float
    created_at: float


@dataclass(frozen=True)
class ApiToken:
    """A stored API token (its hash only)."""

    id: str
    account_id: str
    name: str
    token_hash: str
    scopes: tuple[str, ...]
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None
    created_at: float

    def public(self) -> dict[str, Any]:
        """What lists show of the token."""
        return {"id": self.id, "name": self.name, "scopes": list(self.scopes),
                "expires_at": self.expires_at, "last_used_at": self.last_used_at,
                "revoked": self.revoked_at is not None, "created_at": self.created_at}


@dataclass(frozen=True)
class Link:
    """A one-time link."""

    link_hash: str
    purpose: str
    account_id: str
    expires_at: float
    used_at: float | None


@dataclass(frozen=True)
class SigninRequest:
    """A pending OpenID4VP sign-in."""

    state: str
    nonce: str
    browser_hash: str | None
    status: str
    request_object: str
    result: dict[str, Any] | None
    expires_at: float


class _RowView:
    """Attribute access over a mapping, as a database row gives."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _account(row: Any) -> Account:
    return record(Account, row, roles=tuple(json.loads(row.roles)))


def _session(row: Any) -> SessionRow:
    return record(SessionRow, row, roles=tuple(json.loads(row.roles)),
                  organisation=json.loads(row.organisation) if row.organisation else None)


def _token(row: Any) -> ApiToken:
    return record(ApiToken, row, scopes=tuple(json.loads(row.scopes)))


class ConsoleStore:
    """All the console's SQL, on SQLite and PostgreSQL alike."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # --- accounts -------------------------------------------------------------------

    async def add_account(self, values: dict[str, Any]) -> Account | None:
        """Insert an account; None when the email is taken."""
        values = {**values, "roles": json.dumps(sorted(values["roles"]))}
        try:
            async with self._engine.begin() as conn:
                await conn.execute(accounts_table.insert().values(**values))
        except sa.exc.IntegrityError:
            return None
        return await self.account(values["id"])

    async def account(self, account_id: str) -> Account | None:
        """The account with this id."""
        return await self._one_account(accounts_table.c.id == account_id)

    async def account_by_email(self, email: str) -> Account | None:
        """The account with this email (compared case-insensitively)."""
        return await self._one_account(sa.func.lower(accounts_table.c.email) == email.lower())

    async def _one_account(self, where: Any) -> Account | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(accounts_table).where(where))).first()
        return _account(row) if row else None

    async def accounts(self) -> list[Account]:
        """Every account, by email."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(accounts_table).order_by(accounts_table.c.email))
        return [_account(row) for row in rows]


    async def update_account(self, account_id: str, **values: Any) -> None:
        """Set columns of an account."""
        if "roles" in values:
            values["roles"] = json.dumps(sorted(values["roles"]))
        async with self._engine.begin() as conn:
            await conn.execute(accounts_table.update()
                               .where(accounts_table.c.id == account_id).values(**values))

    async def record_failure(self, account_id: str, *, now: float, limit: int,
                             lock_seconds: float) -> None:
        """Count a failed attempt; lock the account when ``limit`` is reached."""
        async with self._engine.begin() as conn:
            failed = (await conn.execute(
                accounts_table.update().where(accounts_table.c.id == account_id)
                .values(failed_attempts=accounts_table.c.failed_attempts + 1, updated_at=now)
                .returning(accounts_table.c.failed_attempts))).scalar_one()
            if failed >= limit:
                await conn.execute(accounts_table.update()
                                   .where(accounts_table.c.id == account_id)
                                   .values(locked_until=now + lock_seconds, failed_attempts=0))

    # --- sessions -------------------------------------------------------------------

    async def add_session(self, values: dict[str, Any]) -> None:
        """Insert a session."""
        values = {**values, "roles": json.dumps(sorted(values["roles"])),
                  "organisation": json.dumps(values["organisation"])
                  if values.get("organisation") else None}
        async with self._engine.begin() as conn:
            await conn.execute(sessions_table.insert().values(**values))

    async def session(self, id_hash: str) -> SessionRow | None:
        """The session with this hash."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(sessions_table)
                                      .where(sessions_table.c.id_hash == id_hash))).first()
        return _session(row) if row else None

    async def session_and_status(self, id_hash: str) -> tuple[SessionRow, str | None] | None:
        """The session with this hash and its account's status (None for an organisation's
        session, "missing" when its account is gone), in one query."""
        query = (sa.select(sessions_table, accounts_table.c.status.label("account_status"))
                 .select_from(sessions_table.outerjoin(
                     accounts_table, accounts_table.c.id == sessions_table.c.account_id))
                 .where(sessions_table.c.id_hash == id_hash))
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        status = row.account_status if row.account_id is None or row.account_status \
            else "missing"
        return _session(row), status

    async def touch_session(self, id_hash: str, now: float) -> None:
        """Note the session was used."""
        async with self._engine.begin() as conn:
            await conn.execute(sessions_table.update().where(sessions_table.c.id_hash == id_hash)
                               .values(last_seen=now))

    async def delete_session(self, id_hash: str) -> None:
        """End one session."""
        async with self._engine.begin() as conn:
            await conn.execute(sessions_table.delete().where(sessions_table.c.id_hash == id_hash))

    async def delete_sessions(self, *, account_id: str | None = None,
                              subject: str | None = None) -> int:
        """End every session of an account (or of a subject); how many ended."""
        where = (sessions_table.c.account_id == account_id if account_id is not None
                 else sessions_table.c.subject == subject)
        async with self._engine.begin() as conn:
            return (await conn.execute(sessions_table.delete().where(where))).rowcount

    async def sessions_of(self, account_id: str) -> list[SessionRow]:
        """An account's live sessions, newest first."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(sessions_table)
                                      .where(sessions_table.c.account_id == account_id)
                                      .order_by(sessions_table.c.created_at.desc()))
        return [_session(row) for row in rows]

    async def purge(self, now: float) -> None:
        """Forget expired sessions, links and sign-in requests."""
        async with self._engine.begin() as conn:
            await conn.execute(sessions_table.delete().where(sessions_table.c.expires_at < now))
            await conn.execute(links_table.delete().where(links_table.c.expires_at < now))
            await conn.execute(signin_requests_table.delete()
                               .where(signin_requests_table.c.expires_at < now - 3600))

    # --- API tokens -------------------------------------------------------------------

    async def add_token(self, values: dict[str, Any]) -> None:
        """Insert a token."""
        values = {**values, "scopes": json.dumps(sorted(values["scopes"]))}
        async with self._engine.begin() as conn:
            await conn.execute(tokens_table.insert().values(**values))


    async def token_and_account(self, token_hash: str) -> tuple[ApiToken, Account] | None:
        """The token with this hash and its account, in one query."""
        account_columns = [c.label(f"acct__{c.name}") for c in accounts_table.c]
        query = (sa.select(tokens_table, *account_columns)
                 .join(accounts_table, accounts_table.c.id == tokens_table.c.account_id)
                 .where(tokens_table.c.token_hash == token_hash))
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        mapping = row._mapping
        account = _account(_RowView({c.name: mapping[f"acct__{c.name}"]
                                   for c in accounts_table.c}))
        return _token(row), account

    async def tokens(self, account_id: str | None = None) -> list[ApiToken]:
        """Tokens (of one account), newest first."""
        query = sa.select(tokens_table).order_by(tokens_table.c.created_at.desc())
        if account_id is not None:
            query = query.where(tokens_table.c.account_id == account_id)
        async with self._engine.connect() as conn:
            return [_token(row) for row in await conn.execute(query)]

    async def token(self, token_id: str) -> ApiToken | None:
        """The token with this id."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(tokens_table)
                                      .where(tokens_table.c.id == token_id))).first()
        return _token(row) if row else None

    async def update_token(self, token_id: str, **values: Any) -> None:
        """Set columns of a token."""
        async with self._engine.begin() as conn:
            await conn.execute(tokens_table.update().where(tokens_table.c.id == token_id)
                               .values(**values))

    # --- one-time links -----------------------------------------------------------------

    async def add_link(self, values: dict[str, Any]) -> None:
        """Insert a link."""
        async with self._engine.begin() as conn:
            await conn.execute(links_table.insert().values(**values))

    async def link(self, link_hash: str) -> Link | None:
        """The link with this hash."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(links_table)
                                      .where(links_table.c.link_hash == link_hash))).first()
        return record(Link, row) if row else None

    async def use_link(self, link_hash: str, now: float) -> bool:
        """Mark the link used; False when it was used already (compare and set)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                links_table.update().where(links_table.c.link_hash == link_hash,
                                           links_table.c.used_at.is_(None),
                                           links_table.c.expires_at >= now)
                .values(used_at=now, updated_at=now))
        return result.rowcount == 1

    # --- OpenID4VP sign-in requests (the verifier's pending store) ------------------------

    async def add_signin_request(self, values: dict[str, Any]) -> None:
        """Insert a pending request."""
        async with self._engine.begin() as conn:
            await conn.execute(signin_requests_table.insert().values(**values))

    async def signin_request(self, state: str) -> SigninRequest | None:
        """The request with this state."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(signin_requests_table)
                                      .where(signin_requests_table.c.state == state))).first()
        if row is None:
            return None
        return record(SigninRequest, row,
                      result=json.loads(row.result) if row.result else None)

    async def finish_signin_request(self, state: str, status: str, result: dict[str, Any],
                                    now: float) -> bool:
        """Pending -> ``status`` with ``result``; False when it was not pending."""
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                signin_requests_table.update()
                .where(signin_requests_table.c.state == state,
                       signin_requests_table.c.status == "pending")
                .values(status=status, result=json.dumps(result), updated_at=now))
        return changed.rowcount == 1

    async def bind_signin_request(self, state: str, browser_hash: str) -> None:
        """Tie a request to the browser that started it (only that browser signs in)."""
        async with self._engine.begin() as conn:
            await conn.execute(signin_requests_table.update()
                               .where(signin_requests_table.c.state == state)
                               .values(browser_hash=browser_hash))

    async def claim_signin_request(self, state: str, now: float) -> bool:
        """done -> claimed: the browser turned the result into a session, once."""
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                signin_requests_table.update()
                .where(signin_requests_table.c.state == state,
                       signin_requests_table.c.status == "done")
                .values(status="claimed", updated_at=now))
        return changed.rowcount == 1


class PendingSignins:
    """The OpenID4VP verifier's pending store, on the console's table.

    It has the shape ``identity.oid4vp.PendingStore`` asks for (``create``,
    ``get``, ``finish``); records are read by attribute.
    """

    def __init__(self, store: ConsoleStore, clock: Any) -> None:
        self._store = store
        self._clock = clock

    async def create(self, record: Any) -> None:
        """Keep a new pending request."""
        now = self._clock()
        await self._store.add_signin_request({
            "state": record.state, "nonce": record.nonce, "browser_hash": None,
            "status": record.status, "request_object": record.request_object,
            "result": json.dumps(record.result) if record.result is not None else None,
            "expires_at": record.expires_at, "created_at": now, "updated_at": now})

    async def get(self, state: str) -> SigninRequest | None:
        """The request with this state."""
        return await self._store.signin_request(state)

    async def finish(self, state: str, status: str, result: dict[str, Any]) -> bool:
        """Pending -> ``status``; False when it was not pending (a replay)."""
        return await self._store.finish_signin_request(state, status, result, self._clock())
