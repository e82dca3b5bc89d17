"""Request plumbing: JSON in and out, problem+json errors, request ids, access log.

Handlers stay thin: ``body = await parse_body(request, Model)`` → domain →
``return json_response(result)``. Anything raised on the way is turned into
an RFC 9457 problem+json response by :func:`error_middleware`, with a stable
``code`` and no internals.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from servicekit.errors import (
    DataspaceError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)

__all__ = [
    "ERROR_RENDERER",
    "PROBLEM_CONTENT_TYPE",
    "REQUEST_ID",
    "ErrorRenderer",
    "Handler",
    "body_limit_middleware",
    "cached_response",
    "error_middleware",
    "high_volume",
    "json_response",
    "parse_body",
    "problem_response",
    "pydantic_errors",
    "read_body",
    "read_json",
    "request_context_middleware",
    "stream_download",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
REQUEST_ID = web.RequestKey("request_id", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Renders an error for a protocol with its own error body (e.g. DSP).
ErrorRenderer = Callable[[web.Request, DataspaceError], web.Response]
#: An app may set this to render errors its own way (a DSP sub-app does).
ERROR_RENDERER: web.AppKey[ErrorRenderer] = web.AppKey("error_renderer")

_M = TypeVar("_M", bound=BaseModel)
_H = TypeVar("_H", bound=Handler)
_HIGH_VOLUME = "__servicekit_high_volume__"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_log = structlog.get_logger("servicekit.web")


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", by_alias=True, exclude_none=True)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def json_response(
    data: Any,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> web.Response:
    """Serialise ``data`` (dicts, lists, pydantic models) with orjson."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True, exclude_none=True)
    body = orjson.dumps(data, default=_default)
    response = web.Response(body=body, status=status, headers=headers)
    response.content_type = content_type
    return response


def cached_response(
    request: web.Request, text: str, *, content_type: str, etag: str, max_age: int
) -> web.Response:
    """``text`` with a strong ``ETag`` and ``Cache-Control: public, max-age``; 304 when current.

    For documents that change rarely and are fetched often (status lists).
    """
    tag = f'"{etag}"'
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}"}
    if request.headers.get("If-None-Match") == tag:
        return web.Response(status=304, headers=headers)
    return web.Response(text=text, content_type=content_type, headers=headers)


def problem_response(error: DataspaceError, instance: str | None = None) -> web.Response:
    """The RFC 9457 response for ``error``."""
    response = json_response(
        error.to_problem(instance), status=error.status, content_type=PROBLEM_CONTENT_TYPE
    )
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="dataspace"'
    return response


