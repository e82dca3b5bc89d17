"""Who is calling: the verified identity and claims an authenticator produces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Caller", "Standing"]


@dataclass(frozen=True, slots=True)
class Standing:
    """One verified credential a caller stood on: enough to ask later whether it still holds.

    ``status`` are its ``credentialStatus`` entries (Bitstring Status List);
    ``valid_until`` is epoch seconds.
    """

    issuer: str
    types: tuple[str, ...]
    id: str | None = None
    valid_until: float | None = None
    status: tuple[Mapping[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON form kept with a negotiation or transfer."""
        return {"id": self.id, "issuer": self.issuer, "types": list(self.types),
                "validUntil": self.valid_until, "status": [dict(s) for s in self.status]}

    @classmethod
    def list_from_json(cls, data: Any) -> tuple[Standing, ...]:
        """The inverse of :meth:`to_json` over a list (malformed items are dropped)."""
        if not isinstance(data, list):
            return ()
        items = []
        for item in data:
            if not isinstance(item, Mapping) or not isinstance(item.get("issuer"), str):
                continue
            until = item.get("validUntil")
            status = item.get("status") or []
            items.append(cls(
                issuer=item["issuer"],
                types=tuple(str(t) for t in item.get("types") or ()),
                id=item.get("id") if isinstance(item.get("id"), str) else None,
                valid_until=float(until) if isinstance(until, int | float) else None,
                status=tuple(dict(s) for s in status if isinstance(s, Mapping)),
            ))
        return tuple(items)


@dataclass(frozen=True, slots=True)
class Caller:
    """A counter-party whose identity (and optionally credentials) were verified.

    ``id`` is the participant id the DSP messages name (a DID in production).
    ``credential_types`` and ``claims`` summarise the verified credentials:
    ``claims`` maps a credential type to its ``credentialSubject`` (what the
    policies context reads as ``dst:credentialType`` and
    ``dst:claim/<Type>/<path>``). ``expires_at`` (epoch seconds) bounds how
    long an authenticator may cache this caller. ``standing`` lists the
    verified credentials the caller stood on (:class:`Standing`), so a
    provider can later see whether that still holds (revoked, suspended,
    expired, or issuer no longer accredited). ``subjects`` holds, per type,
    the ``credentialSubject`` of *every* verified credential of that type
    (``claims`` only the first): a buyer holding purchase credentials for
    two products satisfies a policy that names either.
    """

    id: str
    credential_types: frozenset[str] = frozenset()
    claims: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    expires_at: float | None = None
    method: str = "unknown"
    standing: tuple[Standing, ...] = ()
    subjects: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What is kept with a negotiation (for the owner's approval view)."""
        summary = {
            "id": self.id,
            "method": self.method,
            "credentialTypes": sorted(self.credential_types),
            "claims": {k: dict(v) for k, v in self.claims.items()},
            "standing": [item.to_json() for item in self.standing],
        }
        if self.subjects:
            summary["subjects"] = {k: [dict(s) for s in v] for k, v in self.subjects.items()}
        return summary

    def credentials(self) -> dict[str, tuple[Mapping[str, Any], ...]]:
        """The verified credentials as the policies context reads them (type → subjects)."""
        held: dict[str, tuple[Mapping[str, Any], ...]] = {
            ctype: tuple(dict(s) for s in subjects)
            for ctype, subjects in self.subjects.items() if subjects
        }
        for ctype in self.credential_types:
            held.setdefault(ctype, (dict(self.claims.get(ctype, {})),))
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
            standing=Standing.list_from_json(data.get("standing")),
            subjects=_subjects(data.get("subjects")),
        )


def _subjects(data: Any) -> dict[str, tuple[Mapping[str, Any], ...]]:
    """``subjects`` of a summary (malformed entries are dropped)."""
    if not isinstance(data, Mapping):
        return {}
    return {str(kind): tuple(dict(s) for s in items if isinstance(s, Mapping))
            for kind, items in data.items() if isinstance(items, list)}
