"""What every DSP handler does: authenticate, read and validate the message, answer in DSP."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import orjson
from aiohttp import web

from connector.domain.caller import Caller
from connector.errors import DSP_PIDS
from connector.keys import CONTROL_PLANE, SERVICES, Services
from connector.protocol.schemas import validator
from servicekit.errors import InvalidRequest
from servicekit.web import json_response, read_body, read_json

__all__ = [
    "MESSAGE_SCHEMA",
    "answer",
    "authenticate",
    "peek_agreement_id",
    "peek_offer_id",
    "read_message",
    "services",
]

#: The OpenAPI request/response schema of a DSP message (the JSON Schemas are normative).
MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A DSP 2025-1 message in the plain JSON form; see the DSP JSON Schemas.",
    "required": ["@context", "@type"],
}


def services(request: web.Request) -> Services:
    """The services behind the handlers."""
    return request.config_dict[SERVICES]


async def authenticate(request: web.Request, required: Collection[str] = ()) -> Caller:
    """The verified caller (401/403 in the DSP error shape otherwise).

    ``required``: credential types this request needs proven on top of what
    every caller proves (see :mod:`connector.auth`). A body of undeclared
    length (chunked) is read first, so one over the size limit is a 413
    before the caller's services are queried (a declared length is checked
    by ``body_limit_middleware``).
    """
    if request.body_exists and request.content_length is None:
        await read_body(request)
    authenticator = request.config_dict[CONTROL_PLANE].auth.authenticator
    return await authenticator.authenticate(request, required)


async def _peek(request: web.Request) -> dict[str, Any]:
    """The body before it is authenticated or validated ({} when it is not a JSON object).

    Only to know which credentials to ask the caller for; anything unreadable
    is refused by :func:`read_message` after authentication; a body over the
    size limit is a 413 at once.
    """
    raw = await read_body(request)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


async def peek_offer_id(request: web.Request) -> str | None:
    """The ``offer.@id`` of a contract request body (see :func:`_peek`)."""
    offer = (await _peek(request)).get("offer")
    offer_id = offer.get("@id") if isinstance(offer, dict) else None
    return offer_id if isinstance(offer_id, str) else None


async def peek_agreement_id(request: web.Request) -> str | None:
    """The ``agreementId`` of a transfer request body (see :func:`_peek`)."""
    agreement_id = (await _peek(request)).get("agreementId")
    return agreement_id if isinstance(agreement_id, str) else None


async def read_message(request: web.Request, message_type: str) -> dict[str, Any]:
    """The request body, validated as a ``message_type`` against its DSP schema."""
    body = await read_json(request)
    if isinstance(body, dict):
        request[DSP_PIDS] = (str(body.get("providerPid", "") or ""),
                             str(body.get("consumerPid", "") or ""))
    if not isinstance(body, dict) or body.get("@type") != message_type:
        raise InvalidRequest(f"this endpoint takes a {message_type}",
                             code="dsp-wrong-message-type")
    validator().validate(body, message_type)
    return body


def remember_pids(request: web.Request, provider_pid: str | None,
                  consumer_pid: str | None) -> None:
    """Name the process in error bodies from now on."""
    request[DSP_PIDS] = (provider_pid or "", consumer_pid or "")


def answer(body: Mapping[str, Any], *, status: int = 200,
           headers: Mapping[str, str] | None = None) -> web.Response:
    """A DSP response, validated against its schema before it leaves."""
    validator().validate(body)
    return json_response(body, status=status, headers=headers)
