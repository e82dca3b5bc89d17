"""HTTP API backends: forward GET/HEAD with the passthrough the dataset allows.

Backend properties:

* ``proxyPath`` = ``true``: append the request's sub-path to the address;
* ``proxyQueryParams`` = ``true``: pass the request's query string on
  (``queryParams`` adds fixed ones);
* ``header.<Name>``: a header sent to the backend (API keys, tokens); never
  shown to the consumer.

Only a few response headers are passed back (content type, caching,
disposition); the backend's status 5xx becomes 502, a timeout 504. Requests
go over :mod:`~connector.dataplane.backends.h1`'s kept-alive connections,
with everything that does not change per request (origin, path, header
block) prepared once per flow.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from connector.dataplane.backends.base import BackendBroken, Source, SourceRequest, flag
from connector.dataplane.backends.h1 import (
    BackendClosed,
    BackendProtocolError,
    ConnectionPool,
    Origin,
    Response,
)
from connector.domain.catalog import Backend
from servicekit.errors import UpstreamError, UpstreamTimeout

__all__ = ["USER_AGENT", "PreparedHttp", "open_http"]

USER_AGENT = "dataspace-toolkit data plane"
# what the consumer may see of the backend's answer (by lower-case name -> as sent)
_PASS_BACK = {name.lower(): name for name in (
    "Content-Type", "ETag", "Last-Modified", "Cache-Control", "Content-Disposition",
    "Content-Language")}
_SMALL = 64 * 1024
_PATH_SAFE = "/-._~!$&'()*+,;=:@"
_QUERY_SAFE = "/?-._~!$&'()*+,;=:@%"


def _visible(text: str) -> bool:
    """Only visible ASCII (what may go in a request target or a field value unencoded)."""
    return text.isascii() and text.isprintable() and " " not in text


@dataclass(frozen=True, slots=True)
class PreparedHttp:
    """What a backend's properties say, read once per flow instead of once per request."""

    origin: Origin
    path: str
    """The address's path, encoded."""
    query: str
    """The address's query and ``queryParams``, encoded."""
    proxy_path: bool
    proxy_query: bool
    fields: bytes
    """The request's head fields after the request line (Host, User-Agent, ``header.*``)."""

    @classmethod
    def of(cls, backend: Backend) -> PreparedHttp:
        """Read ``backend``'s properties (``UpstreamError`` if the address cannot be used)."""
        props = backend.properties
        try:
            parts = urlsplit(backend.address)
            port = parts.port
        except ValueError:
            parts, port = None, None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError("the data source's address is not an HTTP URL",
                                code="backend-unreachable")
        host = parts.hostname
        authority = f"[{host}]" if ":" in host else host
        if port is not None:
            authority += f":{port}"
        headers = {"Host": authority, "User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if parts.username is not None:
            secret = f"{parts.username}:{parts.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(secret).decode()
        headers.update({k[7:]: v for k, v in props.items() if k.startswith("header.")})
        for name, value in headers.items():
            if not (_visible(name) and ":" not in name and value.isascii()
                    and "\r" not in value and "\n" not in value):
                raise UpstreamError("the data source's headers are not valid",
                                    code="backend-unreachable")
        query = [q for q in (parts.query, props.get("queryParams", "")) if q]
        return cls(
            origin=Origin(host=host, port=port or (443 if parts.scheme == "https" else 80),
                          tls=parts.scheme == "https"),
            path=quote(parts.path or "/", safe=_PATH_SAFE + "%"),
            query=quote("&".join(query), safe=_QUERY_SAFE),
            proxy_path=flag(props, "proxyPath"), proxy_query=flag(props, "proxyQueryParams"),
            fields="".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1"))

    def target(self, request: SourceRequest) -> str:
        """The request target (path and query) for ``request``."""
        path = self.path
        if self.proxy_path and request.path:
            path = path.rstrip("/") + "/" + quote(request.path.lstrip("/"), safe=_PATH_SAFE)
        query = self.query
        if self.proxy_query and request.query:
            extra = request.query if _visible(request.query) else quote(
                request.query, safe=_QUERY_SAFE)
            query = f"{query}&{extra}" if query else extra
        return f"{path}?{query}" if query else path

    def head(self, request: SourceRequest) -> bytes:
        """The whole request (a GET, or a HEAD for a HEAD)."""
        method = "HEAD" if request.method == "HEAD" else "GET"
        line = f"{method} {self.target(request)} HTTP/1.1\r\n".encode()
        accept = request.accept
        if accept and accept.isascii() and "\r" not in accept and "\n" not in accept:
            return b"%s%sAccept: %s\r\n\r\n" % (line, self.fields, accept.encode())
        return b"%s%s\r\n" % (line, self.fields)


async def open_http(pool: ConnectionPool, backend: PreparedHttp,
                    request: SourceRequest) -> Source:  # fmt: skip
    """Send the request to the backend and return its response as a source."""
    head_only = request.method == "HEAD"
    try:
        response = await pool.request(backend.origin, backend.head(request), head_only=head_only)
    except TimeoutError:
        raise UpstreamTimeout("the data source did not answer in time",
                              code="backend-timeout") from None
    except BackendProtocolError:
        raise UpstreamError("the data source sent a malformed answer",
                            code="backend-failed") from None
    except BackendClosed:
        raise UpstreamError("the data source cannot be reached",
                            code="backend-unreachable") from None
    if response.status >= 500:
        response.release()
        raise UpstreamError(f"the data source failed (status {response.status})",
                            code="backend-failed")
    fields = response.fields
    out = {_PASS_BACK[name]: value for name, value in fields.items() if name in _PASS_BACK}
    length = response.content_length
    if not head_only and length is not None and length <= _SMALL:
        try:
            body = await response.read()
        except TimeoutError:
            raise UpstreamTimeout("the data source stalled", code="backend-timeout") from None
        except (BackendClosed, BackendProtocolError):
            raise UpstreamError("the data source broke off", code="backend-failed") from None
        finally:
            response.release()
        return Source(status=response.status, headers=out, content_length=length,
                      chunks=_no_chunks, body=body)
    return Source(status=response.status, headers=out, content_length=length,
                  chunks=lambda: _chunks(response), close=_releaser(response))


async def _chunks(response: Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.chunks():
            yield chunk
    except (BackendClosed, BackendProtocolError, TimeoutError) as exc:
        raise BackendBroken(type(exc).__name__) from None


def _releaser(response: Response) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        response.release()

    return close


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing
