"""The console's use cases: accounts, sign-in, sessions, one-time links and API tokens.

One :class:`Console` per service, over its :class:`~servicekit.console.store.ConsoleStore`.
A session is a random cookie kept only hashed; it is opened after the password
(stage ``totp`` until the second factor is given, ``password`` until an invited
person sets one) and a fresh one is issued at every sign-in, so a cookie planted
before sign-in is worth nothing. Logging out everywhere deletes every session of
the person (or organisation).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import segno

from servicekit.clock import Clock, system_clock
from servicekit.console.config import SCOPES, ConsoleConfig, ConsoleSettings
from servicekit.console.errors import (
    AccountNotFound,
    CodeRefused,
    EmailTaken,
    LinkInvalid,
    PasswordRefused,
    RoleUnknown,
    ScopeRequired,
    SignInFailed,
)
from servicekit.console.keys import ApiCaller
from servicekit.console.mail import Mailer
from servicekit.console.secrets import (
    PasswordPolicy,
    new_token,
    token_hash,
    totp_code_ok,
    totp_new_secret,
    totp_uri,
)
from servicekit.console.store import Account, ApiToken, ConsoleStore, SessionRow
from servicekit.errors import InvalidRequest, NotFound, Unauthorized

__all__ = ["TOKEN_PREFIX", "ApiCaller", "Console", "Principal"]

#: How often expired sessions, links and sign-in requests are deleted (at a sign-in).
_PURGE_SECONDS = 3600

#: API tokens start with this, so a leaked one is recognisable (and told apart from admin keys).
TOKEN_PREFIX = "dst_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True)
class Principal:
    """Who is signed in to a page: a person, or an organisation by its credential."""

    kind: str  # person | organisation
    subject: str  # the email, or the organisation's DID
    name: str
    roles: frozenset[str]
    account_id: str | None
    organisation: dict[str, Any] | None
    csrf: str
    session_hash: str
    stage: str

    def has(self, *roles: str) -> bool:
        """Whether the principal holds one of ``roles`` (admins hold every role)."""
        return "admin" in self.roles or any(role in self.roles for role in roles)


def _principal(row: SessionRow) -> Principal:
    return Principal(kind=row.kind, subject=row.subject, name=row.name,
                     roles=frozenset(row.roles), account_id=row.account_id,
                     organisation=row.organisation, csrf=row.csrf, session_hash=row.id_hash,
                     stage=row.stage)


class Console:
    """Accounts, sessions, links and tokens of one service."""

    def __init__(self, store: ConsoleStore, config: ConsoleConfig, settings: ConsoleSettings,
                 *, mailer: Mailer, clock: Clock = system_clock) -> None:
        self.store = store
        self.config = config
        self.settings = settings
        self.mailer = mailer
        #: The console's clock (tests put a fake one here).
        self.clock = clock
        self._purged_at = 0.0
        # session hash -> when its organisation's credential was last found valid
        self._organisation_checked: dict[str, float] = {}
        self._passwords = PasswordPolicy(time_cost=settings.password_time_cost,
                                         memory_kib=settings.password_memory_kib)

    def now(self) -> float:
        """The console's clock."""
        return self.clock()

    # --- accounts -----------------------------------------------------------------------

    def _check_roles(self, roles: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        allowed = {role.name for role in self.config.people_roles()}
        unknown = [role for role in roles if role not in allowed]
        if unknown or not roles:
            names = ", ".join(role.name for role in self.config.people_roles())
            raise RoleUnknown(f"roles must be some of: {names}" if not unknown
                              else f"unknown role {unknown[0]!r}; roles are: {names}")
        return tuple(sorted(set(roles)))

    async def create_account(self, email: str, name: str, roles: list[str] | tuple[str, ...]
                             ) -> Account:
        """A new account, invited (it has no password yet). Emails are kept in lower case,
        so ``Ada@…`` and ``ada@…`` are one account."""
        email = email.strip().lower()
        if "@" not in email or len(email) > 320 or not name.strip():
            raise InvalidRequest("an account needs an email address and a name",
                                 code="account-invalid")
        now = self.now()
        account = await self.store.add_account({
            "id": str(uuid.uuid4()), "email": email, "name": name.strip()[:200],
            "password_hash": None, "roles": self._check_roles(roles), "status": "invited",
            "totp_secret": None, "totp_enabled": False, "totp_last_step": None,
            "failed_attempts": 0, "locked_until": None, "created_at": now, "updated_at": now,
        })
        if account is None:
            raise EmailTaken(f"an account for {email} exists")
        return account

    async def account(self, account_id: str) -> Account:
        """The account, or 404."""
        account = await self.store.account(account_id)
        if account is None:
            raise AccountNotFound(f"no account {account_id}")
        return account

    async def set_roles(self, account_id: str, roles: list[str]) -> Account:
        """Change an account's roles (its sessions end, so the new roles apply at once)."""
        await self.account(account_id)
        await self.store.update_account(account_id, roles=self._check_roles(roles),
                                        updated_at=self.now())
        await self.store.delete_sessions(account_id=account_id)
        return await self.account(account_id)

    async def set_status(self, account_id: str, *, enabled: bool) -> Account:
        """Disable (its sessions and tokens stop working) or enable an account."""
        account = await self.account(account_id)
        status = ("active" if account.password_hash else "invited") if enabled else "disabled"
        await self.store.update_account(account_id, status=status, updated_at=self.now(),
                                        failed_attempts=0, locked_until=None)
        if not enabled:
            await self.store.delete_sessions(account_id=account_id)
        return await self.account(account_id)

    # --- one-time links -----------------------------------------------------------------

    async def new_link(self, account_id: str, purpose: str, base_url: str) -> str:
        """A one-time link (``signin``, ``invite`` or ``reset``) for the account."""
        token = new_token()
        now = self.now()
        seconds = (self.settings.reset_minutes * 60 if purpose == "reset"
                   else self.settings.link_hours * 3600)
        await self.store.add_link({"link_hash": token_hash(token), "purpose": purpose,
                                   "account_id": account_id, "expires_at": now + seconds,
                                   "used_at": None, "created_at": now, "updated_at": now})
        return f"{base_url}{self.config.url('/link/')}{token}"

    async def peek_link(self, token: str) -> tuple[str, Account]:
        """The link's purpose and account, without using it (401 if not valid)."""
        link = await self.store.link(token_hash(token))
        if link is None or link.used_at is not None or link.expires_at < self.now():
            raise LinkInvalid("this link is not valid: it was used, it expired, or it never "
                              "existed; ask for a new one")
        account = await self.store.account(link.account_id)
        if account is None or account.status == "disabled":
            raise LinkInvalid("this link's account is disabled")
        return link.purpose, account

    async def use_link(self, token: str) -> tuple[str, Account]:
        """Use the link once: its purpose and account."""
        purpose, account = await self.peek_link(token)
        if not await self.store.use_link(token_hash(token), self.now()):
            raise LinkInvalid("this link was used already")
        return purpose, account

    async def invite(self, email: str, name: str, roles: list[str], base_url: str
                     ) -> tuple[Account, str]:
        """Create an account and mail it an invitation link; the account and the link."""
        account = await self.create_account(email, name, roles)
        link = await self.new_link(account.id, "invite", base_url)
        await self.mailer.send(
            account.email, f"Invitation: {self.config.title}",
            f"Hello {account.name},\n\nyou are invited to {self.config.title}.\n"
            f"Open this link to choose your password (it works once, for "
            f"{self.settings.link_hours:g} hours):\n\n{link}\n")
        return account, link

    async def request_reset(self, email: str, base_url: str) -> None:
        """Mail a reset link if the email has an active account (same answer either way)."""
        account = await self.store.account_by_email(email.strip())
        if account is None or account.status == "disabled":
            return
        link = await self.new_link(account.id, "reset", base_url)
        await self.mailer.send(
            account.email, f"Password reset: {self.config.title}",
            f"Hello {account.name},\n\nsomeone asked to reset your password. If it was you, "
            f"open this link within {self.settings.reset_minutes:g} minutes:\n\n{link}\n\n"
            "If it was not you, ignore this message: your password stays as it is.\n")

    # --- passwords and the second factor ------------------------------------------------

    async def set_password(self, account_id: str, password: str) -> None:
        """Set the password (the account becomes active; other sessions end)."""
        account = await self.account(account_id)
        problem = self._passwords.problem(password, email=account.email)
        if problem:
            raise PasswordRefused(problem)
        stored = await self._passwords.hash(password)
        await self.store.update_account(account_id, password_hash=stored, status="active",
                                        failed_attempts=0, locked_until=None,
                                        updated_at=self.now())

    async def password_signin(self, email: str, password: str) -> Account:
        """The account, when the password is right and the account is neither locked nor
        disabled; otherwise one refusal for every case (failures count toward a lock)."""
        account = await self.store.account_by_email(email.strip())
        ok = await self._passwords.verify(account.password_hash if account else None, password)
        now = self.now()
        if account is None or account.status != "active":
            raise SignInFailed("wrong email or password")
        if account.locked_until is not None and account.locked_until > now:
            raise SignInFailed("too many failed attempts: the account is locked for a while; "
                               "try again later or reset the password")
        if not ok:
            await self.store.record_failure(account.id, now=now,
                                            limit=self.settings.lockout_attempts,
                                            lock_seconds=self.settings.lockout_minutes * 60)
            raise SignInFailed("wrong email or password")
        await self.store.update_account(account.id, failed_attempts=0, locked_until=None,
                                        updated_at=now)
        return account

    async def check_code(self, account_id: str, code: str) -> None:
        """Accept a TOTP code once (wrong codes count toward a lock)."""
        account = await self.account(account_id)
        now = self.now()
        locked = account.locked_until is not None and account.locked_until > now
        step = (None if locked or not account.totp_secret
                else totp_code_ok(account.totp_secret, code, now=now,
                                  last_step=account.totp_last_step))
        if step is None:
            if not locked:
                await self.store.record_failure(account.id, now=now,
                                                limit=self.settings.lockout_attempts,
                                                lock_seconds=self.settings.lockout_minutes * 60)
            raise CodeRefused("the code is wrong, used already or expired" if not locked
                              else "too many failed attempts: the account is locked for a while")
        await self.store.update_account(account.id, totp_last_step=step, failed_attempts=0,
                                        updated_at=now)

    async def totp_setup(self, account_id: str) -> tuple[str, str, str]:
        """Start enrolling a second factor: the secret, its URI and its QR code (SVG)."""
        account = await self.account(account_id)
        secret = account.totp_secret if account.totp_secret and not account.totp_enabled \
            else totp_new_secret()
        await self.store.update_account(account_id, totp_secret=secret, updated_at=self.now())
        uri = totp_uri(secret, account=account.email, issuer=self.config.title)
        return secret, uri, qr_svg(uri)

    async def totp_confirm(self, account_id: str, code: str) -> None:
        """Turn the second factor on once a code from the new secret is right."""
        account = await self.account(account_id)
        if not account.totp_secret:
            raise CodeRefused("start the set-up first")
        step = totp_code_ok(account.totp_secret, code, now=self.now(), last_step=None)
        if step is None:
            raise CodeRefused("the code does not match: check the clock of your phone and "
                              "try the next code")
        await self.store.update_account(account_id, totp_enabled=True, totp_last_step=step,
                                        updated_at=self.now())

    async def totp_disable(self, account_id: str) -> None:
        """Turn the second factor off."""
        await self.store.update_account(account_id, totp_enabled=False, totp_secret=None,
                                        totp_last_step=None, updated_at=self.now())

    # --- sessions -----------------------------------------------------------------------

    async def open_session(self, *, kind: str, subject: str, name: str, roles: tuple[str, ...],
                           account_id: str | None = None,
                           organisation: dict[str, Any] | None = None,
                           stage: str = "full") -> tuple[str, Principal]:
        """A new session: the cookie value (shown once) and who it signs in."""
        cookie = new_token()
        now = self.now()
        if now - self._purged_at > _PURGE_SECONDS:
            # sign-ins are rare enough to carry the clean-up of what has expired
            self._purged_at = now
            await self.store.purge(now)
        id_hash = token_hash(cookie)
        values: dict[str, Any] = {"id_hash": id_hash, "kind": kind, "account_id": account_id,
                  "subject": subject, "name": name, "roles": roles,
                  "organisation": organisation, "stage": stage, "csrf": new_token(),
                  "expires_at": now + self.settings.session_hours * 3600, "last_seen": now,
                  "created_at": now, "updated_at": now}
        await self.store.add_session(values)
        row = await self.store.session(id_hash)
        assert row is not None
        return cookie, _principal(row)

    async def session_for_account(self, account: Account, *, stage: str = "full"
                                  ) -> tuple[str, Principal]:
        """A session for a person's account."""
        return await self.open_session(kind="person", subject=account.email, name=account.name,
                                       roles=account.roles, account_id=account.id, stage=stage)

    async def principal(self, cookie: str | None) -> Principal | None:
        """Who the cookie signs in, while its session lives (expired ones end)."""
        if not cookie:
            return None
        id_hash = token_hash(cookie)
        found = await self.store.session_and_status(id_hash)
        now = self.now()
        if found is None:
            return None
        row, account_status = found
        if row.expires_at < now or row.last_seen + self.settings.idle_minutes * 60 < now \
                or account_status in ("disabled", "missing"):
            await self.store.delete_session(id_hash)
            return None
        if now - row.last_seen > 60:
            await self.store.touch_session(id_hash, now)
        return _principal(row)

    async def organisation_still_valid(self, principal: Principal, verifier: Any) -> bool:
        """Whether an organisation's session may go on: its credential is checked again
        (at most every ``organisation_recheck_seconds``); a revoked, suspended or no
        longer trusted credential ends the session."""
        now = self.now()
        checked = self._organisation_checked.get(principal.session_hash)
        if checked is not None and now - checked < self.settings.organisation_recheck_seconds:
            return True
        valid = verifier is not None and principal.organisation is not None and \
            await verifier.still_valid(principal.organisation)
        if not valid:
            self._organisation_checked.pop(principal.session_hash, None)
            await self.store.delete_session(principal.session_hash)
            return False
        if len(self._organisation_checked) > 10_000:
            self._organisation_checked.clear()
        self._organisation_checked[principal.session_hash] = now
        return True

    async def promote(self, principal: Principal) -> tuple[str, Principal]:
        """A fresh full session replacing a partial one (after TOTP or a new password)."""
        await self.store.delete_session(principal.session_hash)
        if principal.account_id is None:
            raise Unauthorized("sign in again")
        account = await self.account(principal.account_id)
        return await self.session_for_account(account)

    async def sign_out(self, principal: Principal) -> None:
        """End this session."""
        await self.store.delete_session(principal.session_hash)

    async def sign_out_everywhere(self, principal: Principal) -> int:
        """End every session of this person or organisation; how many ended."""
        if principal.account_id is not None:
            return await self.store.delete_sessions(account_id=principal.account_id)
        return await self.store.delete_sessions(subject=principal.subject)

    # --- API tokens ---------------------------------------------------------------------

    async def create_token(self, account_id: str, name: str, scopes: list[str],
                           days: float | None) -> tuple[str, ApiToken]:
        """A new API token of the account: the token (shown once) and its record."""
        account = await self.account(account_id)
        wanted = frozenset(scopes)
        if not name.strip() or len(name) > 200:
            raise InvalidRequest("a token needs a name (at most 200 characters)",
                                 code="token-invalid")
        if not wanted or not wanted <= frozenset(SCOPES):
            raise InvalidRequest(f"scopes are some of: {', '.join(SCOPES)}",
                                 code="token-invalid")
        allowed = self.config.scopes_for(account.roles)
        if not wanted <= allowed:
            raise ScopeRequired(f"your roles allow the scopes {sorted(allowed)} only")
        if days is not None and not 0 < days <= 3660:
            raise InvalidRequest("a token expires within 1 to 3,660 days", code="token-invalid")
        token = new_token(TOKEN_PREFIX)
        now = self.now()
        record_id = str(uuid.uuid4())
        await self.store.add_token({
            "id": record_id, "account_id": account_id, "name": name.strip(),
            "token_hash": token_hash(token), "scopes": sorted(wanted),
            "expires_at": now + days * 86400 if days else None, "last_used_at": None,
            "revoked_at": None, "created_at": now, "updated_at": now})
        stored = await self.store.token(record_id)
        assert stored is not None
        return token, stored

    async def revoke_token(self, token_id: str, *, account_id: str | None) -> ApiToken:
        """Revoke a token (only its owner's, unless ``account_id`` is None: an admin)."""
        token = await self.store.token(token_id)
        if token is None or (account_id is not None and token.account_id != account_id):
            raise NotFound(f"no token {token_id}", code="token-not-found")
        if token.revoked_at is None:
            await self.store.update_token(token_id, revoked_at=self.now(), updated_at=self.now())
        revoked = await self.store.token(token_id)
        assert revoked is not None
        return revoked

    async def authenticate_token(self, token: str, scope: str) -> ApiCaller | None:
        """The caller an API token names, if it is live and has ``scope``; None when it is
        not a live token of an active account; 403 when it lacks the scope."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        found = await self.store.token_and_account(token_hash(token))
        now = self.now()
        if found is None:
            return None
        stored, account = found
        # an invited account's token works (an admin may make one for a script before
        # anyone signs in); a disabled account's does not
        if stored.revoked_at is not None or account.status == "disabled" or (
                stored.expires_at is not None and stored.expires_at < now):
            return None
        # a token never does more than its account's roles allow today
        scopes = frozenset(stored.scopes) & self.config.scopes_for(account.roles)
        if scope not in scopes:
            raise ScopeRequired(f"this token's scopes are {sorted(scopes)}; this route needs "
                                f"{scope!r}")
        if stored.last_used_at is None or now - stored.last_used_at > 60:
            await self.store.update_token(stored.id, last_used_at=now)
        return ApiCaller(kind="token", scopes=scopes, account_id=account.id,
                         email=account.email, roles=frozenset(account.roles),
                         token_id=stored.id)


def qr_svg(data: str) -> str:
    """``data`` as a QR code, an inline SVG element."""
    return str(segno.make(data, error="m").svg_inline(scale=4, border=2, dark="#000",
                                                      light="#fff"))
