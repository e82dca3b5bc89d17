"""A lean HTTP/1.1 client for the byte path: GET and HEAD to backends on kept-alive connections.

Why not aiohttp's client: for a 1 KiB answer it spends about 60 µs of CPU per
request (request and response objects, header multidicts, URL objects,
cookie, redirect, trace and timer machinery), more than the whole decision
half. The byte path needs one thing, sending a prepared GET or HEAD to a
backend the provider configured and handing the answer on, and this module
does only that (``benchmarks/data_plane.py``: a bare proxy on this client
uses about half the CPU per request of the same proxy on aiohttp's).

* Answers are parsed strictly by llhttp, one connection at a time
  (:mod:`.h1_connection`: framing, limits, back-pressure).
* Connections are kept alive and pooled per origin (host, port, TLS); at
  most ``limit`` are open in all (a request waits for one beyond that);
  idle ones are closed after ``idle_seconds``.
* A request is one write: the request line and a prepared header block.
* A connection goes back to the pool only when its answer was read whole,
  framed by length or chunks, the backend did not ask to close it and sent
  nothing more. A request on a reused connection that the backend closed
  before answering is retried once on a new one (GET and HEAD are
  idempotent, RFC 9112 §9.3.1).
* No timer per request: a connection carries the deadline of its current
  wait, and one sweeper task (every quarter of the shortest timeout, at most
  every second) fails the waits that passed it.
* Back-pressure: reading pauses while more than ``high_water`` bytes of body
  wait for the consumer.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import ssl
from typing import cast

from connector.dataplane.backends.h1_connection import (
    BackendClosed,
    BackendProtocolError,
    BackendTimeout,
    Connection,
    Origin,
    Response,
)

__all__ = [
    "BackendClosed",
    "BackendProtocolError",
    "BackendTimeout",
    "ConnectionPool",
    "Origin",
    "Response",
]


class ConnectionPool:
    """Kept-alive connections to backends, and requests over them."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        head_timeout: float,
        read_timeout: float,
        limit: int = 1000,
        idle_seconds: float = 15.0,
        high_water: int = 256 * 1024,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.head_timeout = head_timeout
        self.read_timeout = read_timeout
        self.high_water = high_water
        self._limit = limit
        self._idle_seconds = idle_seconds
        self._ssl = ssl_context
        self._idle: dict[Origin, list[Connection]] = {}
        self._busy: set[Connection] = set()
        self._open: set[Connection] = set()
        self._connecting = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._sweeper: asyncio.Task[None] | None = None
        self._period = min(1.0, max(0.02, min(head_timeout, read_timeout, connect_timeout) / 4))
        self._closed = False
        self.loop: asyncio.AbstractEventLoop = cast(asyncio.AbstractEventLoop, None)

    async def request(self, origin: Origin, head: bytes, *, head_only: bool = False) -> Response:
        """Send ``head`` (a whole GET or HEAD request) to ``origin``; the response head read."""
        if self._sweeper is None:
            self.loop = asyncio.get_running_loop()
            self._sweeper = self.loop.create_task(self._sweep(), name="dp-backend-sweeper")
        for attempt in (1, 2):
            conn, reused = await self._acquire(origin)
            conn.begin(head_only=head_only)
            assert conn.transport is not None
            conn.transport.write(head)
            try:
                return await self._response(conn)
            except BackendClosed:
                self.discard(conn)
                if attempt == 1 and reused and not conn.received:
                    continue  # the backend had closed the idle connection: once more, afresh
                raise
            except BaseException:
                self.discard(conn)
                raise
        raise AssertionError("unreachable")

    async def _response(self, conn: Connection) -> Response:
        deadline = self.loop.time() + self.head_timeout
        while not conn.head_done:
            await conn.wait(deadline)
        return Response(conn)

    async def _acquire(self, origin: Origin) -> tuple[Connection, bool]:
        while True:
            idle = self._idle.get(origin)
            while idle:
                conn = idle.pop()
                if not conn.closed and not conn.spoiled:
                    self._busy.add(conn)
                    return conn, True
                conn.close()  # it sent something unasked: not to be trusted
            if self._closed:
                raise BackendClosed("the data plane is stopping")
            if len(self._open) + self._connecting < self._limit or self._close_an_idle_one():
                break
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            await waiter
        self._connecting += 1
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await self.loop.create_connection(
                    lambda: Connection(self, origin), origin.host, origin.port,
                    ssl=(self._ssl or _default_ssl()) if origin.tls else None,
                    server_hostname=origin.host if origin.tls else None)
        except TimeoutError:
            self._wake_one()
            raise BackendTimeout("the backend did not accept a connection in time") from None
        except OSError as exc:
            self._wake_one()
            raise BackendClosed(f"cannot connect to the backend ({type(exc).__name__})") from None
        finally:
            self._connecting -= 1
        self._open.add(conn)
        self._busy.add(conn)
        return conn, False

    def put_back(self, conn: Connection) -> None:
        """Keep ``conn`` alive for the next request to its origin."""
        self._busy.discard(conn)
        if self._closed:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        self._idle.setdefault(conn.origin, []).append(conn)
        self._wake_one()

    def discard(self, conn: Connection) -> None:
        """Close ``conn`` and forget it."""
        self._busy.discard(conn)
        conn.close()

    def lost(self, conn: Connection) -> None:
        """``conn`` is gone (the transport closed)."""
        self._busy.discard(conn)
        if conn in self._open:
            self._open.discard(conn)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _close_an_idle_one(self) -> bool:
        for conns in self._idle.values():
            while conns:
                conn = conns.pop(0)
                if not conn.closed:
                    conn.close()
                    self._open.discard(conn)
                    return True
        return False

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._period)
            now = self.loop.time()
            for conn in [c for c in self._busy if c.deadline and c.deadline <= now]:
                conn.expire()
            for origin, conns in list(self._idle.items()):
                fresh = [c for c in conns
                         if not c.closed and now - c.idle_since < self._idle_seconds]
                for conn in conns:
                    if conn not in fresh:
                        conn.close()
                if fresh:
                    self._idle[origin] = fresh
                else:
                    del self._idle[origin]

    async def close(self) -> None:
        """Close every connection and stop the sweeper."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for conn in list(self._open):
            conn.close()
        self._idle.clear()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()


@functools.cache
def _default_ssl() -> ssl.SSLContext:
    # built on first use: loading the system's CA store takes milliseconds
    return ssl.create_default_context()
