"""The issuer's side of DCP 1.0 issuance: writing to a holder's Credential Service.

An issuer reaches a holder at the ``CredentialService`` its DID document
names, under a self-issued ID token addressed to the holder's DID:

* ``POST {base}/offers`` - a ``CredentialOfferMessage``: the issuer starts
  issuance, and the holder answers with a ``CredentialRequestMessage`` to
  the issuer's ``IssuerService`` (:func:`identity.dcp.request_credentials`);
* ``POST {base}/credentials`` - a ``CredentialMessage`` delivering what the
  holder requested; the token carries the write access token the holder
  put in its request (``access_token``).

Both are meant to run as retried jobs: a refusal a retry cannot change (400,
401, 403, 404) raises :class:`~servicekit.jobs.PermanentJobError`, anything
else that is not a success raises ``ConnectionError`` (try again later).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from identity.dcp.discovery import service_base_url
from identity.resolver import DidResolver
from identity.self_issued import create_self_issued_token
from identity.signer import Signer
from servicekit.jobs import PermanentJobError

__all__ = ["OFFERS_PATH", "STORAGE_PATH", "send_to_credential_service"]

#: The Credential Service's endpoints an issuer writes to.
OFFERS_PATH = "/offers"
STORAGE_PATH = "/credentials"
_FINAL = (400, 401, 403, 404)


async def send_to_credential_service(
    session: aiohttp.ClientSession,
    resolver: DidResolver,
    signer: Signer,
    holder_did: str,
    path: str,
    message: Mapping[str, Any],
    *,
    access_token: str | None = None,
    allow_loopback: bool = False,
) -> int:
    """POST ``message`` to ``path`` of ``holder_did``'s Credential Service; the status answered."""
    document = await resolver.resolve(holder_did)
    base = service_base_url(document, allow_loopback=allow_loopback)
    token = create_self_issued_token(signer, holder_did, token=access_token)
    async with session.post(f"{base}{path}", json=dict(message),
                            headers={"Authorization": f"Bearer {token}"}) as response:
        if response.status in _FINAL:
            raise PermanentJobError(
                f"the credential service refused the message ({response.status})")
        if response.status >= 300:
            raise ConnectionError(f"the credential service answered {response.status}")
        return response.status
