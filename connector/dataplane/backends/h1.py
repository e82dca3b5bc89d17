"""A lean HTTP/1.1 client for the byte path: GET and HEAD to backends on kept-alive connections.

Why not aiohttp's client: for a 1 KiB answer it spends about 60 µs of CPU per
request (request and response objects, header multidicts, URL objects,
cookie, redirect, trace and timer machinery), more than the whole decision
half. The byte path needs one thing, sending a prepared GET or HEAD to a
backend the provider configured and handing the answer on, and this module
does only that (``benchmarks/data_plane.py``: a bare proxy on this client
uses about half the CPU per request of the same proxy on aiohttp's).

* Answers are parsed by llhttp (through ``httptools``, the parser of
  uvicorn and Node.js), strictly: no bare CR or LF, no obsolete line
  folding, one ``Content-Length`` and none beside chunked coding, well-formed
  chunks. The body is framed by chunked coding, ``Content-Length`` or the
  end of the connection (RFC 9112 §6.3), and is empty for HEAD, 1xx, 204 and
  304. This module adds limits llhttp leaves to its user: a head of at most
  64 KiB and 100 fields; and refuses a switch of protocols.
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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

import httptools

__all__ = [
    "BackendClosed",
    "BackendProtocolError",
    "BackendTimeout",
    "ConnectionPool",
    "Origin",
    "Response",
]

_MAX_HEAD = 64 * 1024
_MAX_FIELDS = 100
_NO_BODY = frozenset({204, 304})


class BackendTimeout(TimeoutError):
    """The backend did not connect, answer or go on sending in time."""


class BackendClosed(ConnectionError):
    """The backend cannot be reached, or closed the connection before the answer was whole."""


class BackendProtocolError(Exception):
    """The backend's answer is not well-formed HTTP/1.1."""


class _Unasked(Exception):
    """The backend sent more after its answer (a second answer, or a body to a HEAD)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a backend is: host, port and whether to speak TLS."""

    host: str
    port: int
    tls: bool


