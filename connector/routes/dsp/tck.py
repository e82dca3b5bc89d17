"""TCK mode only: the trigger endpoints the Eclipse DSP TCK posts to when it plays the provider.

``dataspacetck.dsp.connector.negotiation.initiate.url`` → ``POST /dsp/tck/negotiations``
and ``dataspacetck.dsp.connector.transfer.initiate.url`` → ``POST /dsp/tck/transfers``.
They are authenticated like any DSP call (the TCK sends its fixed token).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from connector.routes.dsp.common import authenticate, services
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body

__all__ = ["routes"]

routes = web.RouteTableDef()


class _Trigger(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    provider_id: str = Field(alias="providerId", min_length=1)
    connector_address: str = Field(alias="connectorAddress", pattern=r"^https?://")


class NegotiationTrigger(_Trigger):
    """What the TCK sends to make us request a contract."""

    dataset_id: str = Field(alias="datasetId", min_length=1)
    offer_id: str = Field(alias="offerId", min_length=1)


class TransferTrigger(_Trigger):
    """What the TCK sends to make us request a transfer."""

    agreement_id: str = Field(alias="agreementId", min_length=1)
    format: str = Field(min_length=1)


@routes.post("/tck/negotiations")
@operation("TCK: start a negotiation with the TCK as provider", tags=["tck"],
           request=NegotiationTrigger, responses={200: {"type": "object"}})
async def trigger_negotiation(request: web.Request) -> web.Response:
    """Request a contract for ``offerId`` on ``datasetId`` from the TCK at ``connectorAddress``."""
    await authenticate(request)
    trigger = await parse_body(request, NegotiationTrigger)
    offer = {"@id": trigger.offer_id, "@type": "Offer", "target": trigger.dataset_id,
             "permission": [{"action": "use"}]}
    negotiation = await services(request).negotiations.start(
        counterparty_address=trigger.connector_address, counterparty_id=trigger.provider_id,
        offer=offer,
    )
    return json_response({"consumerPid": negotiation.id, "state": negotiation.state.value})


@routes.post("/tck/transfers")
@operation("TCK: start a transfer with the TCK as provider", tags=["tck"],
           request=TransferTrigger, responses={200: {"type": "object"}})
async def trigger_transfer(request: web.Request) -> web.Response:
    """Request a transfer under the seeded agreement ``agreementId``."""
    await authenticate(request)
    trigger = await parse_body(request, TransferTrigger)
    transfer = await services(request).transfers.start(
        agreement_id=trigger.agreement_id, format=trigger.format,
        counterparty_address=trigger.connector_address,
    )
    return json_response({"consumerPid": transfer.id, "state": transfer.state.value})
