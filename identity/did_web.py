"""did:web: map between DIDs and URLs, and build our services' documents.

Per the did:web method: the host's port is written ``%3A<port>``; a bare host
resolves at ``https://host/.well-known/did.json``, a path DID
``did:web:host:a:b`` at ``https://host/a/b/did.json``. Only HTTPS is used,
except that development set-ups (``--dev``) may use plain HTTP on loopback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from identity.did_document import DEFAULT_RELATIONSHIPS, build_did_document
from identity.errors import DidResolutionError
from identity.keys import PublicKey

__all__ = [
    "build_did_web_document",
    "did_web_base_url",
    "did_web_document_url",
    "did_web_from_url",
    "is_loopback_host",
    "service_entry",
]

_PREFIX = "did:web:"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def did_web_from_url(url: str) -> str:
    """The did:web for a base URL: ``http://127.0.0.1:8600`` -> ``did:web:127.0.0.1%3A8600``.

    A trailing ``/.well-known/did.json`` or ``/did.json`` is dropped, so the
    document URL maps back to its DID too.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DidResolutionError(f"not an http(s) URL: {url[:80]}", code="did-malformed")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise DidResolutionError(
            "did:web URLs have no query, fragment or user", code="did-malformed"
        )
    host = parts.hostname
    if ":" in host:
        raise DidResolutionError("did:web does not support IPv6 literals", code="did-malformed")
    did = _PREFIX + host
    if parts.port is not None:
        did += "%3A" + str(parts.port)
    path = parts.path.rstrip("/")
    for suffix in ("/.well-known/did.json", "/did.json"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    for segment in path.split("/"):
        if segment:
            did += ":" + quote(unquote(segment), safe="-._~")
    return did


def _split(did: str) -> tuple[str, list[str]]:
    if not did.startswith(_PREFIX) or any(c in did for c in "#?/"):
        raise DidResolutionError(f"not a did:web: {did[:80]}", code="did-malformed")
    host_part, *segments = did[len(_PREFIX) :].split(":")
    host = unquote(host_part)
    if not host or any(not s for s in segments) or any(c in host for c in "/@[]"):
        raise DidResolutionError(f"not a did:web: {did[:80]}", code="did-malformed")
    return host, [unquote(s) for s in segments]


def did_web_base_url(did: str, *, allow_http_loopback: bool = False) -> str:
    """The base URL a did:web names (the reverse of :func:`did_web_from_url`).

    HTTPS, except plain HTTP for a loopback host when ``allow_http_loopback``.
    """
    host, segments = _split(did)
    hostname = host.rsplit(":", 1)[0] if ":" in host else host
    scheme = "http" if allow_http_loopback and is_loopback_host(hostname) else "https"
    path = "".join("/" + quote(s, safe="-._~") for s in segments)
    return f"{scheme}://{host}{path}"


def did_web_document_url(did: str, *, allow_http_loopback: bool = False) -> str:
    """Where the document of ``did`` lives (``/.well-known/did.json`` or ``/path/did.json``)."""
    base = did_web_base_url(did, allow_http_loopback=allow_http_loopback)
    _, segments = _split(did)
    return base + ("/did.json" if segments else "/.well-known/did.json")


def service_entry(
    did: str, service_type: str, endpoint: str, *, fragment: str | None = None
) -> dict[str, str]:
    """A ``service`` entry, e.g. ``service_entry(did, "CredentialService", url)``."""
    name = fragment or service_type[:1].lower() + service_type[1:]
    return {"id": f"{did}#{name}", "type": service_type, "serviceEndpoint": endpoint}


def build_did_web_document(
    base_url: str,
    keys: Iterable[PublicKey | Mapping[str, Any]],
    *,
    services: Iterable[Mapping[str, Any]] = (),
    relationships: Sequence[str] = DEFAULT_RELATIONSHIPS,
) -> dict[str, Any]:
    """The did:web document a service at ``base_url`` serves.

    Keys are JsonWebKey2020 methods ``{did}#{kid}`` listed under
    authentication, assertionMethod and capabilityInvocation (by default);
    services are e.g. ``{"id": "#credential-service", "type":
    "CredentialService", "serviceEndpoint": url}``.
    """
    return build_did_document(
        did_web_from_url(base_url), keys, services=services, relationships=relationships
    )
