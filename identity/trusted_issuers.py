"""Who may issue what: a client for the trust anchor's EBSI Trusted Issuers Registry v4.

``GET {registry}/v4/issuers/{did}`` answers ``{"did", "attributes": [{"hash",
"body", "issuerType", "tao", "rootTao"}]}``. Each attribute's ``body`` is the
base64 of a ``vc+jwt`` accreditation (type ``VerifiableAccreditation``,
subject ``{id, issuerType, accreditedFor: [{types}]}``) and ``hash`` the
SHA-256 (hex) of the decoded body. An attribute counts only when:

* the hash matches the body;
* the accreditation verifies (signature, validity) and is about the DID asked for;
* it was issued by the configured root DID, or by a ``TAO`` the root
  accredited (then only for types that TAO is accredited for itself);
* its ``rootTao`` (if given) is our root, and its signed ``issuerType``
  agrees with the attribute's.

``RootTAO`` counts only for the root DID, self-accredited: the root is
trusted for the types its own entry lists, like any other issuer. Any
attribute saying ``Revoked`` (signed or not) revokes the issuer: fail closed.

Answers, positive and negative (a 404 is "not trusted"), are cached for
``ttl`` seconds, so a revocation in the registry is seen within one refresh.
A registry that cannot be reached or answers nonsense raises
:class:`~servicekit.errors.UpstreamError`: nobody is trusted blindly.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from identity.errors import VerificationError
from identity.issuer_types import IssuerType
from identity.vc_verify import CredentialVerifier
from servicekit.clock import Clock
from servicekit.errors import UpstreamError, UpstreamTimeout
from servicekit.http import fetch_capped

__all__ = ["ACCREDITATION_TYPE", "IssuerEntry", "IssuerType", "TrustDecision", "TrustedIssuers"]

ACCREDITATION_TYPE = "VerifiableAccreditation"
_MAX_ATTRIBUTES = 32


@dataclass(frozen=True, slots=True)
class IssuerEntry:
    """What the registry verifiably says about one DID.

    ``types`` are the credential types it is accredited for, ``roles`` the
    issuer types of its valid attributes; ``ignored`` says which attributes
    did not count and why (for logs, never shown to callers).
    """

    did: str
    registered: bool
    revoked: bool
    types: frozenset[str]
    roles: frozenset[str]
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrustDecision:
    """Whether ``issuer`` is trusted for ``credential_type``, and why (a stable reason)."""

    trusted: bool
    issuer: str
    credential_type: str
    reason: str

    def __bool__(self) -> bool:
        return self.trusted


class TrustedIssuers:
    """Ask the trusted-issuers registry at ``registry_url`` (the trust anchor's base URL).

    ``credential_verifier`` verifies the accreditations (its clock is used for
    the cache unless ``clock`` is given); ``root_did`` is the trust anchor's DID.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        registry_url: str,
        credential_verifier: CredentialVerifier,
        root_did: str,
        ttl: float = 60.0,
        *,
        clock: Clock | None = None,
        timeout: float = 5.0,
        max_bytes: int = 256 * 1024,
        max_entries: int = 4096,
        max_depth: int = 3,
    ) -> None:
        self.session = session
        self.registry_url = registry_url.rstrip("/")
        self.credentials = credential_verifier
        self.root_did = root_did
        self.ttl = ttl
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.max_depth = max_depth
        self.clock = clock or credential_verifier.clock
        self._entries: dict[str, tuple[float, IssuerEntry]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def forget(self, did: str | None = None) -> None:
        """Drop cached entries (one DID, or all)."""
        if did is None:
            self._entries.clear()
        else:
            self._entries.pop(did, None)

    def cached_until(self, did: str) -> float | None:
        """When the cached entry of ``did`` will be fetched again (``None``: not cached)."""
        cached = self._entries.get(did)
        return cached[0] if cached is not None else None

    async def is_trusted(self, issuer_did: str, credential_type: str) -> bool:
        """True when the registry accredits ``issuer_did`` for ``credential_type``."""
        return (await self.check(issuer_did, credential_type)).trusted

    async def check(self, issuer_did: str, credential_type: str) -> TrustDecision:
        """The decision for ``issuer_did`` and ``credential_type``, with its reason."""
        entry = await self.entry(issuer_did)
        if not entry.registered:
            reason = "not-registered"
        elif entry.revoked:
            reason = "revoked"
        elif credential_type in entry.types:
            return TrustDecision(True, issuer_did, credential_type, "accredited")
        elif not entry.roles:
            reason = "no-valid-accreditation"
        else:
            reason = "type-not-accredited"
        return TrustDecision(False, issuer_did, credential_type, reason)

    async def entry(self, did: str) -> IssuerEntry:
        """The verified registry entry of ``did`` (cached for ``ttl``)."""
        cached = self._cached(did)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(did, asyncio.Lock())
        async with lock:  # one registry fetch per DID, however many requests wait
            entry = self._cached(did) or await self._refresh(did, ())
        self._locks.pop(did, None)
        return entry

    def _cached(self, did: str) -> IssuerEntry | None:
        cached = self._entries.get(did)
        return cached[1] if cached is not None and cached[0] > self.clock() else None

    async def _refresh(self, did: str, chain: tuple[str, ...]) -> IssuerEntry:
        entry = await self._load(did, (*chain, did))
        if did not in self._entries and len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[did] = (self.clock() + self.ttl, entry)
        return entry

    async def _load(self, did: str, chain: tuple[str, ...]) -> IssuerEntry:
        body = await self._fetch(did)
        if body is None:
            return IssuerEntry(did, False, False, frozenset(), frozenset())
        if body.get("did") != did or not isinstance(body.get("attributes"), list):
            raise UpstreamError(
                "the trusted-issuers registry answered an entry for another DID or no attributes",
                code="registry-response-invalid",
            )
        attributes = body["attributes"][:_MAX_ATTRIBUTES]
        types: set[str] = set()
        roles: set[str] = set()
        ignored: list[str] = []
        revoked = False
        for attribute in attributes:
            if not isinstance(attribute, Mapping):
                ignored.append("attribute-malformed")
                continue
            if attribute.get("issuerType") == IssuerType.REVOKED:
                revoked = True  # fail closed: the registry says so, signed or not
            outcome = await self._attribute(did, attribute, chain)
            if isinstance(outcome, str):
                ignored.append(outcome)
                continue
            role, granted = outcome
            if role == IssuerType.REVOKED:
                revoked = True
                continue
            roles.add(role)
            types.update(granted)
        return IssuerEntry(did, True, revoked, frozenset(types), frozenset(roles), tuple(ignored))

    async def _attribute(
        self, did: str, attribute: Mapping[str, Any], chain: tuple[str, ...]
    ) -> tuple[str, frozenset[str]] | str:
        """``(issuerType, types granted)`` of a valid attribute, or why it does not count."""
        body, digest = attribute.get("body"), attribute.get("hash")
        if not isinstance(body, str) or not isinstance(digest, str):
            return "attribute-malformed"
        try:
            decoded = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return "body-not-base64"
        if hashlib.sha256(decoded).hexdigest() != digest.lower():
            return "hash-mismatch"
        root_tao = attribute.get("rootTao")
        if root_tao is not None and root_tao != self.root_did:
            return "other-root"
        try:
            accreditation = await self.credentials.verify(decoded.decode("ascii"))
        except (VerificationError, UnicodeDecodeError):
            return "accreditation-invalid"
        subject = accreditation.claims
        if (
            not accreditation.has_type(ACCREDITATION_TYPE)
            or accreditation.subject_id != did
            or subject.get("issuerType") != attribute.get("issuerType")
        ):
            return "accreditation-mismatch"
        role = str(subject.get("issuerType"))
        if role not in IssuerType.__members__.values():
            return "issuer-type-unknown"
        granted = _accredited_types(subject.get("accreditedFor"))
        accreditor = accreditation.issuer
        if role == IssuerType.ROOT_TAO:
            if did != self.root_did or accreditor != self.root_did:
                return "root-tao-not-root"
            return role, granted
        if accreditor == self.root_did:
            return role, granted
        # Accredited by someone else: a TAO the root accredited, within its own types.
        if accreditor in chain or len(chain) >= self.max_depth:
            return "accreditation-chain-invalid"
        # Nested look-ups take no lock: a cycle in the registry must not deadlock us.
        parent = self._cached(accreditor) or await self._refresh(accreditor, chain)
        if parent.revoked or IssuerType.TAO not in parent.roles:
            return "accreditor-not-tao"
        return role, granted & parent.types

    async def _fetch(self, did: str) -> dict[str, Any] | None:
        url = URL(f"{self.registry_url}/v4/issuers/{quote(did, safe='')}", encoded=True)
        try:
            async with asyncio.timeout(self.timeout):
                answer = await fetch_capped(
                    self.session,
                    url,
                    limit=self.max_bytes,
                    too_large=lambda: UpstreamError(
                        "registry entry is too large", code="registry-response-invalid"
                    ),
                    headers={"Accept": "application/json"},
                    check=_found_or_missing,
                )
        except TimeoutError:
            raise UpstreamTimeout(
                "the trusted-issuers registry did not answer in time", code="registry-timeout"
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                f"the trusted-issuers registry could not be reached: {type(exc).__name__}",
                code="registry-unavailable",
            ) from None
        if answer.status == 404:
            return None
        try:
            parsed = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise UpstreamError(
                "the trusted-issuers registry did not answer a JSON object",
                code="registry-response-invalid",
            )
        return parsed


def _found_or_missing(status: int) -> None:
    if status not in (200, 404):
        raise UpstreamError(
            f"the trusted-issuers registry answered {status}", code="registry-unavailable"
        )


def _accredited_types(value: object) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    found: set[str] = set()
    for item in value:
        kinds = item.get("types") if isinstance(item, Mapping) else None
        if isinstance(kinds, list):
            found.update(k for k in kinds if isinstance(k, str))
    return frozenset(found)
