"""Applying for membership at a trust anchor: the applicant's side of onboarding.

A service that becomes a member with its own DID (a connector, the
marketplace) makes the same calls:

1. :meth:`TrustAnchorClient.apply` asks for a challenge, answers it with a
   self-issued token signed by the applicant's key (proof of DID control:
   the trust anchor resolves the applicant's DID document) and submits the
   application. The answer holds the application id and the status token
   that reads it later (keep it; it is shown once).
2. :meth:`TrustAnchorClient.application` reads the application with that
   token: its status and, once approved, the OpenID4VCI credential offer.

The credential itself is collected with :func:`identity.oid4vci_client.collect_credential`
(the operator hands over a transaction code) or requested over DCP issuance
(:func:`identity.dcp.request_credentials`; the trust anchor delivers it to
the applicant's Credential Service).

Errors: ``trust-anchor-unavailable`` (502: not reached), ``trust-anchor-refused``
(the trust anchor's 4xx keeps its family), ``trust-anchor-invalid`` (an answer
without what it must hold), ``trust-anchor-mismatch`` (the challenge is for
another DID than the configured one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from identity.self_issued import create_self_issued_token
from identity.signer import Signer
from servicekit.errors import UpstreamError, peer_refused

__all__ = ["Applied", "TrustAnchorClient"]

_TIMEOUT = 15.0
_MAX_ANSWER = 256 * 1024


@dataclass(frozen=True)
class Applied:
    """A submitted application: its id, state and the token that reads it."""

    id: str
    status: str
    status_token: str = field(repr=False)


@dataclass(frozen=True)
class TrustAnchorClient:
    """The onboarding calls to the trust anchor at ``url`` whose DID is ``did``."""

    session: aiohttp.ClientSession
    url: str
    did: str
    timeout: float = _TIMEOUT

    async def call(self, method: str, path: str, *, body: Any = None,
                   token: str | None = None) -> Any:
        """``method url+path`` with a JSON body; the JSON answer (errors raised as ours)."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with asyncio.timeout(self.timeout):
                async with self.session.request(
                    method, self.url.rstrip("/") + path, json=body, headers=headers,
                    allow_redirects=False,
                ) as response:
                    raw = await response.content.read(_MAX_ANSWER)
                    status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError(f"the trust anchor could not be reached: {type(exc).__name__}",
                                code="trust-anchor-unavailable") from None
        try:
            answer = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            answer = None
        if status >= 400:
            raise peer_refused(status, answer, f"the trust anchor refused ({status})",
                               code="trust-anchor-refused")
        return answer

    async def apply(self, signer: Signer, application: Mapping[str, Any]) -> Applied:
        """Prove control of ``signer``'s DID and submit ``application`` (legal name, roles...)."""
        challenge = await self.call("POST", "/applications/challenge", body={"did": signer.did})
        if not isinstance(challenge, dict) or not isinstance(challenge.get("challenge"), str):
            raise UpstreamError("the trust anchor answered no challenge",
                                code="trust-anchor-invalid")
        if challenge.get("audience") != self.did:
            raise UpstreamError(
                f"the trust anchor at {self.url} is {challenge.get('audience')}, not {self.did}",
                code="trust-anchor-mismatch")
        proof = create_self_issued_token(signer, self.did,
                                         extra_claims={"nonce": challenge["challenge"]})
        created = await self.call("POST", "/applications", body={
            **application, "did": signer.did, "proof": proof})
        if not isinstance(created, dict) or not isinstance(created.get("status_token"), str):
            raise UpstreamError("the trust anchor answered no application",
                                code="trust-anchor-invalid")
        return Applied(id=str(created["id"]), status=str(created.get("state", "submitted")),
                       status_token=created["status_token"])

    async def application(self, application_id: str, status_token: str) -> dict[str, Any]:
        """The application as the trust anchor shows it to the applicant (status, offer)."""
        view = await self.call("GET", f"/applications/{application_id}", token=status_token)
        if not isinstance(view, dict):
            raise UpstreamError("the trust anchor answered no application",
                                code="trust-anchor-invalid")
        return view
