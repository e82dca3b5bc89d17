"""Connector errors and how the DSP endpoints render them.

The connector raises the shared families of :mod:`servicekit.errors` with
stable codes; the ones named here recur::

    DataspaceError
    ├── InvalidRequest
    │   └── UnknownOffer            400 unknown-offer       (no such offer for this caller)
    ├── NotFound
    │   └── ProcessNotFound         404 process-not-found   (unknown or not your process id)
    └── UpstreamError
        └── PeerError               502 peer-error          (a peer connector failed or refused)

On the DSP port, errors are not problem+json but the protocol's own bodies
(``CatalogError``, ``ContractNegotiationError``, ``TransferError``) with the
same stable ``code`` and the detail as ``reason``; an illegal state
transition is a 400 there, as DSP asks. :func:`render_dsp_error` is the
``ERROR_RENDERER`` of the DSP sub-application.
"""

from __future__ import annotations

from aiohttp import web

from connector.protocol import messages
from servicekit.errors import (
    DataspaceError,
    IllegalTransition,
    InvalidRequest,
    NotFound,
    UpstreamError,
    ValidationFailed,
)
from servicekit.web import json_response

__all__ = [
    "DSP_PIDS",
    "PeerError",
    "ProcessNotFound",
    "UnknownOffer",
    "render_dsp_error",
]

#: (providerPid, consumerPid) known while handling a DSP request, for error bodies.
DSP_PIDS: web.RequestKey[tuple[str, str]] = web.RequestKey("dsp_pids")


class UnknownOffer(InvalidRequest, code="unknown-offer", title="Unknown offer"):
    """The offer does not exist or is not visible to the caller."""


class ProcessNotFound(NotFound, code="process-not-found", title="Process not found"):
    """No negotiation or transfer with this id belongs to the caller."""


class PeerError(UpstreamError, code="peer-error", title="Peer connector error"):
    """A peer connector failed, refused, or answered something that is not DSP."""


def _reasons(error: DataspaceError) -> list[str]:
    reasons = [error.detail]
    if isinstance(error, ValidationFailed):
        for item in error.errors[:10]:
            path = item.get("path") or "/"
            reasons.append(f"{path}: {item.get('message', '')}")
    return reasons


def render_dsp_error(request: web.Request, error: DataspaceError) -> web.Response:
    """The DSP error body for ``error`` (the kind follows the endpoint's protocol)."""
    status = 400 if isinstance(error, IllegalTransition) else error.status
    path = request.path
    provider_pid, consumer_pid = request.get(DSP_PIDS, ("", ""))
    reasons = _reasons(error)
    if "/negotiations" in path:
        body = messages.negotiation_error(
            provider_pid=provider_pid, consumer_pid=consumer_pid, code=error.code, reason=reasons
        )
    elif "/transfers" in path:
        body = messages.transfer_error(
            provider_pid=provider_pid, consumer_pid=consumer_pid, code=error.code, reason=reasons
        )
    else:
        body = messages.catalog_error(error.code, reasons)
    response = json_response(body, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="dataspace"'
    return response
