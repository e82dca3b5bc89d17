"""The byte path's HTTP/1.1 client, against backends that answer byte for byte as scripted."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connector.dataplane.backends.base import SourceRequest
from connector.dataplane.backends.h1 import (
    BackendClosed,
    BackendProtocolError,
    BackendTimeout,
    ConnectionPool,
    Origin,
)
from connector.dataplane.backends.http import PreparedHttp, open_http
from connector.domain.catalog import Backend
from servicekit.errors import UpstreamError

GET = b"GET / HTTP/1.1\r\nHost: backend\r\n\r\n"
Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Serve = Callable[[Answer], Awaitable["Scripted"]]


class Scripted:
    """A loopback server that runs ``answer`` on each connection and counts them."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            await self.answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    @property
    def origin(self) -> Origin:
        """Where it listens."""
        assert self.server is not None
        return Origin(host="127.0.0.1", port=self.server.sockets[0].getsockname()[1], tls=False)


@pytest_asyncio.fixture
async def pool() -> AsyncIterator[ConnectionPool]:
    """A pool with short timeouts (its sweeper runs every 50 ms)."""
    connections = ConnectionPool(connect_timeout=1.0, head_timeout=0.2, read_timeout=0.2)
    yield connections
    await connections.close()


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Callable[[Answer], Awaitable[Scripted]]]:
    """Start scripted backends (stopped after the test, after the pool has closed)."""
    started: list[Scripted] = []

    async def start(answer: Answer) -> Scripted:
        scripted = Scripted(answer)
        scripted.server = await asyncio.start_server(scripted._handle, "127.0.0.1", 0)
        started.append(scripted)
        return scripted

    yield start
    for scripted in started:
        assert scripted.server is not None
        scripted.server.close()
        for writer in scripted.writers:
            writer.close()
        await scripted.server.wait_closed()
    await asyncio.sleep(0.01)  # let the handlers see their connections end


def forever(*responses: bytes) -> Answer:
    """Answer every request on a connection with the next of ``responses`` (cycling)."""
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = 0
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(responses[index % len(responses)])
            index += 1
            await writer.drain()

    return answer


async def test_kept_alive_connections_are_reused(serve: Serve, pool: ConnectionPool) -> None:
    backend = await serve(forever(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                                  b"Content-Type: text/plain\r\n\r\nhello"))
    for _ in range(20):
        response = await pool.request(backend.origin, GET)
        assert (response.status, await response.read()) == (200, b"hello")
        assert response.fields["content-type"] == "text/plain"
        response.release()
    assert backend.connections == 1


async def test_chunked_close_delimited_and_empty_bodies(serve: Serve, pool: ConnectionPool) -> None:
    backend = await serve(forever(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    ))
    bodies = []
    for _ in range(4):
        response = await pool.request(backend.origin, GET)
        bodies.append((response.status, b"".join([c async for c in response.chunks()])))
        response.release()
    assert bodies == [(200, b"hello world!"), (204, b""), (200, b"ok"), (200, b"")]
    # HTTP/1.0 without keep-alive ended the connection; the others kept it
    assert backend.connections == 1
    response = await pool.request(backend.origin, GET)
    response.release()
    assert backend.connections == 2


async def test_close_delimited_body_is_read_to_the_end(serve: Serve, pool: ConnectionPool) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()

    backend = await serve(answer)
    for _ in range(2):
        response = await pool.request(backend.origin, GET)
        assert await response.read() == b"all of it"
        response.release()
    assert backend.connections == 2


