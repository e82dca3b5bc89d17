"""The data plane over HTTP: the byte path (streaming proxy) and the data plane's own endpoints.

* ``GET|HEAD <data path>[/<sub-path>]``: pull data with the access token
  (``Authorization: Bearer``); the purpose goes in the purpose header.
* ``POST /dataplane/refresh``: a fresh access token for a live transfer.
* ``GET /dataplane/receipt``: a signed receipt of the caller's own usage.
* ``POST /dataplane/decide`` and ``POST /dataplane/settle``: the decision half
  for a front that moves the bytes itself (nginx ``auth_request``); they need
  the internal key (``X-Dataplane-Key``).

The handlers only translate between HTTP and the decision engine; the proxy
streams chunks from the backend to the client as they come, so memory stays
flat whatever the size. There is no per-request log line on the data path:
counters are on ``/metrics``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, Metric
from pydantic import BaseModel, ConfigDict, Field

from connector.dataplane.backends import BackendBroken, Source, SourceRequest
from connector.dataplane.decision import DataRequest, DecisionEngine, Denial, Ticket
from connector.dataplane.runtime import DataPlane
from connector.dataplane.tickets import decode_ticket, encode_ticket
from servicekit.auth import ApiKeyVerifier, bearer_token
from servicekit.errors import DataspaceError, InvalidToken, Unauthorized
from servicekit.openapi import operation
from servicekit.web import high_volume, json_response, parse_body, problem_response

__all__ = [
    "DATA_PLANE",
    "INTERNAL_KEYS",
    "METRICS",
    "DataPlaneMetrics",
    "add_data_plane_routes",
]

DATA_PLANE = web.AppKey("data_plane", DataPlane)
INTERNAL_KEYS = web.AppKey("data_plane_internal_keys", ApiKeyVerifier)
#: Where the routes of :func:`add_data_plane_routes` put the data endpoint.
_DATA_PATH = web.AppKey("data_plane_path", str)

_log = structlog.get_logger("connector.dataplane")
_TAGS = ["data plane"]
_BEARER = "bearer"
_PURPOSE_PARAM = {"name": "X-Purpose", "in": "header", "required": False,
                  "schema": {"type": "string"},
                  "description": "The purpose of this use (an IRI); the header name is a setting."}


class DataPlaneMetrics:
    """Counters of the data path (instead of a log line per request).

    Plain integers on the hot path (one event loop per process, so no lock is
    needed); Prometheus reads them when it scrapes.
    """

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.permitted = self.denied = self.failures = self.sent = 0
        if registry is not None:
            registry.register(self)

    def permit(self, size: int) -> None:
        """One permitted, delivered request."""
        self.permitted += 1
        self.sent += size

    def deny(self) -> None:
        """One refused request."""
        self.denied += 1

    def failed(self) -> None:
        """One permitted request whose backend failed."""
        self.failures += 1

    def collect(self) -> Iterator[Metric]:
        """The Prometheus view of the counters."""
        requests = CounterMetricFamily("dataplane_requests", "Data requests by outcome",
                                       labels=["outcome"])
        requests.add_metric(["permit"], self.permitted)
        requests.add_metric(["deny"], self.denied)
        requests.add_metric(["backend-failed"], self.failures)
        yield requests
        yield CounterMetricFamily("dataplane_bytes", "Bytes streamed to consumers",
                                  value=self.sent)


METRICS = web.AppKey("data_plane_metrics", DataPlaneMetrics)


def _plane(request: web.Request) -> DataPlane:
    # the app the route is on holds it (cheaper than config_dict's chain of apps)
    return request.app[DATA_PLANE]


def _metrics(request: web.Request) -> DataPlaneMetrics:
    return request.app[METRICS]


# --- the byte path ---------------------------------------------------------------------


@high_volume  # inside the connector's app: counted in its metrics, not logged line by line
@operation("Pull data under a transfer's agreement", tags=_TAGS, security=_BEARER,
           parameters=[_PURPOSE_PARAM],
           response_content_type="application/octet-stream",
           responses={200: "The data, streamed from the source",
                      401: {"type": "object"}, 403: {"type": "object"},
                      502: {"type": "object"}, 504: {"type": "object"}})
async def pull(request: web.Request) -> web.StreamResponse:
    """Check the access token and the agreement's policy, then stream from the data source."""
    plane = _plane(request)
    data_request = DataRequest(
        token=bearer_token(request), method=request.method,
        path=request.match_info.get("tail", ""), query=request.rel_url.raw_query_string,
        purpose=request.headers.get(plane.settings.purpose_header),
        client_ip=request.remote)
    verdict = await plane.decisions.decide(data_request)
    if isinstance(verdict, Denial):
        _metrics(request).deny()
        return problem_response(verdict.error, instance=request.path)
    return await _stream(request, plane, verdict, data_request)


