"""Usage receipts on the consumer side: fetch the provider's signed receipt, keep it.

The consumer's connector does not proxy downloads (a client pulls from the
provider's data plane with the endpoint data reference), so it never sees a
receipt by itself. :meth:`ReceiptService.fetch` asks the provider's data
plane for the signed receipt of one of our started transfers
(``GET /dataplane/receipt`` with the transfer's access token), checks that
the provider signed it, and stores it, verified or not (with why not), so
the owner keeps evidence of what the provider counted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from connector.core import ControlPlane, new_pid
from connector.domain.negotiation import Role
from connector.services.transfers import TransferService
from connector.store import receipts as store
from connector.trust import Trust
from identity.errors import VerificationError
from identity.signed import verify_signed_jwt
from servicekit.errors import Conflict, NotFound, UpstreamError

__all__ = ["RECEIPT_TYPE", "ReceiptService"]

RECEIPT_TYPE = "usage-receipt+jwt"
_MAX_ANSWER = 256 * 1024
_TIMEOUT = 15.0


class ReceiptService:
    """Fetch, verify, keep and list usage receipts (see the module docstring)."""

    def __init__(self, plane: ControlPlane, transfers: TransferService, trust: Trust) -> None:
        self.plane = plane
        self.transfers = transfers
        self.trust = trust

    async def fetch(self, transfer_id: str) -> dict[str, Any]:
        """Fetch and store the provider's receipt for our transfer ``transfer_id``."""
        transfer = await self.transfers.get(transfer_id)
        if transfer.role is not Role.CONSUMER:
            raise Conflict("receipts are for transfers we consume; this one we serve",
                           code="not-a-consumer-transfer")
        edr = await self.transfers.edr(transfer_id)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(edr.endpoint))
        try:
            async with asyncio.timeout(_TIMEOUT), self.plane.http.get(
                    f"{origin}/dataplane/receipt", allow_redirects=False,
                    headers={"Authorization": f"Bearer {edr.token}"}) as resp:
                raw = await resp.content.read(_MAX_ANSWER)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError(f"the provider's data plane could not be reached: "
                                f"{type(exc).__name__}", code="receipt-unavailable") from None
        try:
            answer = orjson.loads(raw)
            token = str(answer["receipt"])
            content = dict(answer["content"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise UpstreamError(f"the provider's data plane gave no receipt ({status})",
                                code="receipt-unavailable") from None
        problem = None
        try:
            content = await verify_signed_jwt(token, self.trust.resolver, typ={RECEIPT_TYPE},
                                              issuer=transfer.counterparty_id)
        except VerificationError as exc:
            problem = f"{exc.code}: {exc.detail}"
        if problem is None and content.get("consumerPid") not in (None, transfer.id):
            problem = f"the receipt is about transfer {content.get('consumerPid')}, not ours"
        values = {
            "id": new_pid(), "transfer_id": transfer.id, "agreement_id": transfer.agreement_id,
            "dataset_id": transfer.dataset_id, "provider_id": transfer.counterparty_id,
            "receipt": token, "content": content, "verified": problem is None,
            "problem": problem, "received_at": time.time(),
        }
        async with self.plane.transaction() as tx:
            await store.insert_receipt(tx.conn, values)
        return values

    async def get(self, receipt_id: str) -> dict[str, Any]:
        """One stored receipt (404 ``receipt-not-found``)."""
        async with self.plane.read() as conn:
            found = await store.list_receipts(conn, transfer_id=None, limit=1, offset=0,
                                              receipt_id=receipt_id)
        if not found:
            raise NotFound(f"no receipt {receipt_id}", code="receipt-not-found")
        return found[0]

    async def find(self, *, transfer_id: str | None, limit: int,
                   offset: int) -> list[dict[str, Any]]:
        """Stored receipts, newest first."""
        async with self.plane.read() as conn:
            return await store.list_receipts(conn, transfer_id=transfer_id, limit=limit,
                                              offset=offset)
