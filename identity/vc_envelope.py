"""Enveloped credentials and presentations (VC 2.0 section 4.13).

:func:`validate_envelope` checks an ``EnvelopedVerifiableCredential`` or
``EnvelopedVerifiablePresentation`` object and returns the media type and
payload of its ``data:`` URL; the payload (a JWT) is the verifier's to open.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from identity.errors import DataModelError
from identity.jsonld import DocumentLoader, JsonLdProblem, expand, local_document_loader

__all__ = ["CREDENTIALS_NS", "ENVELOPE_MEDIA_TYPES", "validate_envelope"]

CREDENTIALS_NS = "https://www.w3.org/2018/credentials#"
#: Media types an enveloped credential/presentation may carry, by envelope type.
ENVELOPE_MEDIA_TYPES: Mapping[str, tuple[str, ...]] = {
    "EnvelopedVerifiableCredential": ("application/vc+jwt", "application/vc-ld+jwt",
                                      "application/jwt"),
    "EnvelopedVerifiablePresentation": ("application/vp+jwt", "application/vp-ld+jwt",
                                        "application/jwt"),
}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def validate_envelope(
    envelope: Any, kind: str, *, loader: DocumentLoader = local_document_loader
) -> tuple[str, str]:
    """Check an enveloped credential or presentation; its ``(media type, payload)``.

    ``kind`` is ``EnvelopedVerifiableCredential`` or
    ``EnvelopedVerifiablePresentation``. The ``@context`` must define ``id``,
    ``type`` and ``kind`` as the VC 2.0 context does (checked by expansion),
    ``type`` must be ``kind``, and ``id`` a ``data:`` URL of a media type in
    :data:`ENVELOPE_MEDIA_TYPES`.
    """
    if not isinstance(envelope, Mapping):
        raise DataModelError(f"an {kind} is a JSON object", code="envelope-invalid", pointer="")
    if _items(envelope.get("type")) != [kind]:
        raise DataModelError(f"type must be {kind}", code="envelope-invalid", pointer="/type")
    if not envelope.get("@context"):
        raise DataModelError("@context is required", code="envelope-invalid",
                             pointer="/@context")
    media_type, payload = _data_url(envelope.get("id"), kind)
    try:
        expanded = expand({"@context": envelope["@context"], "id": "urn:x:envelope",
                           "type": kind}, loader=loader)
    except JsonLdProblem as exc:
        raise DataModelError(exc.detail, code="envelope-invalid", pointer="/@context") from exc
    top = expanded[0] if expanded and isinstance(expanded[0], Mapping) else {}
    if top.get("@id") != "urn:x:envelope" or _items(top.get("@type")) != [CREDENTIALS_NS + kind]:
        raise DataModelError(f"@context must define id, type and {kind} as the VC 2.0 context "
                             "does", code="envelope-invalid", pointer="/@context")
    return media_type, payload


def _data_url(value: object, kind: str) -> tuple[str, str]:
    if not isinstance(value, str) or not value.startswith("data:") or "," not in value:
        raise DataModelError("id must be a data: URL holding the secured document",
                             code="envelope-invalid", pointer="/id")
    header, data = value[len("data:"):].split(",", 1)
    parameters = header.split(";")
    media_type = parameters[0].strip().lower()
    if media_type not in ENVELOPE_MEDIA_TYPES[kind]:
        raise DataModelError(f"{media_type or 'no media type'} is not one of "
                             f"{', '.join(ENVELOPE_MEDIA_TYPES[kind])}",
                             code="envelope-invalid", pointer="/id")
    try:
        if "base64" in parameters[1:]:
            payload = base64.b64decode(data, validate=True).decode()
        else:
            payload = unquote_to_bytes(data).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise DataModelError("the data: URL does not decode", code="envelope-invalid",
                             pointer="/id") from exc
    if not payload:
        raise DataModelError("the data: URL is empty", code="envelope-invalid", pointer="/id")
    return media_type, payload
