"""Secrets people and machines present: passwords (argon2id), TOTP codes, random tokens.

Passwords are hashed with argon2id (RFC 9106) in a worker thread, so a sign-in
never stalls the event loop. Random tokens (session cookies, links, API
tokens) carry 256 bits, so a plain SHA-256 is enough to keep them at rest.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets as _random

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "PasswordPolicy",
    "new_token",
    "token_hash",
    "totp_code_ok",
    "totp_new_secret",
    "totp_uri",
]

#: What a refused password must differ from: the problem detail names the rule.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def new_token(prefix: str = "") -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return prefix + _random.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored for ``token``: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(a.encode(), b.encode())


class PasswordPolicy:
    """argon2id hashing with the service's cost settings."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536,
                 parallelism: int = 1) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                      parallelism=parallelism)
        # a hash to check against when the account does not exist, so timing
        # does not tell whether an email has an account (made on first need: a
        # service that nobody signs in to never pays for it)
        self._dummy: str | None = None

    @staticmethod
    def problem(password: str, *, email: str = "") -> str | None:
        """Why ``password`` is refused, or None when it is acceptable."""
        if len(password) < MIN_PASSWORD_LENGTH:
            return f"a password has at least {MIN_PASSWORD_LENGTH} characters"
        if len(password) > MAX_PASSWORD_LENGTH:
            return f"a password has at most {MAX_PASSWORD_LENGTH} characters"
        if email and password.lower() == email.lower():
            return "a password must differ from the email address"
        return None

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password``."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (a dummy check runs when there is none)."""

        def check() -> bool:
            if stored is None and self._dummy is None:
                self._dummy = self._hasher.hash(_random.token_urlsafe(16))
            try:
                return self._hasher.verify(stored or self._dummy or "", password) \
                    and stored is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)


def totp_new_secret() -> str:
    """A new base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def totp_code_ok(secret: str, code: str, *, now: float, last_step: int | None) -> int | None:
    """The time step ``code`` matches (one step of drift either way), or None.

    A step at or before ``last_step`` is refused, so a code cannot be replayed.
    """
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // totp.interval)
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if same(totp.generate_otp(step), code):
            return step
    return None
