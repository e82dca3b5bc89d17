"""One HTTP/1.1 connection to a backend and the answer it is receiving (parsed by llhttp).

* Answers are parsed by llhttp (through ``httptools``, the parser of
  uvicorn and Node.js), strictly: no bare CR or LF, no obsolete line
  folding, one ``Content-Length`` and none beside chunked coding, well-formed
  chunks. The body is framed by chunked coding, ``Content-Length`` or the
  end of the connection (RFC 9112 §6.3), and is empty for HEAD, 1xx, 204 and
  304. This module adds limits llhttp leaves to its user: a head of at most
  64 KiB and 100 fields; and refuses a switch of protocols.
* A connection goes back to its pool (:class:`Owner`, the
  :class:`~connector.dataplane.backends.h1.ConnectionPool`) only when its
  answer was read whole, framed by length or chunks, the backend did not ask
  to close it and sent nothing more.
* No timer per wait: a connection carries the deadline of its current wait,
  and the pool's sweeper fails the waits that passed it (:meth:`Connection.expire`).
* Back-pressure: reading pauses while more than the pool's ``high_water``
  bytes of body wait for the consumer.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, cast

import httptools

__all__ = [
    "BackendClosed",
    "BackendProtocolError",
    "BackendTimeout",
    "Connection",
    "Origin",
    "Owner",
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


class Owner(Protocol):
    """What a connection needs of the pool that holds it."""

    loop: asyncio.AbstractEventLoop
    high_water: int
    read_timeout: float

    def put_back(self, conn: Connection) -> None:
        """Keep ``conn`` alive for the next request to its origin."""

    def discard(self, conn: Connection) -> None:
        """Close ``conn`` and forget it."""

    def lost(self, conn: Connection) -> None:
        """``conn`` is gone (the transport closed)."""


class Connection(asyncio.Protocol):
    """One connection, and the answer it is receiving: head fields, then body pieces.

    Bytes go to llhttp as they arrive; its callbacks (the ``on_*`` methods)
    fill in the head and queue the body until the reader takes it.
    """

    def __init__(self, pool: Owner, origin: Origin) -> None:
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
        self.pool.lost(self)

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

    def __init__(self, conn: Connection) -> None:
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
            conn.pool.put_back(conn)
        else:
            conn.pool.discard(conn)
