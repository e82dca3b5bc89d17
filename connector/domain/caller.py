"""Who is calling: the verified identity and claims an authenticator produces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Caller"]


@dataclass(frozen=True, slots=True)
class Caller:
    """A counter-party whose identity (and optionally credentials) were verified.

    ``id`` is the participant id the DSP messages name (a DID in production).
    ``credential_types`` and ``claims`` summarise the verified credentials:
    ``claims`` maps a credential type to its ``credentialSubject`` (what the
    policies context reads as ``dst:credentialType`` and
    ``dst:claim/<Type>/<path>``). ``expires_at`` (epoch seconds) bounds how
    long an authenticator may cache this caller.
    """

    id: str
    credential_types: frozenset[str] = frozenset()
    claims: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    expires_at: float | None = None
    method: str = "unknown"

    def summary(self) -> dict[str, Any]:
        """What is kept with a negotiation (for the owner's approval view)."""
        return {
            "id": self.id,
            "method": self.method,
            "credentialTypes": sorted(self.credential_types),
            "claims": {k: dict(v) for k, v in self.claims.items()},
        }

    def credentials(self) -> dict[str, tuple[Mapping[str, Any], ...]]:
        """The verified credentials as the policies context reads them (type → subjects)."""
        held: dict[str, tuple[Mapping[str, Any], ...]] = {
            ctype: (dict(self.claims.get(ctype, {})),) for ctype in self.credential_types
        }
        for ctype, subject in self.claims.items():
            held.setdefault(ctype, (dict(subject),))
        return held

    @classmethod
    def from_summary(cls, data: Mapping[str, Any]) -> Caller:
        """The inverse of :meth:`summary`."""
        return cls(
            id=str(data.get("id", "")),
            credential_types=frozenset(data.get("credentialTypes") or ()),
            claims={k: dict(v) for k, v in (data.get("claims") or {}).items()},
            method=str(data.get("method", "unknown")),
        )
