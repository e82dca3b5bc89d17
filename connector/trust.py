"""The connector's DCP machinery, built once per process and shared by verifier and holder.

:class:`Trust` holds what both sides of the Decentralized Claims Protocol
use: the DID resolver (over the guarded session, our own document
preloaded), the status-list checker, the credential verifier, the
trusted-issuers registry of the configured trust anchor, the replay store
in the database (so replicas share it), and our :class:`~identity.dcp.DcpHolder`.
The ``dcp`` auth mode (:mod:`connector.auth.dcp`) verifies DSP callers with
it; the Credential Service routes and the membership operations use its
holder and verifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from connector.settings import ConnectorSettings
from connector.store.replay import DatabaseReplayStore
from identity.cache import TokenCache
from identity.dcp import DcpHolder
from identity.did_web import did_web_from_url
from identity.resolver import DidResolver
from identity.signer import Signer
from identity.status_check import StatusListChecker
from identity.trusted_issuers import TrustedIssuers
from identity.vc import VerifiedCredential
from identity.vc_verify import CredentialVerifier

__all__ = ["CREDENTIAL_SERVICE_PATH", "Trust", "credential_service_entry"]

#: Where our Credential Service is mounted on the public port.
CREDENTIAL_SERVICE_PATH = "/dcp"


def credential_service_entry(base_url: str) -> dict[str, str]:
    """Our DID document's ``CredentialService`` entry (the base URL of the DCP endpoints)."""
    return {"id": "#credential-service", "type": "CredentialService",
            "serviceEndpoint": base_url.rstrip("/") + CREDENTIAL_SERVICE_PATH}


@dataclass
class Trust:
    """DCP components of one connector process (see the module docstring)."""

    did: str
    signer: Signer
    session: aiohttp.ClientSession
    resolver: DidResolver
    status: StatusListChecker
    credentials: CredentialVerifier
    replay: DatabaseReplayStore
    holder: DcpHolder
    trust_anchor_url: str | None
    trust_anchor_did: str | None
    registry: TrustedIssuers | None

    @classmethod
    def build(
        cls,
        settings: ConnectorSettings,
        *,
        signer: Signer,
        did_document: Mapping[str, Any] | None,
        engine: AsyncEngine,
        session: aiohttp.ClientSession,
    ) -> Trust:
        """Wire the components; nothing is fetched until it is needed.

        ``session`` must be the guarded client session (DID documents,
        status lists and credential services are at addresses other parties
        name); with ``--dev`` it also reaches loopback.
        """
        dcp = settings.auth.dcp
        dev = settings.dev
        resolver = DidResolver(session=session, allow_loopback=dev)
        if did_document is not None:
            resolver.preload(signer.did, did_document)
        status = StatusListChecker(session=session, allow_loopback=dev, ttl=dcp.status_list_ttl)
        credentials = CredentialVerifier(
            resolver, cache=TokenCache[VerifiedCredential](), status_checker=status,
            max_cache_seconds=dcp.status_list_ttl,
        )
        replay = DatabaseReplayStore(engine)
        holder = DcpHolder(signer, resolver, replay, credential_verifier=credentials)
        ta_url = settings.trust_anchor_url.rstrip("/") if settings.trust_anchor_url else None
        ta_did = dcp.trust_anchor_did or (did_web_from_url(ta_url) if ta_url else None)
        registry = None
        if ta_url is not None and ta_did is not None:
            registry = TrustedIssuers(session, ta_url, credentials, ta_did, ttl=dcp.registry_ttl)
        return cls(
            did=signer.did, signer=signer, session=session, resolver=resolver, status=status,
            credentials=credentials, replay=replay, holder=holder, trust_anchor_url=ta_url,
            trust_anchor_did=ta_did, registry=registry,
        )

    async def close(self) -> None:
        """Release what the components own (the session is the app's)."""
        await self.status.close()
        await self.resolver.close()
