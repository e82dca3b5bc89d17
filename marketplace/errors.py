"""Errors the marketplace raises, each a servicekit family with a stable code.

::

    servicekit.errors.DataspaceError
    ├── Unauthorized (401)
    │   └── NotSignedIn             sign-in-required   (anonymous caller on a member route)
    ├── Forbidden (403)
    │   └── NotYours                not-yours          (another party's resource)
    └── NotFound (404)
        └── ResourceNotFound        resource-not-found

The TM Forum API renders every error as the TMF ``Error`` body
(:func:`marketplace.routes.tmf.render_tmf_error`); the rest of the service
answers RFC 9457 problem+json.
"""

from __future__ import annotations

from servicekit.errors import Forbidden, NotFound, Unauthorized

__all__ = ["NotSignedIn", "NotYours", "ResourceNotFound"]


class ResourceNotFound(NotFound, code="resource-not-found"):
    """No such TMF resource (or not one the caller may see)."""

    def __init__(self, kind: str, resource_id: str) -> None:
        super().__init__(f"no {kind} {resource_id!r}",
                         extra={"resource": kind, "id": resource_id})


class NotSignedIn(Unauthorized, code="sign-in-required"):
    """The route is for members (DCP) or the operator (admin key); the caller is neither."""


class NotYours(Forbidden, code="not-yours"):
    """The resource belongs to another party."""