class _Settlement:
    """How one permitted response ended: settled with the decision engine, and counted, once.

    ``with`` it around everything after the decision, and call :meth:`end`
    when the response has ended. A consumer that goes away (the connection
    drops, the handler is cancelled) has not received the data whole, so it
    is no use (and no outcome of ours to count); anything else that fails
    before :meth:`end` is settled as a failure.
    """

    __slots__ = ("_decisions", "_end", "_metrics", "_ticket", "size")

    def __init__(self, decisions: DecisionEngine, metrics: DataPlaneMetrics,
                 ticket: Ticket) -> None:  # fmt: skip
        self._decisions = decisions
        self._metrics = metrics
        self._ticket = ticket
        self._end: tuple[int, bool, str | None] | None = None
        #: Bytes sent so far.
        self.size = 0

    def end(self, status: int, *, failed: bool = False, error: str | None = None) -> None:
        """The response ended with ``status`` after :attr:`size` bytes."""
        self._end = (status, failed or status >= 400, error)

    def __enter__(self) -> _Settlement:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: object, trace: object) -> None:
        if kind is not None and issubclass(kind, (ConnectionError, asyncio.CancelledError)):
            self._decisions.settle(self._ticket, status=499, size=self.size, failed=True,
                                   error="client-disconnected")
            return
        status, failed, error = self._end or (500, True, "proxy-failed")
        self._decisions.settle(self._ticket, status=status, size=self.size, failed=failed,
                               error=error)
        if failed:
            self._metrics.failed()
        else:
            self._metrics.permit(self.size)


async def _stream(request: web.Request, plane: DataPlane, ticket: Ticket,
                  data_request: DataRequest) -> web.StreamResponse:  # fmt: skip
    assert ticket.flow is not None
    assert plane.backends is not None
    with _Settlement(plane.decisions, _metrics(request), ticket) as outcome:
        try:
            source = await plane.backends.open(ticket.flow.backend, SourceRequest(
                method=request.method, path=data_request.path, query=data_request.query,
                accept=request.headers.get("Accept")))
        except DataspaceError as error:
            outcome.end(error.status, failed=True, error=error.code)
            return problem_response(error, instance=request.path)
        try:
            headers = source.headers
            if ticket.headers:
                headers.update(ticket.headers)
            if source.body is None and request.method != "HEAD":
                return await _send_chunks(request, source, headers, ticket, outcome)
            body = source.body if request.method != "HEAD" else None
            if body is None and source.content_length is not None:
                headers["Content-Length"] = str(source.content_length)  # what a GET would send
            outcome.size = len(body or b"")
            outcome.end(source.status)
            return web.Response(status=source.status, body=body, headers=headers)
        finally:
            await source.close()


async def _send_chunks(request: web.Request, source: Source, headers: dict[str, str],
                       ticket: Ticket, outcome: _Settlement) -> web.StreamResponse:  # fmt: skip
    """Stream the body as it comes; a backend that breaks off cuts the response short."""
    stream = web.StreamResponse(status=source.status, headers=headers)
    if source.content_length is not None:
        stream.content_length = source.content_length
    await stream.prepare(request)
    try:
        async for chunk in source.chunks():
            await stream.write(chunk)
            outcome.size += len(chunk)
    except BackendBroken as exc:
        # Headers are gone; the only honest signal left is to cut the connection
        # short (no final chunk, or fewer bytes than announced).
        _log.warning("backend_failed_mid_stream", transfer=ticket.transfer_id,
                     sent=outcome.size, error=str(exc))
        outcome.end(502, failed=True, error="backend-broke-mid-stream")
        if request.transport is not None:
            request.transport.close()
        return stream
    await stream.write_eof()
    outcome.end(source.status)
    return stream


# --- tokens and receipts ----------------------------------------------------------------


class TokenOut(BaseModel):
    """A fresh access token."""

    token: str
    expires_at: float = Field(description="Expiry, epoch seconds.")
    endpoint: str
    transfer_id: str


@operation("Exchange a current (or just expired) access token for a fresh one", tags=_TAGS,
           security=_BEARER,
           responses={200: TokenOut, 401: {"type": "object"}, 403: {"type": "object"}})
async def refresh(request: web.Request) -> web.Response:
    """Refresh the access token of a live transfer."""
    plane = _plane(request)
    token = bearer_token(request)
    if token is None:
        raise InvalidToken("a bearer access token is required", code="access-token-missing")
    fresh, expires, flow = await plane.decisions.refresh(
        token, grace=plane.settings.refresh_grace_seconds)
    return json_response(TokenOut(token=fresh, expires_at=expires, endpoint=plane.endpoint,
                                  transfer_id=flow.transfer_id))


@operation("A signed receipt of the caller's usage under its transfer", tags=_TAGS,
           security=_BEARER, responses={200: {"type": "object"}, 401: {"type": "object"}})
