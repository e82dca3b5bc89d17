"""Find a participant's DCP service base URL in its DID document.

A ``CredentialService`` (or ``IssuerService``) entry's ``serviceEndpoint`` is
a base URL: queries go to ``{base}/presentations/query``, requests to
``{base}/credentials``. It must be HTTPS; development set-ups may allow
plain HTTP on loopback. The guarded HTTP session then refuses private and
link-local addresses when the request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from identity.did_document import DidDocument
from identity.did_web import is_loopback_host
from identity.errors import VerificationError

__all__ = ["CREDENTIAL_SERVICE", "ISSUER_SERVICE", "service_base_url"]

CREDENTIAL_SERVICE = "CredentialService"
ISSUER_SERVICE = "IssuerService"


def _endpoint(service: Mapping[str, Any]) -> str | None:
    endpoint = service.get("serviceEndpoint")
    if isinstance(endpoint, list) and endpoint:
        endpoint = endpoint[0]
    return endpoint if isinstance(endpoint, str) else None


def service_base_url(
    document: DidDocument, service_type: str = CREDENTIAL_SERVICE, *, allow_loopback: bool = False
) -> str:
    """The base URL (no trailing slash) of the first usable ``service_type`` entry.

    Raises ``VerificationError`` ``credential-service-missing`` (or
    ``issuer-service-missing``) when there is none.
    """
    for service in document.services_of_type(service_type):
        endpoint = _endpoint(service)
        if endpoint is None:
            continue
        parts = urlsplit(endpoint)
        if parts.query or parts.fragment or parts.username or parts.password:
            continue
        plain_ok = allow_loopback and is_loopback_host(parts.hostname or "")
        if parts.hostname and (
            parts.scheme == "https" or (parts.scheme == "http" and plain_ok)
        ):
            return endpoint.rstrip("/")
    raise VerificationError(
        f"{document.id} names no usable {service_type} endpoint",
        code="issuer-service-missing" if service_type == ISSUER_SERVICE
        else "credential-service-missing",
    )
