"""The one outbound HTTP client a service shares, and the address guard.

Every outbound call (DID resolution, DSP messages, credential queries, status
lists, webhooks) goes through one :class:`aiohttp.ClientSession` per process,
made here with explicit timeouts. :class:`GuardedResolver` refuses to connect
to private, link-local, loopback and other non-public addresses before any
packet is sent, which is how server-side request forgery is stopped: the check
runs on the resolved addresses, so a public name pointing at 10.0.0.1 or
169.254.169.254 is refused too. aiohttp never asks the resolver about IP
literals (``http://10.0.0.1/``), so a guarded session also uses
:class:`GuardedConnector`, which puts literals through the same check.

An address that arrives in a request (a DSP ``callbackAddress``, a peer's
address given to the management API) is checked when it arrives with
:func:`check_address`: the same parse and the same guard the session will
apply when it connects, so a request is refused at once instead of being
accepted and failing later.

:func:`fetch_capped` is the one way to read an answer whose size another
party controls: it stops reading, and raises the caller's error, as soon as the
answer grows past the cap.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.tracing import Trace

from servicekit.errors import Forbidden, InvalidRequest

__all__ = [
    "AddressRefused",
    "CappedResponse",
    "GuardedConnector",
    "GuardedResolver",
    "HttpClientConfig",
    "body_chunks",
    "check_address",
    "create_client_session",
    "fetch_capped",
    "is_public_address",
    "parse_http_url",
]


class AddressRefused(Forbidden, code="address-refused", title="Outbound address refused"):
    """An outbound request would reach a non-public address."""


@dataclass(frozen=True, slots=True)
class HttpClientConfig:
    """Timeouts and limits of the shared outbound client."""

    total_timeout: float = 10.0
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    max_connections: int = 100
    max_connections_per_host: int = 20
    user_agent: str = "dataspace-toolkit"


def is_public_address(address: str) -> bool:
    """True when ``address`` is a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_global
        and not ip.is_multicast
        and not ip.is_private
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_reserved
        and not ip.is_unspecified
    )


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_loopback