async def receipt(request: web.Request) -> web.Response:
    """Usage of the caller's transfer (requests, bytes), signed with the connector's key."""
    plane = _plane(request)
    token = bearer_token(request)
    if token is None:
        raise InvalidToken("a bearer access token is required", code="access-token-missing")
    claims = plane.tokens.verify(token, grace=plane.settings.refresh_grace_seconds)
    return json_response(await plane.receipt(claims.transfer_id))


# --- the decision over HTTP (for an nginx auth_request front) ---------------------------


class DecideIn(BaseModel):
    """The request to decide; headers of the call fill what the body leaves out."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(default=None, max_length=16_384)
    method: str = Field(default="GET", pattern="^(GET|HEAD)$")
    path: str = Field(default="", max_length=4096)
    query: str = Field(default="", max_length=8192)
    purpose: str | None = Field(default=None, max_length=2000)
    client_ip: str | None = Field(default=None, max_length=64)


class SettleIn(BaseModel):
    """How a permitted response ended."""

    model_config = ConfigDict(extra="forbid")

    ticket: str = Field(min_length=1, max_length=4096)
    status: int = Field(ge=100, le=599)
    bytes: int = Field(ge=0)
    failed: bool = False


def _internal(request: web.Request) -> None:
    keys = request.app.get(INTERNAL_KEYS)
    if keys is None or not keys.verify(request.headers.get("X-Dataplane-Key")):
        raise Unauthorized("this endpoint needs the data plane's internal key (X-Dataplane-Key)",
                           code="internal-key-required")


def _split_uri(uri: str, prefix: str) -> tuple[str, str]:
    path, _, query = uri.partition("?")
    if path.startswith(prefix):
        path = path[len(prefix):]
    return path.lstrip("/"), query


@operation("Decide a data request (nginx auth_request)", tags=["data plane (internal)"],
           request=DecideIn,
           responses={200: {"type": "object"}, 400: {"type": "object"},
                      401: {"type": "object"}, 403: {"type": "object"}})
async def decide(request: web.Request) -> web.Response:
    """Allow (200, ``X-Dataplane-Ticket``) or deny (401/403 problem+json) a data request.

    With an empty body the request is read from the headers nginx passes:
    ``Authorization``, ``X-Original-Method``, ``X-Original-URI``, ``X-Real-IP``
    and the purpose header.
    """
    _internal(request)
    plane = _plane(request)
    if request.can_read_body:
        body = await parse_body(request, DecideIn)
    else:
        path, query = _split_uri(request.headers.get("X-Original-URI", ""),
                                 request.app[_DATA_PATH])
        body = DecideIn(token=bearer_token(request),
                        method=request.headers.get("X-Original-Method", "GET"),
                        path=path, query=query,
                        purpose=request.headers.get(plane.settings.purpose_header),
                        client_ip=request.headers.get("X-Real-IP"))
    verdict = await plane.decisions.decide(DataRequest(
        token=body.token, method=body.method, path=body.path, query=body.query,
        purpose=body.purpose, client_ip=body.client_ip))
    if isinstance(verdict, Denial):
        _metrics(request).deny()
        response = problem_response(verdict.error, instance=request.path)
        response.headers["X-Dataplane-Decision"] = "deny"
        return response
    ticket = encode_ticket(verdict)
    headers = {"X-Dataplane-Decision": "allow", "X-Dataplane-Ticket": ticket, **verdict.headers}
    out: dict[str, Any] = {"decision": "allow", "ticket": ticket, "headers": verdict.headers}
    return json_response(out, headers=headers)


@operation("Report how a permitted response ended", tags=["data plane (internal)"],
           request=SettleIn, responses={204: None, 400: {"type": "object"}})
async def settle(request: web.Request) -> web.Response:
    """Meter the use (or give it back when the response failed)."""
    _internal(request)
    body = await parse_body(request, SettleIn)
    ticket = decode_ticket(body.ticket)
    with _Settlement(_plane(request).decisions, _metrics(request), ticket) as outcome:
        outcome.size = body.bytes
        outcome.end(body.status, failed=body.failed)
    return web.Response(status=204)


def add_data_plane_routes(app: web.Application, data_path: str, *, internal: bool = True,
                          public: bool = True) -> None:  # fmt: skip
    """Add the data plane's routes; ``data_path`` is the path of the data endpoint (``/data``).

    ``public``: the data path, refresh and receipt (what consumers call);
    ``internal``: decide and settle (what a front in front of the byte path calls).
    """
    base = "/" + data_path.strip("/")
    app[_DATA_PATH] = base
    if public:
        for path in (base, base.rstrip("/") + "/{tail:.*}"):
            app.router.add_get(path, pull)
        app.router.add_post("/dataplane/refresh", refresh)
        app.router.add_get("/dataplane/receipt", receipt)
    if internal:
        app.router.add_post("/dataplane/decide", decide)
        app.router.add_post("/dataplane/settle", settle)