class _Connection(asyncio.Protocol):
    """One connection, and the answer it is receiving: head fields, then body pieces.

    Bytes go to llhttp as they arrive; its callbacks (the ``on_*`` methods)
    fill in the head and queue the body until the reader takes it.
    """

    def __init__(self, pool: ConnectionPool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.deadline = 0.0  # loop time the current wait ends; 0 while not waiting
        self.idle_since = 0.0
        self.closed = False
        self.paused = False
        self.spoiled = False  # it sent something unasked: never reused
        self.body: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self._reset(head_only=False)

    def _reset(self, *, head_only: bool) -> None:
        self.head_only = head_only
        self.received = False  # any byte of the current answer yet
        self.status = 0
        self.fields: dict[str, str] = {}
        self.head_size = 0
        self.field_count = 0
        self.head_done = False  # the final answer's head is parsed ...
        self.body_done = False  # ... and its body
        self.keep_alive = False
        self.until_close = False  # the body ends with the connection
        self.error: BaseException | None = None

    def begin(self, *, head_only: bool) -> None:
        """Expect the answer to a request about to be sent (a HEAD's has no body)."""
        self._reset(head_only=head_only)
        self.parser = httptools.HttpResponseParser(self)

    # --- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received = True
        parser = self.parser
        if parser is None or self.error is not None:
            self._spoil()  # while idle, or after a refused answer
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(BackendProtocolError("the backend switched protocols"))
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _Unasked):
                self._spoil()
            elif isinstance(cause, BackendProtocolError):
                self._fail(cause)
            else:
                self._fail(BackendProtocolError(
                    f"the backend's answer is not well-formed HTTP/1.1 ({exc})"))
        if self.buffered > self.pool.high_water and not self.paused and self.transport:
            self.paused = True
            self.transport.pause_reading()
        self._wake(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.head_done and not self.body_done and self.until_close and self.error is None:
            self.body_done = True  # the end of the connection is the end of this body
        self._wake(None)
        self.pool._lost(self)

    # --- llhttp callbacks -----------------------------------------------------------

    def _count(self, size: int) -> None:
        self.head_size += size
        if self.head_size > _MAX_HEAD:
            raise BackendProtocolError("the backend sent an over-long head")

    def on_message_begin(self) -> None:
        if self.body_done:
            raise _Unasked
        self.fields = {}  # an interim answer's fields do not carry over
        self.head_size = 0
        self.field_count = 0

    def on_status(self, status: bytes) -> None:
        self._count(len(status))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        self.field_count += 1
        if self.field_count > _MAX_FIELDS:
            raise BackendProtocolError("the backend sent too many head fields")
        fields = self.fields
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        known = fields.get(key)
        fields[key] = text if known is None else f"{known}, {text}"

    def on_headers_complete(self) -> None:
        parser = cast(httptools.HttpResponseParser, self.parser)
        status = parser.get_status_code()
        if status < 200:
            return  # an interim answer (103 Early Hints): the final one follows
        self.status = status
        self.head_done = True
        fields = self.fields
        if self.head_only:
            # llhttp cannot be told the request was a HEAD: the answer ends here
            tokens = fields.get("connection", "").lower()
            if parser.get_http_version() == "1.1":
                self.keep_alive = "close" not in tokens
            else:
                self.keep_alive = "keep-alive" in tokens
            self.body_done = True
            return
        self.keep_alive = parser.should_keep_alive()
        coding = fields.get("transfer-encoding")
        chunked = coding is not None and coding.lower().rsplit(",", 1)[-1].strip() == "chunked"
        self.until_close = status not in _NO_BODY and not chunked and "content-length" not in fields

    def on_body(self, body: bytes) -> None:
        if self.body_done:
            raise _Unasked
        self.body.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self.head_done:
            self.body_done = True

    # --- reading --------------------------------------------------------------------

    def _spoil(self) -> None:
        self.spoiled = True
        self.close()

    def _fail(self, error: BaseException) -> None:
        self.error = error
        self.close()

    def _wake(self, error: BaseException | None) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)

    async def wait(self, deadline: float) -> None:
        """Wait for more until ``deadline`` (loop time); ``BackendClosed`` if nothing will come."""
        if self.error is not None:
            raise self.error
        if self.closed:
            raise BackendClosed("the backend closed the connection")
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        self.waiter = self.pool.loop.create_future()
        self.deadline = deadline
        try:
            await self.waiter
        finally:
            self.deadline = 0.0

    def expire(self) -> None:
        """The current wait has passed its deadline (called by the sweeper)."""
        self._wake(BackendTimeout("the backend did not answer in time"))
        self.close()

    def take(self) -> bytes:
        """The oldest queued body piece (one must be queued)."""
        data = self.body.popleft()
        self.buffered -= len(data)
        return data

    def close(self) -> None:
        """Close the connection (the pool forgets it once it is gone)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Response:
    """A backend's answer: status and head fields now, the body to read or stream."""

    __slots__ = ("_conn", "_released", "content_length", "fields", "status")

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self.status = conn.status
        self.fields = conn.fields
        """Head fields by lower-case name (repeated fields joined with ", ")."""
        declared = conn.fields.get("content-length")
        self.content_length = int(declared) if declared is not None else None
        """The length the backend announced (for a HEAD, that of the GET)."""
        self._released = False

    async def read(self) -> bytes:
        """The whole body."""
        conn = self._conn
        if conn.body_done and len(conn.body) <= 1:  # all there already: the usual small answer
            return conn.take() if conn.body else b""
        return b"".join([chunk async for chunk in self.chunks()])

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (``BackendClosed``/``BackendTimeout`` if it stops short)."""
        conn = self._conn
        pool = conn.pool
        while True:
            if conn.body:
                yield conn.take()
            elif conn.body_done:
                return
            else:
                await conn.wait(pool.loop.time() + pool.read_timeout)

    def release(self) -> None:
        """Give the connection back (kept alive if the answer was read whole), or close it."""
        if self._released:
            return
        self._released = True
        conn = self._conn
        if (conn.body_done and conn.keep_alive and not conn.body and not conn.closed
                and not conn.spoiled and conn.error is None):
            conn.parser = None
            conn.pool._put_back(conn)
        else:
            conn.pool._discard(conn)


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
        self._idle: dict[Origin, list[_Connection]] = {}
        self._busy: set[_Connection] = set()
        self._open: set[_Connection] = set()
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
                self._discard(conn)
                if attempt == 1 and reused and not conn.received:
                    continue  # the backend had closed the idle connection: once more, afresh
                raise
            except BaseException:
                self._discard(conn)
                raise
        raise AssertionError("unreachable")

    async def _response(self, conn: _Connection) -> Response:
        deadline = self.loop.time() + self.head_timeout
        while not conn.head_done:
            await conn.wait(deadline)
        return Response(conn)

    async def _acquire(self, origin: Origin) -> tuple[_Connection, bool]:
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
                    lambda: _Connection(self, origin), origin.host, origin.port,
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

    def _put_back(self, conn: _Connection) -> None:
        self._busy.discard(conn)
        if self._closed:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        self._idle.setdefault(conn.origin, []).append(conn)
        self._wake_one()

    def _discard(self, conn: _Connection) -> None:
        self._busy.discard(conn)
        conn.close()

    def _lost(self, conn: _Connection) -> None:
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
