"""The byte path's sources: HTTP APIs, files and PostgreSQL queries, all streamed.

:class:`Backends` opens a :class:`Source` for a flow's backend and one data
request. Failures before the first byte raise
:class:`~servicekit.errors.UpstreamError` (502) or
:class:`~servicekit.errors.UpstreamTimeout` (504); a failure mid-stream
raises :class:`BackendBroken` out of :meth:`Source.chunks`. Backend
credentials (``header.*`` properties, connection URLs) are used here and
never leave: no backend header, URL or error text reaches the consumer.
"""

from __future__ import annotations

from collections.abc import Sequence

from connector.dataplane.backends.base import BackendBroken, Source, SourceRequest
from connector.dataplane.backends.files import open_file
from connector.dataplane.backends.h1 import ConnectionPool
from connector.dataplane.backends.http import PreparedHttp, open_http
from connector.dataplane.backends.sql import SqlBackends
from connector.domain.catalog import Backend

__all__ = ["BackendBroken", "Backends", "ConnectionPool", "Source", "SourceRequest"]


class Backends:
    """Opens sources of every backend type."""

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        chunk_bytes: int,
        file_roots: Sequence[str] = (),
    ) -> None:
        self._pool = pool
        self._chunk = chunk_bytes
        self._roots = tuple(file_roots)
        self.sql = SqlBackends(chunk_bytes=chunk_bytes)
        # id(backend) -> (backend, prepared); flows keep their Backend object until they change
        self._prepared: dict[int, tuple[Backend, PreparedHttp]] = {}

    def _http(self, backend: Backend) -> PreparedHttp:
        entry = self._prepared.get(id(backend))
        if entry is not None and entry[0] is backend:
            return entry[1]
        if len(self._prepared) > 10_000:
            self._prepared.clear()
        prepared = PreparedHttp.of(backend)
        self._prepared[id(backend)] = (backend, prepared)
        return prepared

    async def open(self, backend: Backend, request: SourceRequest) -> Source:
        """Open the backend for ``request`` (raises 502/504 families before any byte)."""
        if backend.type == "http":
            return await open_http(self._pool, self._http(backend), request)
        if backend.type == "file":
            return await open_file(backend, request, chunk_bytes=self._chunk, roots=self._roots)
        return await self.sql.open(backend, request)

    async def close(self) -> None:
        """Release pooled connections."""
        await self._pool.close()
        await self.sql.close()