class GuardedResolver(AbstractResolver):
    """A DNS resolver that refuses non-public addresses.

    ``allow_loopback`` lets development set-ups (``--dev``) reach services on
    127.0.0.1 / ::1; private and link-local ranges stay refused regardless.
    """

    def __init__(
        self, *, allow_loopback: bool = False, inner: AbstractResolver | None = None
    ) -> None:
        # ``inner`` is the DNS seam: tests map names to addresses with it.
        self._inner = inner or aiohttp.ThreadedResolver()
        self.allow_loopback = allow_loopback

    def _allowed(self, address: str) -> bool:
        if is_public_address(address):
            return True
        return self.allow_loopback and _is_loopback(address)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host`` and drop the call if any address is not allowed."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            if not self._allowed(str(literal)):
                raise AddressRefused(
                    f"refusing to connect to non-public address {literal}",
                    extra={"host": host},
                )
            return [
                {
                    "hostname": host,
                    "host": str(literal),
                    "port": port,
                    "family": socket.AF_INET6 if literal.version == 6 else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            ]
        results = await self._inner.resolve(host, port, family)
        refused = [r["host"] for r in results if not self._allowed(r["host"])]
        if refused:
            # One bad address is enough to refuse: an attacker controlling DNS
            # could otherwise race the connector onto the private one.
            raise AddressRefused(
                f"host {host} resolves to a non-public address",
                extra={"host": host},
            )
        return results

    async def close(self) -> None:
        """Release the inner resolver."""
        await self._inner.close()


#: getaddrinfo's answers for a name that does not exist (not: DNS is failing now).
_NO_SUCH_HOST = frozenset(
    {socket.EAI_NONAME} | ({socket.EAI_NODATA} if hasattr(socket, "EAI_NODATA") else set()))
_RESOLVE_SECONDS = 5.0

# One DNS label after IDNA encoding (underscores occur in container service names).
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def parse_http_url(url: str, *, code: str = "url-invalid", name: str = "the URL") -> yarl.URL:
    """``url`` as an absolute http(s) URL with a well-formed host and port.

    Raises :class:`InvalidRequest` with ``code`` for anything the HTTP client
    could not connect to as written: no scheme or host, a port that is not a
    number in 1..65535, an unclosed IPv6 literal, a host with characters no
    DNS name has, or one that does not encode to DNS (IDNA).
    """

    def invalid(why: str) -> InvalidRequest:
        return InvalidRequest(f"{name} is not a usable http(s) URL: {why}", code=code)

    if not isinstance(url, str) or not url or len(url) > 4096:
        raise invalid("empty or too long")
    try:
        parsed = yarl.URL(url)
        port = parsed.port
        raw_host = parsed.raw_host
    except (ValueError, UnicodeError) as exc:
        raise invalid(str(exc)[:100]) from None
    if parsed.scheme not in ("http", "https"):
        raise invalid("the scheme must be http or https")
    if not parsed.host or not raw_host:
        raise invalid("it names no host")
    if port is None or not 0 < port < 65536:
        raise invalid("the port must be 1..65535")
    try:
        ipaddress.ip_address(raw_host.strip("[]").split("%", 1)[0])
    except ValueError:
        labels = raw_host.rstrip(".").split(".")
        if len(raw_host) > 253 or not all(_LABEL.match(label) for label in labels):
            raise invalid("the host is not a DNS name or IP address") from None
    return parsed


async def check_address(session: aiohttp.ClientSession, url: str, *,
                        code: str = "address", name: str = "the address") -> yarl.URL:
    """Refuse now what ``session`` would refuse when it connects to ``url``.

    The URL must parse (:func:`parse_http_url`, ``<code>-invalid``); on a
    guarded session its host must be, or resolve only to, addresses the
    guard allows (``<code>-refused``) and must exist in DNS
    (``<code>-unresolvable``). Both are 400: the address came with the
    request. A DNS failure that may pass (a timeout, a server failure) is
    left to the connection itself.
    """
    parsed = parse_http_url(url, code=f"{code}-invalid", name=name)
    connector = session.connector
    if not isinstance(connector, GuardedConnector):
        return parsed
    host = parsed.raw_host or ""
    try:
        async with asyncio.timeout(_RESOLVE_SECONDS):
            await connector.guard.resolve(host, parsed.port or 0, socket.AF_UNSPEC)
    except AddressRefused as exc:
        raise InvalidRequest(f"{name} is refused: {exc.detail}",
                             code=f"{code}-refused") from None
    except TimeoutError:
        pass  # DNS is slow now; the connection will tell
    except OSError as exc:
        if exc.errno in _NO_SUCH_HOST:
            raise InvalidRequest(f"{name} names a host that does not exist: {host}",
                                 code=f"{code}-unresolvable") from None
    return parsed


class GuardedConnector(aiohttp.TCPConnector):
    """A TCP connector whose every target address passes a :class:`GuardedResolver`.

    aiohttp skips the resolver for IP-literal hosts, so without this a guarded
    session would still connect to ``http://10.0.0.1/`` or
    ``http://169.254.169.254/``.
    """

    def __init__(self, *, resolver: GuardedResolver, **kwargs: Any) -> None:
        super().__init__(resolver=resolver, **kwargs)
        self._guard = resolver

    @property
    def guard(self) -> GuardedResolver:
        """The resolver every target address passes."""
        return self._guard

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return await super()._resolve_host(host, port, traces)
        # A literal: the guard raises AddressRefused for non-public addresses.
        await self._guard.resolve(host, port)
        return await super()._resolve_host(host, port, traces)


def create_client_session(
    config: HttpClientConfig | None = None,
    *,
    guarded: bool = False,
    allow_loopback: bool = False,
    **kwargs: Any,
) -> aiohttp.ClientSession:
    """Create the shared outbound session with timeouts and connection limits.

    With ``guarded`` the session only reaches public addresses (plus loopback
    when ``allow_loopback``): use it for URLs that come from other parties
    (DID documents, callback addresses, credential services).
    """
    config = config or HttpClientConfig()
    timeout = aiohttp.ClientTimeout(
        total=config.total_timeout,
        sock_connect=config.connect_timeout,
        sock_read=config.read_timeout,
    )
    limits: dict[str, Any] = {
        "limit": config.max_connections,
        "limit_per_host": config.max_connections_per_host,
    }
    connector = (
        GuardedConnector(resolver=GuardedResolver(allow_loopback=allow_loopback), **limits)
        if guarded
        else aiohttp.TCPConnector(**limits)
    )
    headers = {"User-Agent": config.user_agent}
    headers.update(kwargs.pop("headers", {}) or {})
    return aiohttp.ClientSession(
        timeout=timeout, connector=connector, headers=headers, **kwargs
    )


@dataclass(frozen=True, slots=True)
class CappedResponse:
    """An answer read whole by :func:`fetch_capped`."""

    status: int
    headers: Mapping[str, str]
    body: bytes


_CHUNK = 64 * 1024


async def fetch_capped(
    session: aiohttp.ClientSession,
    url: str | yarl.URL,
    *,
    limit: int,
    too_large: Callable[[], Exception],
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    check: Callable[[int], None] | None = None,
) -> CappedResponse:
    """Send one request (redirects not followed) and read at most ``limit`` bytes of the answer.

    ``check`` sees the status before the body is read and raises to refuse
    it. An answer that declares, or turns out to have, more than ``limit``
    bytes raises ``too_large()``; reading stops there. Timeouts and
    connection errors pass through for the caller to name.
    """
    async with session.request(
        method, url, data=data, headers=headers, allow_redirects=False
    ) as response:
        if check is not None:
            check(response.status)
        if response.content_length is not None and response.content_length > limit:
            raise too_large()
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > limit:
                raise too_large()
        return CappedResponse(response.status, dict(response.headers), bytes(body))


def body_chunks(response: aiohttp.ClientResponse, size: int = _CHUNK) -> AsyncIterator[bytes]:
    """An answer's body as it arrives, ``size`` bytes at a time, for relaying it on
    (a download passed through; use :func:`fetch_capped` to read an answer)."""
    return response.content.iter_chunked(size)
