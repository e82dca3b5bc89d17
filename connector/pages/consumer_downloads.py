"""The consumer's downloads: transfers we pull, the data through the console, the receipts.

"Download" fetches from the provider's data plane with the transfer's endpoint
data reference (``GET /api/v1/transfers/{id}/edr`` gives a script the same
reference to pull with) and the stated purpose in the purpose header, and
streams the bytes to the browser. The provider's signed usage receipts are
fetched and kept by :class:`~connector.services.receipts.ReceiptService`
(``POST /api/v1/transfers/{id}/receipt``) and read back from it.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from aiohttp import web

from connector.domain.negotiation import Role
from connector.domain.transfer import TransferState
from connector.pages.consumer_common import (
    provider_names,
    purpose_label,
    purposes_of,
    routes,
    services,
)
from servicekit.console.web import PAGE_HEADERS, form, may, page, redirect, render
from servicekit.errors import DataspaceError, NotFound, UpstreamError, peer_refused
from servicekit.http import body_chunks
from servicekit.web import stream_download

__all__ = ["DOWNLOADERS"]

#: Who may download and fetch receipts (the roles with the manage scope, as for requests).
DOWNLOADERS = ("data_owner", "data_steward", "domain_lead")
_CHUNK = 64 * 1024
_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
_MAX_PURPOSE = 300


async def _purposes(request: web.Request, agreement_id: str, dataset_id: str | None
                    ) -> list[tuple[str, str]]:
    try:
        agreement = await services(request).negotiations.agreement(agreement_id)
    except NotFound:
        return []
    return [(p, purpose_label(p)) for p in purposes_of(agreement_id, agreement.policy,
                                                        dataset_id or agreement.dataset_id)]


@routes.get("/downloads")
@page("GET", "/downloads", "Downloads: the data I pull, its usage and the signed receipts")
async def downloads(request: web.Request) -> web.StreamResponse:
    """Transfers we consume (newest first) and the receipts we keep."""
    return await _downloads_page(request)


async def _downloads_page(request: web.Request, *, error: str | None = None,
                          status: int = 200) -> web.StreamResponse:
    svc = services(request)
    transfers = await svc.transfers.find(role=Role.CONSUMER, limit=100, offset=0)
    receipts = await svc.receipts.find(transfer_id=None, limit=200, offset=0)
    latest: dict[str, dict[str, Any]] = {}
    for receipt in receipts:  # newest first: the first one per transfer is the latest
        latest.setdefault(receipt["transfer_id"], receipt)
    names = await provider_names(request) if transfers else {}
    rows = []
    for transfer in transfers:
        live = transfer.state is TransferState.STARTED
        rows.append({
            "t": transfer, "live": live,
            "provider": names.get(transfer.counterparty_id, transfer.counterparty_id),
            "purposes": await _purposes(request, transfer.agreement_id, transfer.dataset_id)
            if live else [],
            "usage": (latest.get(transfer.id) or {}).get("content", {}).get("usage"),
        })
    return await render(request, "consumer/downloads.html", {
        "rows": rows, "receipts": receipts, "error": error,
        "may_download": may(request, *DOWNLOADERS)},
        status=status)


@routes.post("/downloads/{transfer_id}/download")
@page("POST", "/downloads/{transfer_id}/download",
      "Download a transfer's data for a stated purpose", roles=DOWNLOADERS)
async def download(request: web.Request) -> web.StreamResponse:
    """Pull through the provider's data plane with the EDR; the bytes go to the browser."""
    fields = await form(request)
    transfer_id = request.match_info["transfer_id"]
    svc = services(request)
    transfer = await svc.transfers.get(transfer_id)
    purpose = fields.get("purpose", "").strip()
    allowed = [p for p, _ in await _purposes(request, transfer.agreement_id,
                                             transfer.dataset_id)]
    if not purpose or len(purpose) > _MAX_PURPOSE or (allowed and purpose not in allowed):
        return await _downloads_page(
            request, status=400, error="State the purpose of this download" + (
                ": one the agreement allows." if allowed else "."))
    edr = await svc.transfers.edr(transfer_id)
    plane = svc.transfers.plane
    headers = {"Authorization": f"Bearer {edr.token}",
               plane.settings.data_plane.purpose_header: purpose}
    try:
        upstream = await plane.http.get(edr.endpoint, headers=headers, allow_redirects=False,
                                        timeout=_TIMEOUT)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise UpstreamError(f"the provider's data plane could not be reached: "
                            f"{type(exc).__name__}", code="data-plane-unavailable") from None
    try:
        if upstream.status != 200:
            raw = await upstream.content.read(64 * 1024)
            try:
                answer = await _json(raw)
            except ValueError:
                answer = None
            raise peer_refused(upstream.status, answer, "the provider's data plane refused "
                               f"the download ({upstream.status})", code="download-refused")
        return await stream_download(
            request, body_chunks(upstream, _CHUNK),
            content_type=upstream.headers.get("Content-Type", "application/octet-stream"),
            filename=_filename(transfer.dataset_id), headers=PAGE_HEADERS,
            content_length=upstream.content_length)
    finally:
        upstream.release()


async def _json(raw: bytes) -> Any:
    import orjson

    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValueError("not JSON") from None


def _filename(dataset_id: str | None) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", (dataset_id or "data").rsplit(":", 1)[-1]).strip("-")
    return (name or "data")[:80]


@routes.post("/downloads/{transfer_id}/receipt")
@page("POST", "/downloads/{transfer_id}/receipt",
      "Fetch and keep the provider's signed usage receipt", roles=DOWNLOADERS)
async def fetch_receipt(request: web.Request) -> web.StreamResponse:
    """As ``POST /api/v1/transfers/{id}/receipt``."""
    receipt = await services(request).receipts.fetch(request.match_info["transfer_id"])
    words = ("its signature verifies" if receipt["verified"]
             else "its signature does NOT verify — see why")
    return redirect(request, f"/downloads/receipts/{receipt['id']}",
                    notice=f"The provider's receipt is kept; {words}.")


@routes.get("/downloads/receipts/{receipt_id}")
@page("GET", "/downloads/receipts/{receipt_id}", "A signed usage receipt: what was signed")
async def receipt(request: web.Request) -> web.StreamResponse:
    """The signed content, who signed it and whether the signature verified."""
    found = await services(request).receipts.get(request.match_info["receipt_id"])
    try:
        provider = await services(request).members.member(found["provider_id"])
    except DataspaceError:
        provider = None
    content = found["content"] if isinstance(found["content"], dict) else {}
    signed = [(key, value) for key, value in content.items()
              if key not in ("usage", "audit")]
    return await render(request, "consumer/receipt.html", {
        "r": found, "usage": content.get("usage") or {}, "audit": content.get("audit") or {},
        "signed": signed,
        "provider": (provider or {}).get("legal_name") or found["provider_id"]})

