"""Management: ending an agreement (either role)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from connector.routes.management.common import admin, services
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body

__all__ = ["AgreementTerminationIn", "routes"]

routes = web.RouteTableDef()


class AgreementTerminationIn(BaseModel):
    """Why the agreement ends (sent with each live transfer's termination)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    code: str = Field(default="agreement-terminated", max_length=100)


_ANSWER = {"type": "object", "properties": {
    "agreement": {"type": "object", "description": "With terminated_at and "
                  "termination_reason set."},
    "transfers_terminated": {"type": "array", "items": {"type": "string"}}}}


@routes.post("/api/v1/agreements/{agreement_id}/terminate")
@admin
@operation("Terminate an agreement: its live transfers end, new ones are refused",
           tags=["agreements"], request=AgreementTerminationIn, responses={200: _ANSWER},
           security="bearer",
           description="409 agreement-terminated when it has ended already.")
async def terminate_agreement(request: web.Request) -> web.Response:
    """A reason is required; it is sent to the peer with each transfer's termination."""
    data = await parse_body(request, AgreementTerminationIn)
    agreement, ended = await services(request).agreements.terminate(
        request.match_info["agreement_id"], code=data.code, reason=data.reason)
    return json_response({"agreement": agreement.model_dump(mode="json"),
                          "transfers_terminated": ended})