async def test_head_reports_the_length_without_a_body(serve: Serve, pool: ConnectionPool) -> None:
    backend = await serve(forever(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"))
    for _ in range(2):
        response = await pool.request(backend.origin, b"HEAD / HTTP/1.1\r\n\r\n", head_only=True)
        assert response.content_length == 1000
        assert await response.read() == b""
        response.release()
    assert backend.connections == 1


async def test_a_connection_that_sends_more_than_its_answer_is_not_reused(
    serve: Serve, pool: ConnectionPool,
) -> None:
    backend = await serve(forever(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",  # a 2nd answer
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ))
    response = await pool.request(backend.origin, GET)
    assert await response.read() == b"ok"  # the answer asked for is whole ...
    response.release()
    response = await pool.request(backend.origin, GET)  # ... but its connection is not trusted
    assert await response.read() == b"ok"
    response.release()
    assert backend.connections == 2

    head = await serve(forever(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbad"))
    for _ in range(2):  # a body to a HEAD is as unasked
        response = await pool.request(head.origin, b"HEAD / HTTP/1.1\r\n\r\n", head_only=True)
        assert (response.content_length, await response.read()) == (3, b"")
        response.release()
        await asyncio.sleep(0.01)
    assert head.connections == 2


async def test_a_head_over_http_1_0_keeps_the_connection_only_when_asked(
    serve: Serve, pool: ConnectionPool,
) -> None:
    plain = await serve(forever(b"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\n"))
    kept = await serve(forever(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                               b"Content-Length: 9\r\n\r\n"))
    for backend in (plain, kept):
        for _ in range(2):
            response = await pool.request(backend.origin, b"HEAD / HTTP/1.1\r\n\r\n",
                                          head_only=True)
            assert response.content_length == 9
            response.release()
    assert (plain.connections, kept.connections) == (2, 1)


async def test_a_connection_the_backend_closed_while_idle_is_retried_once(
    serve: Serve, pool: ConnectionPool,
) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the next request: hang up without answering

    backend = await serve(answer)
    for _ in range(3):
        response = await pool.request(backend.origin, GET)
        assert await response.read() == b"ok"
        response.release()
    assert backend.connections == 3


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok",  # a bare LF
    b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nok",  # obs-fold
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\nok",  # a digit, but not ASCII
    b"HTTP/2 200\r\n\r\n",
    b"HTTP/1.1 20x OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    # a length beside chunked coding: the framing is ambiguous (request smuggling)
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX\r\n\r\n",  # a field without a colon
    b"HTTP/1.1 200 OK\r\nX : y\r\n\r\n",  # whitespace before the colon
])
async def test_malformed_answers_are_refused(
    serve: Serve, pool: ConnectionPool, head: bytes,
) -> None:
    backend = await serve(forever(head))
    with pytest.raises(BackendProtocolError):
        await pool.request(backend.origin, GET)


@pytest.mark.parametrize("chunked", [
    b"zz\r\nhello\r\n0\r\n\r\n",
    b"0x5\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhelloXX0\r\n\r\n",
])
async def test_malformed_chunks_are_refused(
    serve: Serve, pool: ConnectionPool, chunked: bytes,
) -> None:
    backend = await serve(forever(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  + chunked))
    response = await pool.request(backend.origin, GET)
    with pytest.raises(BackendProtocolError):
        await response.read()
    response.release()


async def test_a_silent_backend_times_out_before_and_after_the_head(
    serve: Serve, pool: ConnectionPool,
) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if b"/body" in head:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            await writer.drain()
        await asyncio.sleep(5)

    backend = await serve(answer)
    started = time.monotonic()
    with pytest.raises(BackendTimeout):
        await pool.request(backend.origin, GET)
    assert time.monotonic() - started < 1.0
    response = await pool.request(backend.origin, b"GET /body HTTP/1.1\r\n\r\n")
    with pytest.raises(BackendTimeout):
        await response.read()
    response.release()


async def test_a_backend_that_hangs_up_mid_body_is_reported(
    serve: Serve, pool: ConnectionPool,
) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()

    backend = await serve(answer)
    response = await pool.request(backend.origin, GET)
    with pytest.raises(BackendClosed):
        await response.read()
    response.release()


async def test_reading_pauses_while_the_consumer_lags(serve: Serve, pool: ConnectionPool) -> None:
    size = 16 << 20

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        block = b"x" * (1 << 20)
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()

    backend = await serve(answer)
    response = await pool.request(backend.origin, GET)
    received, most = 0, 0
    async for chunk in response.chunks():
        received += len(chunk)
        most = max(most, response._conn.buffered)
        await asyncio.sleep(0.001)  # a slow consumer
    response.release()
    assert received == size
    assert most <= pool.high_water + (1 << 20)  # one read beyond the mark at most


async def test_requests_wait_for_a_connection_beyond_the_limit(serve: Serve) -> None:
    pool = ConnectionPool(connect_timeout=1.0, head_timeout=1.0, read_timeout=1.0, limit=2)
    backend = await serve(forever(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))

    async def get() -> bytes:
        response = await pool.request(backend.origin, GET)
        await asyncio.sleep(0.01)
        try:
            return await response.read()
        finally:
            response.release()

    try:
        assert await asyncio.gather(*(get() for _ in range(10))) == [b"ok"] * 10
        assert backend.connections == 2
    finally:
        await pool.close()


async def test_prepared_requests_encode_what_the_consumer_sends(
    serve: Serve, pool: ConnectionPool,
) -> None:
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read()

    backend = await serve(answer)
    prepared = PreparedHttp.of(Backend(
        type="http", address=f"http://user:pw@127.0.0.1:{backend.origin.port}/api/v1?fixed=1",
        properties={"proxyPath": "true", "proxyQueryParams": "true", "queryParams": "k=v",
                    "header.X-Api-Key": "secret"}))
    source = await open_http(pool, prepared, SourceRequest(
        path="a b/ü", query="q=a%26b&r=ü x", accept="application/json"))
    assert source.body == b"ok"
    head = heads[0].decode("latin-1")
    assert head.startswith(
        "GET /api/v1/a%20b/%C3%BC?fixed=1&k=v&q=a%26b&r=%C3%BC%20x HTTP/1.1\r\n")
    assert f"\r\nHost: 127.0.0.1:{backend.origin.port}\r\n" in head
    assert "\r\nAuthorization: Basic dXNlcjpwdw==\r\n" in head
    assert "\r\nX-Api-Key: secret\r\n" in head
    assert "\r\nAccept: application/json\r\n" in head
    for address in ("ftp://127.0.0.1/x", "http:///x", "http://127.0.0.1:99999/x"):
        with pytest.raises(UpstreamError):
            PreparedHttp.of(Backend(type="http", address=address))
    with pytest.raises(UpstreamError):
        PreparedHttp.of(Backend(type="http", address="http://127.0.0.1/x",
                                properties={"header.X-Bad": "a\r\nInjected: 1"}))


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backend")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


async def test_tls_backends_are_verified(tmp_path: Path) -> None:
    cert_file, key_file = self_signed(tmp_path)
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(cert_file, key_file)
    backend = Scripted(forever(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret"))
    server = await asyncio.start_server(backend._handle, "127.0.0.1", 0, ssl=server_ssl)
    origin = Origin(host="127.0.0.1", port=server.sockets[0].getsockname()[1], tls=True)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    pools = [ConnectionPool(connect_timeout=2.0, head_timeout=2.0, read_timeout=2.0,
                            ssl_context=context) for context in (trusting, None)]
    try:
        for _ in range(2):
            response = await pools[0].request(origin, GET)
            assert await response.read() == b"secret"
            response.release()
        with pytest.raises(BackendClosed):  # the system's CAs do not know this certificate
            await pools[1].request(origin, GET)
    finally:
        for pool in pools:
            await pool.close()
        server.close()
        for writer in backend.writers:
            writer.close()
        await server.wait_closed()
        await asyncio.sleep(0.01)
    assert backend.connections == 1  # kept alive for both (the refused one never got that far)
