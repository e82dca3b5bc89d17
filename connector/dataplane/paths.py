"""Whether a data request's sub-path stays inside the dataset (no way up out of the base path).

A backend with ``proxyPath`` appends the consumer's sub-path to its base
(``http://api/base/only-this`` + ``/2026/stops.csv``). A sub-path with dot
segments (``../../admin``) would reach past the base on any server that
normalises paths, taking the dataset's backend credentials along; encoded
(``%2e%2e``, ``..%2f``), double-encoded (``%252e``, ``%252f``) and backslash
(``..\\``) forms do the same on servers that decode once more or treat ``\\``
as ``/``. :func:`leaves_base` decodes the sub-path as long as that changes
anything and, at every stage, removes the dot segments as RFC 3986 §5.2.4
does: if any stage climbs above its start, the sub-path leaves the base.

It is strict on purpose: empty segments (``a//..``) count for nothing
(servers that merge slashes would see ``a/..``), and a segment that is
``..`` before a ``;`` (``..;``) counts as ``..``. The common sub-path (no
``..``, no ``%``, no ``\\``) costs three substring checks.
"""

from __future__ import annotations

from urllib.parse import unquote

__all__ = ["leaves_base"]

_MAX_DECODINGS = 8


def leaves_base(path: str) -> bool:
    """True when ``path`` (a sub-path, decoded or not) would climb out of the base path."""
    if ".." not in path and "%" not in path and "\\" not in path:
        return False  # no dot segment can appear, however it is decoded
    for _ in range(_MAX_DECODINGS):
        if _climbs(path.replace("\\", "/")):
            return True
        decoded = unquote(path)
        if decoded == path:
            return False
        path = decoded
    return True  # encoded deeper than anyone sends in good faith


def _climbs(path: str) -> bool:
    """Whether removing the dot segments of ``path`` climbs above its start."""
    if ".." not in path:
        return False
    depth = 0
    for segment in path.split("/"):
        name = segment.split(";", 1)[0]
        if name == "..":
            if depth == 0:
                return True
            depth -= 1
        elif name and name != ".":
            depth += 1
    return False
