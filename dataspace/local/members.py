"""Calling the local marketplace as a participant (a DCP member call) or as its operator.

A member of the data space calls the marketplace as its connector would:
``Authorization: Bearer <self-issued ID token>`` addressed to the
marketplace's DID, carrying an access token that lets the marketplace read
the member's MembershipCredential from the connector's Credential Service
(:class:`identity.dcp.DcpTokenProvider`). In the local data space the
connector's key is in its own data directory (sealed with the development
passphrase kept beside it, or ``CONNECTOR_KEY_PASSPHRASE``), so
``dataspace up`` and ``dataspace demo`` sign with it here: the access token
verifies at the connector's Credential Service because the same key made
it. Each call gets a fresh token (they are single-use).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataspace.client import ApiClient
from identity.dcp import DcpTokenProvider
from identity.keystore import KeyStore
from identity.service_identity import resolve_passphrase
from identity.signer import Signer

__all__ = ["CONNECTOR_KEY", "MarketplaceCaller", "connector_signer"]

#: The key name a connector keeps its signing key under (connector/app.py).
CONNECTOR_KEY = "connector"
MEMBERSHIP = "MembershipCredential"


def connector_signer(data_dir: Path, did: str) -> Signer:
    """The signer of the connector whose data directory is ``data_dir`` and DID ``did``."""
    keys = data_dir / "keys"
    passphrase = resolve_passphrase(keys, os.environ.get("CONNECTOR_KEY_PASSPHRASE"), dev=True)
    pair = KeyStore(keys, passphrase).load(CONNECTOR_KEY)
    return Signer.for_did_key(pair) if did.startswith("did:key:") else Signer.for_did(pair, did)


@dataclass
class MarketplaceCaller:
    """Calls the marketplace: as a member (``signer``) or as its operator (``api_key``)."""

    base_url: str
    marketplace_did: str
    signer: Signer | None = None
    api_key: str | None = None
    grace: float = 0.0
    _client: ApiClient = field(init=False)

    def __post_init__(self) -> None:
        self._client = ApiClient(self.base_url, api_key=self.api_key,
                                 unreachable_grace=self.grace)
        self._tokens = DcpTokenProvider(self.signer) if self.signer is not None else None

    async def __aenter__(self) -> MarketplaceCaller:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """``method path`` with a JSON body; the decoded answer (ApiError on 4xx/5xx)."""
        headers: dict[str, str] = {}
        if self._tokens is not None:
            headers["Authorization"] = await self._tokens.token_for(self.marketplace_did,
                                                                    [MEMBERSHIP])
        return await self._client.request(method, path, json_body=body, headers=headers)

    async def get(self, path: str) -> Any:
        """GET ``path``."""
        return await self.call("GET", path)

    async def post(self, path: str, body: Any = None) -> Any:
        """POST ``body`` to ``path``."""
        return await self.call("POST", path, body)

    async def patch(self, path: str, body: Any) -> Any:
        """PATCH ``path`` with ``body`` (a JSON merge patch)."""
        return await self.call("PATCH", path, body)
