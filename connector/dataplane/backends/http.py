"""HTTP API backends: forward GET/HEAD with the passthrough the dataset allows.

Backend properties:

* ``proxyPath`` = ``true``: append the request's sub-path to the address;
* ``proxyQueryParams`` = ``true``: pass the request's query string on
  (``queryParams`` adds fixed ones);
* ``header.<Name>``: a header sent to the backend (API keys, tokens); never
  shown to the consumer.

Only a few response headers are passed back (content type, caching,
disposition); the backend's status 5xx becomes 502, a timeout 504.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from connector.dataplane.backends.base import BackendBroken, Source, SourceRequest, flag
from connector.domain.catalog import Backend
from servicekit.errors import UpstreamError, UpstreamTimeout

__all__ = ["PreparedHttp", "open_http"]

_PASS_BACK = ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Content-Disposition",
              "Content-Language")
_SMALL = 64 * 1024


@dataclass(frozen=True, slots=True)
class PreparedHttp:
    """What a backend's properties say, read once per flow instead of once per request."""

    address: str
    proxy_path: bool
    proxy_query: bool
    fixed_query: str
    headers: dict[str, str]

    @classmethod
    def of(cls, backend: Backend) -> PreparedHttp:
        """Read ``backend``'s properties."""
        props = backend.properties
        headers = {"Accept-Encoding": "identity"}
        headers.update({k[7:]: v for k, v in props.items() if k.startswith("header.")})
        return cls(address=backend.address, proxy_path=flag(props, "proxyPath"),
                   proxy_query=flag(props, "proxyQueryParams"),
                   fixed_query=props.get("queryParams", ""), headers=headers)

    def url(self, request: SourceRequest) -> str:
        """The backend URL for ``request``."""
        url = self.address
        if self.proxy_path and request.path:
            url = url.rstrip("/") + "/" + quote(request.path.lstrip("/"),
                                                safe="/-._~!$&'()*+,;=:@")
        query = [self.fixed_query] if self.fixed_query else []
        if self.proxy_query and request.query:
            query.append(request.query)
        if query:
            url += ("&" if "?" in url else "?") + "&".join(query)
        return url


async def open_http(session: aiohttp.ClientSession, backend: PreparedHttp,
                    request: SourceRequest, *, chunk_bytes: int) -> Source:  # fmt: skip
    """Send the request to the backend and return its response as a source."""
    headers = backend.headers
    if request.accept:
        headers = {**headers, "Accept": request.accept}
    method = "HEAD" if request.method == "HEAD" else "GET"
    try:
        response = await session.request(method, backend.url(request), headers=headers,
                                         allow_redirects=False)
    except TimeoutError:
        raise UpstreamTimeout("the data source did not answer in time",
                              code="backend-timeout") from None
    except aiohttp.ClientError:
        raise UpstreamError("the data source cannot be reached",
                            code="backend-unreachable") from None
    if response.status >= 500:
        response.release()
        raise UpstreamError(f"the data source failed (status {response.status})",
                            code="backend-failed")
    out = {name: response.headers[name] for name in _PASS_BACK if name in response.headers}
    length = response.content_length
    body: bytes | None = None
    if method == "GET" and length is not None and length <= _SMALL:
        try:
            body = await response.read()
        except TimeoutError:
            raise UpstreamTimeout("the data source stalled", code="backend-timeout") from None
        except aiohttp.ClientError:
            raise UpstreamError("the data source broke off", code="backend-failed") from None
        finally:
            response.release()
        return Source(status=response.status, headers=out, content_length=length,
                      chunks=_no_chunks, body=body)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.content.iter_chunked(chunk_bytes):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BackendBroken(type(exc).__name__) from None
        if length is not None and response.content.total_bytes < length:
            raise BackendBroken("the data source sent less than it announced")

    async def close() -> None:
        response.release()

    return Source(status=response.status, headers=out, content_length=length, chunks=chunks,
                  close=close)


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing
