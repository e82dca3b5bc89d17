"""DCP access scopes: ``[alias]:[discriminator]`` with an optional ``:read|write|all`` suffix.

DCP 1.0 defines two aliases every implementation supports:
``org.eclipse.dspace.dcp.vc.type:<CredentialType>`` and
``org.eclipse.dspace.dcp.vc.id:<credential id>``. Eclipse EDC appends the
access (``...:MembershipCredential:read``); a scope without one means read.
A discriminator may itself contain colons (``urn:uuid:...``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from servicekit.errors import InvalidRequest

__all__ = ["VC_ID_ALIAS", "VC_TYPE_ALIAS", "Scope", "scopes_for", "type_scope"]

VC_TYPE_ALIAS = "org.eclipse.dspace.dcp.vc.type"
VC_ID_ALIAS = "org.eclipse.dspace.dcp.vc.id"
_ACCESS = ("read", "write", "all")
_MAX_SCOPE_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Scope:
    """One parsed scope: ``alias``, ``value`` (the discriminator) and ``access``."""

    alias: str
    value: str
    access: str = "read"

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse ``alias:value[:access]``; ``scope-malformed`` (400) if it is not one."""
        if not isinstance(text, str) or len(text) > _MAX_SCOPE_LENGTH:
            raise InvalidRequest("a scope is a short string", code="scope-malformed")
        parts = text.split(":")
        access = "read"
        if len(parts) >= 3 and parts[-1] in _ACCESS:
            access = parts.pop()
        alias, value = parts[0], ":".join(parts[1:])
        if len(parts) < 2 or not alias or not value:
            raise InvalidRequest(f"not a scope: {text[:80]!r}", code="scope-malformed")
        return cls(alias, value, access)

    def __str__(self) -> str:
        return f"{self.alias}:{self.value}:{self.access}"

    def covers(self, wanted: Scope) -> bool:
        """True when this (granted) scope allows ``wanted``."""
        return (
            self.alias == wanted.alias
            and self.value == wanted.value
            and (self.access == wanted.access or self.access == "all")
        )

    @property
    def credential_type(self) -> str | None:
        """The credential type a ``vc.type`` scope names."""
        return self.value if self.alias == VC_TYPE_ALIAS else None

    @property
    def credential_id(self) -> str | None:
        """The credential id a ``vc.id`` scope names."""
        return self.value if self.alias == VC_ID_ALIAS else None


def type_scope(credential_type: str, access: str = "read") -> str:
    """``org.eclipse.dspace.dcp.vc.type:<credential_type>:<access>``."""
    return str(Scope(VC_TYPE_ALIAS, credential_type, access))


def scopes_for(types_or_scopes: Iterable[str], access: str = "read") -> list[str]:
    """Scope strings: a bare credential type becomes a type scope; a scope stays as is."""
    out: list[str] = []
    for item in types_or_scopes:
        scope = item if ":" in item else type_scope(item, access)
        if scope not in out:
            out.append(scope)
    return out
