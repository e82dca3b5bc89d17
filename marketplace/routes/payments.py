"""Payment callbacks: the bank's signed "invoice paid", the card provider's webhook, the
operator's "paid".

The callbacks are anonymous but signed (``X-Invoice-Signature``,
``Stripe-Signature``); the raw body goes to the service unparsed, since the
signature is over its bytes. A refused callback (bad signature 401, stale
401, unreadable 400, wrong amount 409, replayed event 409) changes nothing.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from marketplace.payments.invoice import InvoicePaidCallback
from marketplace.routes import caller, services
from servicekit.openapi import operation
from servicekit.web import json_response, read_body

__all__ = ["routes"]

routes = web.RouteTableDef()

_TAGS = ["payments"]
_APPLIED: dict[str, Any] = {
    "type": "object", "properties": {"order": {"type": "string"}, "state": {"type": "string"},
                                     "event": {"type": "string"}}}
_REFUSED: dict[int, Any] = {400: "Not a payment event", 401: "Signature missing, wrong or stale",
                            404: "No such order", 409: "Amount mismatch or a replayed event"}


@routes.post("/payments/invoice/callback")
@operation("An invoice was paid (signed by the bank or accounting system)", tags=_TAGS,
           request=InvoicePaidCallback, responses={200: _APPLIED, **_REFUSED})
async def invoice_paid(request: web.Request) -> web.Response:
    """``X-Invoice-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}." + body>``."""
    raw = await read_body(request)
    return json_response(await services(request).payments.callback(
        "invoice", request.headers, raw))


@routes.post("/payments/card/webhook")
@operation("The card provider's webhook (payment_intent events)", tags=_TAGS,
           request={"type": "object"}, responses={200: _APPLIED, **_REFUSED})
async def card_webhook(request: web.Request) -> web.Response:
    """``Stripe-Signature`` over the raw body; succeeded completes the order."""
    raw = await read_body(request)
    return json_response(await services(request).payments.callback(
        "card", request.headers, raw))


@routes.post("/payments/invoice/{order_id}/paid")
@operation("The operator marks an order's invoice paid", tags=_TAGS, security="bearer",
           responses={200: _APPLIED, 403: "Not the operator", **_REFUSED})
async def mark_paid(request: web.Request) -> web.Response:
    """Completes the order; marking the same invoice paid twice is refused (409)."""
    who = await caller(request)
    return json_response(await services(request).payments.mark_paid(
        who, request.match_info["order_id"]))