async def stream_download(request: web.Request, chunks: AsyncIterator[bytes], *,
                          content_type: str, filename: str,
                          headers: Mapping[str, str] | None = None,
                          content_length: int | None = None) -> web.StreamResponse:
    """Stream ``chunks`` as a download named ``filename`` (with extra ``headers``).

    The first chunk is read before the response starts, so an error the
    producer raises at once (nothing to export, a bad filter) is still answered
    as a problem instead of a broken stream.
    """
    first = await anext(chunks, b"")
    response = web.StreamResponse(headers={
        **(headers or {}),
        "Content-Type": content_type,
        "Content-Disposition": f'attachment; filename="{filename}"'})
    if content_length is not None:
        response.content_length = content_length
    await response.prepare(request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


async def read_body(request: web.Request) -> bytes:
    """The whole request body (kept for later reads), or 413 ``payload-too-large``."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge("the request body exceeds the size limit") from None


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or ``InvalidRequest`` with a stable code."""
    raw = await read_body(request)
    if not raw:
        raise InvalidRequest(
            "request body is empty; a JSON document is required", code="empty-body"
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"malformed JSON: {exc.msg}", code="malformed-json") from None


def pydantic_errors(exc: PydanticValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as problem+json ``errors`` members (JSON pointer paths)."""
    errors = []
    for item in exc.errors(include_url=False, include_context=False, include_input=False):
        path = "/" + "/".join(str(part) for part in item["loc"]) if item["loc"] else ""
        errors.append({"path": path, "message": item["msg"], "code": item["type"]})
    return errors


async def parse_body(request: web.Request, model: type[_M] | TypeAdapter[_M]) -> _M:
    """Read, decode and validate the request body into ``model``."""
    data = await read_json(request)
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationFailed(
            "the request body does not match the expected schema", errors=pydantic_errors(exc)
        ) from None


_HTTP_CODES = {
    400: ("bad-request", InvalidRequest),
    404: ("route-not-found", NotFound),
    405: ("method-not-allowed", InvalidRequest),
    413: ("payload-too-large", PayloadTooLarge),
}


def _from_http_exception(exc: web.HTTPException) -> DataspaceError:
    code, family = _HTTP_CODES.get(exc.status, ("http-error", InvalidRequest))
    error = family(exc.reason, code=code)
    if exc.status != error.status:
        # Keep aiohttp's status (e.g. 405) while speaking problem+json.
        error = _with_status(error, exc.status)
    return error


def _with_status(error: DataspaceError, status: int) -> DataspaceError:
    cls = type(f"{type(error).__name__}{status}", (type(error),), {"status": status})
    copy: DataspaceError = cls(error.detail, code=error.code, extra=error.extra)
    return copy


def _render(request: web.Request, error: DataspaceError) -> web.Response:
    # The innermost application that has a renderer wins. (``config_dict`` would
    # only see the application whose middleware is running, not a sub-app's.)
    for app in reversed(request.match_info.apps):
        renderer: ErrorRenderer | None = app.get(ERROR_RENDERER)
        if renderer is not None:
            return renderer(request, error)
    return problem_response(error, instance=request.path)


@web.middleware
async def body_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a body declared longer than the limit (413) before the handler does any work.

    Handlers that authenticate before they read the body (a DCP caller's
    Credential Service is queried) would otherwise do that work for a body
    they then refuse. A body of undeclared length (chunked) is only known
    as it is read: read it with :func:`read_body` before such work.
    """
    length = request.content_length
    if length is not None and length > request.client_max_size:
        raise PayloadTooLarge(
            f"the request body ({length} bytes) exceeds the limit of "
            f"{request.client_max_size} bytes")
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map every error to problem+json; unexpected ones become a bare 500."""
    try:
        return await handler(request)
    except DataspaceError as error:
        if error.status >= 500:
            _log.warning("request_failed", code=error.code, detail=error.detail)
        return _render(request, error)
    except PydanticValidationError as exc:
        return _render(
            request,
            ValidationFailed("the request does not match the expected schema",
                             errors=pydantic_errors(exc)),
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _render(request, _from_http_exception(exc))
    except Exception:
        _log.exception("unhandled_error")
        return _render(request, DataspaceError("an unexpected error occurred"))


def _route_name(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


def high_volume(handler: _H) -> _H:
    """Flag a route's handler as too busy to log request by request (a data path).

    :func:`request_context_middleware` still binds the request id and records
    each of its requests in the metrics (``observe``), but writes no
    ``request_served`` line for them.
    """
    setattr(handler, _HIGH_VOLUME, True)
    return handler


def request_context_middleware(
    *, service: str, access_log: bool = True, observe: Callable[..., None] | None = None
) -> Any:
    """Bind a request id, log one summary line and record metrics per request.

    ``observe(method, route, status, seconds)`` is called once per request
    (the metrics hook). The id comes from a well-formed ``X-Request-ID``
    header or is generated, and is echoed in the response. Routes whose
    handler is flagged :func:`high_volume` are observed but not logged.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request[REQUEST_ID] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id, service=service)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            if not response.prepared:
                response.headers["X-Request-ID"] = request_id
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = _route_name(request)
            if observe is not None:
                observe(request.method, route, status, elapsed)
            if access_log and not getattr(request.match_info.handler, _HIGH_VOLUME, False):
                _log.info(
                    "request_served",
                    method=request.method,
                    path=request.path,
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id", "service")

    return middleware
