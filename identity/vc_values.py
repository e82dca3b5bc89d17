"""Values of the VC 2.0 data model: URLs, dateTimeStamps, language values, digests.

The building blocks of :mod:`identity.vc_model`; each check raises a
:class:`~identity.errors.DataModelError` naming the JSON pointer it was given.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from identity.encoding import multibase_decode
from identity.errors import DataModelError

__all__ = [
    "check_names",
    "check_related",
    "entries",
    "escape",
    "is_url",
    "items",
    "parse_datetime_stamp",
]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
# XML Schema dateTimeStamp: a dateTime with a mandatory time zone.
_DATETIME_STAMP = re.compile(
    r"^-?(?:[1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T(?:([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?|24:00:00(?:\.0+)?)"
    r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))$"
)
_SRI = re.compile(r"^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})$")
_SRI_LENGTHS = {"sha256": 32, "sha384": 48, "sha512": 64}
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def escape(token: str | int) -> str:
    """``token`` as a JSON pointer segment (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def is_url(value: object) -> bool:
    """True for one absolute URL (a scheme, no whitespace)."""
    return isinstance(value, str) and _URL.match(value) is not None


def items(value: Any) -> list[Any]:
    """A JSON-LD value as a list (a single value is a set of one)."""
    return value if isinstance(value, list) else [value]


def entries(value: Any, pointer: str) -> Iterator[tuple[Any, str]]:
    """Each value of a member with its JSON pointer."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield item, f"{pointer}/{index}"
    else:
        yield value, pointer


def parse_datetime_stamp(value: object, pointer: str) -> datetime:
    """An XML Schema ``dateTimeStamp`` (time zone required) as an aware datetime."""
    if not isinstance(value, str) or not _DATETIME_STAMP.match(value):
        raise DataModelError(f"{pointer} is not an XML Schema dateTimeStamp "
                             "(e.g. 2025-01-31T12:00:00Z)",
                             code="datetime-invalid", pointer=pointer)
    text = value.replace("Z", "+00:00")
    if "T24:00:00" in text:
        text = re.sub(r"T24:00:00(\.0+)?", "T23:59:59", text)  # end of day, to the second
    if text.startswith("-") or len(text.split("-", 1)[0]) > 4:
        raise DataModelError(f"{pointer} is outside the years 0001-9999 we compare",
                             code="datetime-invalid", pointer=pointer)
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as exc:
        raise DataModelError(f"{pointer} is not a calendar date-time", code="datetime-invalid",
                             pointer=pointer) from exc


def _check_language_value(value: Any, pointer: str) -> None:
    for item, here in entries(value, pointer):
        if isinstance(item, str):
            continue
        ok = (
            isinstance(item, Mapping)
            and isinstance(item.get("@value"), str)
            and set(item) <= {"@value", "@language", "@direction"}
            and ("@language" not in item or (isinstance(item["@language"], str)
                                             and _LANGUAGE_TAG.match(item["@language"])))
            and item.get("@direction", "ltr") in ("ltr", "rtl")
        )
        if not ok:
            raise DataModelError(f"{here} must be a string, a language value object "
                                 "(@value, @language, @direction) or a set of them",
                                 code="language-value-invalid", pointer=here)


def check_names(node: Mapping[str, Any], pointer: str) -> None:
    """``name`` and ``description`` of ``node``: strings, language values or sets of them."""
    for member in ("name", "description"):
        if member in node:
            _check_language_value(node[member], f"{pointer}/{member}")


def _check_digest(resource: Mapping[str, Any], pointer: str) -> None:
    sri, multibase = resource.get("digestSRI"), resource.get("digestMultibase")
    if sri is None and multibase is None:
        raise DataModelError(f"{pointer} needs digestSRI or digestMultibase",
                             code="related-resource-invalid", pointer=pointer)
    for expression, here in (entries(sri, f"{pointer}/digestSRI") if sri is not None else ()):
        match = _SRI.match(expression) if isinstance(expression, str) else None
        try:
            ok = match is not None and len(
                base64.b64decode(match.group(2), validate=True)) == _SRI_LENGTHS[match.group(1)]
        except (binascii.Error, ValueError):
            ok = False
        if not ok:
            raise DataModelError(f"{here} is not a Subresource Integrity expression "
                                 "(sha256-/sha384-/sha512- and base64)",
                                 code="related-resource-invalid", pointer=here)
    for value, here in (entries(multibase, f"{pointer}/digestMultibase")
                        if multibase is not None else ()):
        try:
            if not isinstance(value, str) or value[:1] not in ("u", "z"):
                raise ValueError("not multibase")
            digest = multibase_decode(value)
        except ValueError:
            digest = b""
        # a raw SHA-256/384/512 digest, or a multihash of one (0x12, 0x20 / 0x20, 0x30 / ...)
        if len(digest) not in (32, 48, 64) and not (
            len(digest) in (34, 50, 66) and digest[1] == len(digest) - 2
        ):
            raise DataModelError(f"{here} is not a multibase-encoded digest",
                                 code="related-resource-invalid", pointer=here)


def check_related(value: Any) -> None:
    """``relatedResource``: objects with unique URL ids and well-formed digests."""
    seen: set[str] = set()
    for resource, here in entries(value, "/relatedResource"):
        if not isinstance(resource, Mapping) or not is_url(resource.get("id")):
            raise DataModelError(f"{here} must be an object with a URL id",
                                 code="related-resource-invalid", pointer=here)
        if resource["id"] in seen:
            raise DataModelError(f"{here}/id appears twice", code="related-resource-invalid",
                                 pointer=f"{here}/id")
        seen.add(resource["id"])
        _check_digest(resource, here)
