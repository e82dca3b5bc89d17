"""Byte encodings the standards use: base64url, base58btc, multibase, multicodec varints."""

from __future__ import annotations

import base64
import binascii

__all__ = [
    "b58decode",
    "b58encode",
    "b64url_decode",
    "b64url_encode",
    "multibase_decode",
    "multibase_encode",
    "varint_decode",
    "varint_encode",
]

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_TO_STANDARD = str.maketrans("-_", "+/")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(data: str) -> bytes:
    """Decode unpadded base64url strictly; raise ``ValueError`` on anything else."""
    if "=" in data or "+" in data or "/" in data:
        raise ValueError("not unpadded base64url")
    try:
        return binascii.a2b_base64(
            (data + "=" * (-len(data) % 4)).translate(_TO_STANDARD), strict_mode=True
        )
    except ValueError as exc:  # binascii.Error, or a non-ASCII character
        raise ValueError("not base64url") from exc


def b58encode(data: bytes) -> str:
    """Bitcoin-alphabet base58 (multibase ``z``)."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rest = divmod(number, 58)
        out.append(_B58_ALPHABET[rest])
    return "1" * zeros + "".join(reversed(out))


def b58decode(data: str) -> bytes:
    """Decode bitcoin-alphabet base58; raise ``ValueError`` on a foreign character."""
    number = 0
    try:
        for char in data:
            number = number * 58 + _B58_INDEX[char]
    except KeyError as exc:
        raise ValueError("not base58btc") from exc
    zeros = len(data) - len(data.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def multibase_encode(data: bytes, base: str = "z") -> str:
    """Multibase string: ``z`` base58btc or ``u`` base64url without padding."""
    if base == "z":
        return "z" + b58encode(data)
    if base == "u":
        return "u" + b64url_encode(data)
    raise ValueError(f"unsupported multibase prefix {base!r}")


def multibase_decode(data: str) -> bytes:
    """Decode a ``z`` (base58btc) or ``u`` (base64url) multibase string."""
    if data.startswith("z"):
        return b58decode(data[1:])
    if data.startswith("u"):
        return b64url_decode(data[1:].rstrip("="))
    raise ValueError("unsupported multibase prefix")


def varint_encode(value: int) -> bytes:
    """Unsigned LEB128, as multicodec prefixes use."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint_decode(data: bytes) -> tuple[int, int]:
    """Read an unsigned LEB128 from ``data``: (value, bytes used)."""
    value = 0
    for i, byte in enumerate(data[:9]):
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, i + 1
    raise ValueError("truncated varint")
