"""File backends: CSV, JSON, GeoJSON, Parquet (and anything else) as bytes, in chunks.

The address is an absolute path to a file, or to a folder when ``proxyPath``
is ``true`` (the request's sub-path picks the file; ``..`` cannot leave the
folder). Reads run in a thread, one chunk at a time, so memory stays flat.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from connector.dataplane.backends.base import BackendBroken, Source, SourceRequest, flag
from connector.domain.catalog import Backend
from servicekit.errors import NotFound, UpstreamError

__all__ = ["MEDIA_TYPES", "open_file"]

MEDIA_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".parquet": "application/vnd.apache.parquet",
    ".txt": "text/plain",
}


def _resolve(backend: Backend, request: SourceRequest, roots: Sequence[str]) -> Path:
    base = Path(backend.address).resolve()
    path = base
    if flag(backend.properties, "proxyPath") and request.path.strip("/"):
        path = (base / request.path.strip("/")).resolve()
        if not path.is_relative_to(base):
            raise NotFound("no such file in this dataset", code="file-not-found")
    if roots and not any(path.is_relative_to(Path(r).resolve()) for r in roots):
        raise UpstreamError("the dataset's file is outside the allowed folders",
                            code="backend-misconfigured")
    return path


async def open_file(backend: Backend, request: SourceRequest, *, chunk_bytes: int,
                    roots: Sequence[str]) -> Source:  # fmt: skip
    """Open the file for streaming."""
    path = _resolve(backend, request, roots)
    try:
        handle = await asyncio.to_thread(open, path, "rb")
    except FileNotFoundError:
        raise NotFound("no such file in this dataset", code="file-not-found") from None
    except (IsADirectoryError, PermissionError, OSError):
        raise UpstreamError("the dataset's file cannot be read", code="backend-failed") from None
    size = os.fstat(handle.fileno()).st_size
    media = backend.properties.get("mediaType") or MEDIA_TYPES.get(
        path.suffix.lower(), "application/octet-stream")

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        while sent < size:
            try:
                chunk = await asyncio.to_thread(handle.read, min(chunk_bytes, size - sent))
            except OSError as exc:
                raise BackendBroken(str(exc.errno)) from None
            if not chunk:
                raise BackendBroken("the file is shorter than it was")
            sent += len(chunk)
            yield chunk

    async def close() -> None:
        await asyncio.to_thread(handle.close)

    return Source(status=200, headers={"Content-Type": media}, content_length=size,
                  chunks=chunks, close=close)
