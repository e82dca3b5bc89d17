"""OpenID for VC Issuance 1.0, pre-authorized code flow: offers, tokens, nonces, collection.

The operator's approval creates an offer (:mod:`trust_anchor.services.onboarding`);
the wallet fetches it (by reference), exchanges the code (plus the
transaction code) for an access token, gets a ``c_nonce``, and sends a key
proof (``openid4vci-proof+jwt``) signed by the participant's DID to collect
the credential. Failures are :class:`~trust_anchor.errors.OAuthError` with
the standard's error codes, which wallets act on.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import VerificationError
from identity.key_proof import verify_key_proof
from identity.resolver import DidResolver
from servicekit.clock import Clock, system_clock
from trust_anchor.domain.oid4vci import (
    PRE_AUTHORIZED_GRANT,
    CredentialRequest,
    credential_offer,
    offer_uri,
)
from trust_anchor.domain.participants import AuditAction
from trust_anchor.errors import OAuthError, OAuthUnauthorized
from trust_anchor.services.issuer import Issuer
from trust_anchor.settings import TrustAnchorSettings
from trust_anchor.store import credentials as credential_store
from trust_anchor.store import offers as offer_store
from trust_anchor.store import participants as participant_store

__all__ = ["OfferStatus", "Oid4vci"]

_NONCE_TTL = 300.0


@dataclass(frozen=True)
class OfferStatus:
    """A participant's newest credential offer as the operator sees it.

    ``credential_offer_uri`` and ``tx_code`` are there only while the offer
    waits to be collected (not after, and ``tx_code`` not for offers made
    without one); ``usable`` is False once it expired or its code was spent.
    """

    offer_id: str
    configuration_id: str
    credential_offer_uri: str | None
    tx_code: str | None
    collected: bool
    collected_at: float | None
    expires_at: float
    usable: bool


@dataclass(frozen=True, eq=False)
class Oid4vci:
    """The credential issuer's side of the pre-authorized code flow."""

    engine: AsyncEngine
    settings: TrustAnchorSettings
    issuer: Issuer
    resolver: DidResolver
    clock: Clock = system_clock

    def _offer_document(self, offer: offer_store.Offer) -> dict[str, Any]:
        code = self.issuer.offer_code(offer.id)
        return credential_offer(self.settings.base_url, offer.configuration_id, code,
                                offer.has_tx_code)

    async def pending_offer(self, participant_id: str) -> tuple[str, dict[str, Any]] | None:
        """(offer URI, offer) of a participant's uncollected offer, if any."""
        async with self.engine.connect() as conn:
            offer = await offer_store.pending_offer_of(conn, participant_id, self.clock())
        if offer is None or offer.code_used_at is not None:
            return None
        return offer_uri(self.settings.base_url, offer.id), self._offer_document(offer)

    async def offer_status(self, participant_id: str) -> OfferStatus | None:
        """The participant's newest offer for the operator (None: it has none)."""
        async with self.engine.connect() as conn:
            offer = await offer_store.latest_offer_of(conn, participant_id)
        if offer is None:
            return None
        collected = offer.delivered_at is not None
        tx_code = None
        if not collected and offer.tx_code_hash is not None:
            derived = self.issuer.tx_code(offer.id)
            # Offers made before codes were derived kept a random one: it cannot be shown.
            if offer_store.digest(derived) == offer.tx_code_hash:
                tx_code = derived
        return OfferStatus(
            offer_id=offer.id,
            configuration_id=offer.configuration_id,
            credential_offer_uri=(None if collected
                                  else offer_uri(self.settings.base_url, offer.id)),
            tx_code=tx_code,
            collected=collected,
            collected_at=offer.delivered_at,
            expires_at=offer.expires_at,
            usable=(not collected and offer.code_used_at is None
                    and offer.expires_at >= self.clock()),
        )

    async def offer(self, offer_id: str) -> dict[str, Any]:
        """The offer ``offer_id`` (the URI itself is the bearer of access to it)."""
        async with self.engine.connect() as conn:
            offer = await offer_store.offer_by_id(conn, offer_id)
        if offer is None or offer.code_used_at is not None or offer.expires_at < self.clock():
            raise OAuthError("invalid_request", "no such offer, or it was used or has expired")
        return self._offer_document(offer)

    async def token(self, form: Mapping[str, Any]) -> tuple[str, int]:
        """Exchange a pre-authorized code (once) for an access token; (token, lifetime)."""
        if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
            raise OAuthError("unsupported_grant_type",
                             "only the pre-authorized code grant is offered")
        code = form.get("pre-authorized_code")
        if not isinstance(code, str) or not code:
            raise OAuthError("invalid_request", "pre-authorized_code is required")
        tx_code = form.get("tx_code") or form.get("user_pin")
        ttl = self.settings.access_token_ttl_seconds
        access_token = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.engine.begin() as conn:
            offer = await offer_store.redeem_code(
                conn, code, tx_code if isinstance(tx_code, str) else None,
                access_token=access_token, access_token_expires_at=now + ttl, now=now,
            )
        if offer is None:
            raise OAuthError("invalid_grant", "the code is unknown, used or expired, or the "
                             "transaction code is wrong")
        return access_token, ttl

    async def nonce(self) -> str:
        """A fresh ``c_nonce`` for a key proof."""
        value = secrets.token_urlsafe(24)
        async with self.engine.begin() as conn:
            await offer_store.save_nonce(conn, value, self.clock() + _NONCE_TTL)
        return value

    async def offer_for_token(self, access_token: str | None) -> offer_store.Offer:
        """The offer an unexpired access token was issued for (``invalid_token`` otherwise)."""
        if access_token is None:
            raise OAuthUnauthorized("invalid_token", "an access token is required")
        async with self.engine.connect() as conn:
            offer = await offer_store.offer_by_access_token(conn, access_token, self.clock())
        if offer is None:
            raise OAuthUnauthorized("invalid_token", "the access token is unknown or expired")
        return offer

    async def collect(self, offer: offer_store.Offer, body: CredentialRequest) -> str:
        """The credential of ``offer``, for a key proof by its subject (once per nonce)."""
        requested = body.credential_configuration_id or body.credential_identifier
        if requested != offer.configuration_id:
            raise OAuthError("unknown_credential_configuration",
                             f"this token is for {offer.configuration_id}")
        proofs = body.jwt_proofs()
        if len(proofs) != 1:
            raise OAuthError("invalid_proof", "exactly one jwt key proof is required")
        try:
            proof = await verify_key_proof(proofs[0], self.resolver,
                                           audience=self.settings.base_url)
        except VerificationError as exc:
            # The standard's name for a key proof that does not verify; wallets act on it.
            raise OAuthError("invalid_proof", f"{exc.code}: {exc.detail}") from None
        async with self.engine.begin() as conn:
            if proof.nonce is None or not await offer_store.consume_nonce(conn, proof.nonce,
                                                                          self.clock()):
                raise OAuthError("invalid_nonce",
                                 "the proof's nonce is unknown, used or expired")
            issued = await credential_store.get_credential(conn, offer.credential_id)
            if proof.holder != issued.subject_did:
                raise OAuthError("invalid_proof", "the proof's key does not belong to the "
                                 "credential's subject DID")
            if await offer_store.mark_delivered(conn, offer.id, self.clock()):
                await participant_store.record_event(
                    conn, offer.participant_id, AuditAction.CREDENTIAL_COLLECTED,
                    actor=proof.holder, at=self.issuer.now(),
                    detail={"offer_id": offer.id, "credential_id": offer.credential_id})
        return issued.token
