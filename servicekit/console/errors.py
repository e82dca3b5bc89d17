"""The console's errors.

::

    DataspaceError
    ├── InvalidRequest
    │   ├── PasswordRefused       password-refused
    │   └── RoleUnknown           role-unknown
    ├── Unauthorized
    │   ├── SignInFailed          sign-in-failed (wrong email or password, or locked)
    │   ├── CodeRefused           totp-refused
    │   └── LinkInvalid           link-invalid (unknown, used or expired)
    ├── Forbidden
    │   ├── RoleRequired          role-required
    │   ├── CsrfRefused           csrf-refused
    │   └── ScopeRequired         token-scope
    ├── NotFound
    │   └── AccountNotFound       account-not-found
    └── Conflict
        └── EmailTaken            email-taken
"""

from __future__ import annotations

from servicekit.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unauthorized

__all__ = [
    "AccountNotFound",
    "CodeRefused",
    "CsrfRefused",
    "EmailTaken",
    "LinkInvalid",
    "PasswordRefused",
    "RoleRequired",
    "RoleUnknown",
    "ScopeRequired",
    "SignInFailed",
]


class PasswordRefused(InvalidRequest, code="password-refused", title="Password refused"):
    """The new password breaks a rule (the detail says which)."""


class RoleUnknown(InvalidRequest, code="role-unknown", title="Unknown role"):
    """A role this service does not have."""


class SignInFailed(Unauthorized, code="sign-in-failed", title="Sign-in failed"):
    """Wrong email or password, or the account is locked or disabled (one answer for all)."""


class CodeRefused(Unauthorized, code="totp-refused", title="Code refused"):
    """A wrong, reused or missing one-time code."""


class LinkInvalid(Unauthorized, code="link-invalid", title="Link not valid"):
    """A one-time link that is unknown, used or expired."""


class RoleRequired(Forbidden, code="role-required", title="Role required"):
    """The signed-in person lacks the role this action needs."""


class CsrfRefused(Forbidden, code="csrf-refused", title="Form refused"):
    """A form without the right CSRF token."""


class ScopeRequired(Forbidden, code="token-scope", title="Token scope too narrow"):
    """An API token without the scope this route needs."""


class AccountNotFound(NotFound, code="account-not-found", title="Account not found"):
    """No such account."""


class EmailTaken(Conflict, code="email-taken", title="Email taken"):
    """An account with this email exists."""
