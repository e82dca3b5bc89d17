"""PostgreSQL query backends: one parameterised query, exposed as JSON or CSV, streamed.

The address is the database URL; properties:

* ``query``: the SQL, with named parameters (``SELECT ... WHERE year = :year``);
* ``params``: the query-string names a consumer may set (comma separated);
  each one binds the parameter of that name as text (cast in SQL if needed);
  ``default.<name>`` gives a value when the consumer does not;
* ``format``: ``json`` (default) or ``csv``; ``?format=csv`` or
  ``Accept: text/csv`` chooses per request.

Rows are fetched with a server-side cursor and written out in chunks, so
memory stays flat whatever the result size. The SQL text never changes per
request: consumers only bind values.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import parse_qsl

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connector.dataplane.backends.base import BackendBroken, Source, SourceRequest
from connector.domain.catalog import Backend
from servicekit.db import create_engine
from servicekit.errors import InvalidRequest, UpstreamError, UpstreamTimeout

__all__ = ["SqlBackends"]

_ROWS = 500


def _default(value: Any) -> Any:
    return str(value)


class SqlBackends:
    """Pooled engines per backend database, and query sources over them."""

    def __init__(self, *, chunk_bytes: int) -> None:
        self._chunk = chunk_bytes
        self._engines: dict[str, AsyncEngine] = {}

    def _engine(self, url: str) -> AsyncEngine:
        engine = self._engines.get(url)
        if engine is None:
            engine = self._engines[url] = create_engine(url)
        return engine

    async def open(self, backend: Backend, request: SourceRequest) -> Source:
        """Run the query and return its rows as a source."""
        props = backend.properties
        sql = props.get("query")
        if not sql:
            raise UpstreamError("the dataset's query is not configured",
                                code="backend-misconfigured")
        allowed = {p.strip() for p in props.get("params", "").split(",") if p.strip()}
        given = dict(parse_qsl(request.query, keep_blank_values=True))
        fmt = given.pop("format", None) or (
            "csv" if request.accept and "text/csv" in request.accept
            else props.get("format", "json"))
        if fmt not in ("json", "csv"):
            raise InvalidRequest("format must be json or csv", code="format-unsupported")
        unknown = sorted(set(given) - allowed)
        if unknown:
            raise InvalidRequest(f"unknown query parameters: {', '.join(unknown)}",
                                 code="query-parameter-unknown")
        params = {name: given.get(name, props.get(f"default.{name}")) for name in allowed}
        try:
            conn = await self._engine(backend.address).connect()
        except (SQLAlchemyError, OSError):
            raise UpstreamError("the data source cannot be reached",
                                code="backend-unreachable") from None
        except TimeoutError:
            raise UpstreamTimeout("the data source did not answer in time",
                                  code="backend-timeout") from None
        try:
            result = await conn.stream(sa.text(sql).execution_options(yield_per=_ROWS), params)
        except (SQLAlchemyError, OSError):
            await conn.close()
            raise UpstreamError("the data source's query failed", code="backend-failed") from None
        columns = list(result.keys())

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in _render(result.partitions(_ROWS), columns, fmt, self._chunk):
                    yield chunk
            except (SQLAlchemyError, OSError) as exc:
                raise BackendBroken(type(exc).__name__) from None

        async def close() -> None:
            await _close(conn)

        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        return Source(status=200, headers={"Content-Type": media}, content_length=None,
                      chunks=chunks, close=close)

    async def close(self) -> None:
        """Dispose every engine."""
        for engine in self._engines.values():
            await engine.dispose()
        self._engines.clear()


async def _close(conn: AsyncConnection) -> None:
    with contextlib.suppress(SQLAlchemyError, OSError, asyncio.CancelledError):
        await conn.close()


async def _render(partitions: AsyncIterator[Iterable[Any]], columns: list[str], fmt: str,
                  chunk_bytes: int) -> AsyncIterator[bytes]:  # fmt: skip
    buffer = bytearray()
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(columns)
        async for rows in partitions:
            writer.writerows(rows)
            if text.tell() >= chunk_bytes:
                yield text.getvalue().encode()
                text.seek(0)
                text.truncate()
        yield text.getvalue().encode()
        return
    buffer += b"["
    first = True
    async for rows in partitions:
        for row in rows:
            if not first:
                buffer += b","
            first = False
            buffer += orjson.dumps(dict(zip(columns, row, strict=True)), default=_default)
        if len(buffer) >= chunk_bytes:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"]"
    yield bytes(buffer)
