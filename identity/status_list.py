"""Bitstring Status List v1.0: the list, its credential and its entries.

The list is a bitstring of at least 131,072 entries (16 KiB), GZIP-compressed
and multibase base64url-encoded (``u`` prefix) into ``encodedList``. Index 0
is the most significant (left-most) bit of the first byte, as the
specification says. Checking an entry against a fetched list is in
:mod:`identity.status_check`.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from identity.encoding import b64url_decode, b64url_encode
from identity.errors import VerificationError
from identity.vc import build_credential

__all__ = [
    "MIN_LIST_LENGTH",
    "StatusList",
    "StatusPurpose",
    "build_status_list_credential",
    "status_list_entry",
]

MIN_LIST_LENGTH = 131_072
MAX_LIST_BYTES = 16 * 1024 * 1024  # decompression cap: a 16 MiB list is 134 M entries


class StatusPurpose(StrEnum):
    """What a set bit means."""

    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class StatusList:
    """A bitstring of status bits; bit 0 is the most significant bit of byte 0."""

    __slots__ = ("_bits",)

    def __init__(self, length: int = MIN_LIST_LENGTH, *, data: bytes | None = None) -> None:
        if data is not None:
            self._bits = bytearray(data)
            return
        if length < MIN_LIST_LENGTH or length % 8:
            raise ValueError(
                f"a status list holds at least {MIN_LIST_LENGTH} entries, in whole bytes"
            )
        self._bits = bytearray(length // 8)

    def __len__(self) -> int:
        return len(self._bits) * 8

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self._bits) * 8:
            raise IndexError(f"status index {index} is outside the list")
        return index >> 3, 0x80 >> (index & 7)

    def get(self, index: int) -> bool:
        """The bit at ``index``."""
        byte, mask = self._locate(index)
        return bool(self._bits[byte] & mask)

    def set(self, index: int, value: bool = True) -> None:
        """Set (or with ``value=False`` clear) the bit at ``index``."""
        byte, mask = self._locate(index)
        if value:
            self._bits[byte] |= mask
        else:
            self._bits[byte] &= ~mask & 0xFF

    def clear(self, index: int) -> None:
        """Clear the bit at ``index``."""
        self.set(index, False)

    def to_bytes(self) -> bytes:
        """The raw bitstring."""
        return bytes(self._bits)

    def encode(self) -> str:
        """``encodedList``: ``u`` + base64url(GZIP(bitstring)), deterministic (mtime 0)."""
        return "u" + b64url_encode(gzip.compress(bytes(self._bits), mtime=0))

    @classmethod
    def decode(cls, encoded: str, *, max_bytes: int = MAX_LIST_BYTES) -> StatusList:
        """Decode an ``encodedList``; refuse bad encodings and decompression bombs."""
        if not isinstance(encoded, str) or not encoded.startswith("u"):
            raise VerificationError(
                "encodedList must be multibase base64url", code="status-list-invalid"
            )
        try:
            compressed = b64url_decode(encoded[1:].rstrip("="))
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            data = inflater.decompress(compressed, max_bytes + 1)
        except (ValueError, zlib.error) as exc:
            raise VerificationError(
                "encodedList does not decode", code="status-list-invalid"
            ) from exc
        if len(data) > max_bytes or not inflater.eof:
            raise VerificationError(
                "encodedList is too large or truncated", code="status-list-invalid"
            )
        if len(data) * 8 < MIN_LIST_LENGTH:
            raise VerificationError(
                "status list is shorter than 131,072 entries", code="status-list-invalid"
            )
        return cls(data=data)


def status_list_entry(
    *,
    list_credential: str,
    index: int,
    purpose: StatusPurpose | str = StatusPurpose.REVOCATION,
    id: str | None = None,
) -> dict[str, str]:
    """A ``BitstringStatusListEntry`` for ``credentialStatus``."""
    if index < 0:
        raise ValueError("status index must not be negative")
    return {
        "id": id or f"{list_credential}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": str(purpose),
        "statusListIndex": str(index),
        "statusListCredential": list_credential,
    }


def build_status_list_credential(
    *,
    id: str,
    issuer: str,
    status_list: StatusList,
    purpose: StatusPurpose | str = StatusPurpose.REVOCATION,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """A VC 2.0 ``BitstringStatusListCredential`` publishing ``status_list`` at ``id``.

    Sign it with :func:`identity.vc.issue_vc_jwt` and serve it at ``id``.
    """
    subject: dict[str, Any] = {
        "id": f"{id}#list",
        "type": "BitstringStatusList",
        "statusPurpose": str(purpose),
        "encodedList": status_list.encode(),
    }
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    return build_credential(
        issuer=issuer,
        subject=subject,
        types=["BitstringStatusListCredential"],
        id=id,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def parse_entry(entry: Mapping[str, Any]) -> tuple[str, int, str]:
    """(list URL, index, purpose) of a ``BitstringStatusListEntry``."""
    url = entry.get("statusListCredential")
    purpose = entry.get("statusPurpose")
    raw_index = entry.get("statusListIndex")
    size = entry.get("statusSize", 1)
    if not isinstance(url, str) or not isinstance(purpose, str):
        raise VerificationError(
            "status entry lacks its list or purpose", code="status-list-invalid"
        )
    if size not in (1, "1"):
        raise VerificationError("only statusSize 1 is supported", code="status-list-invalid")
    try:
        index = int(raw_index) if isinstance(raw_index, str | int) else -1
    except ValueError:
        index = -1
    if index < 0 or isinstance(raw_index, bool):
        raise VerificationError(
            "statusListIndex is not a non-negative integer", code="status-list-invalid"
        )
    return url, index, purpose
