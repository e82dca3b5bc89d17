"""A holder's DCP issuance requests: does a delivery answer the one we sent?

A holder (a connector, the marketplace) remembers each ``CredentialRequestMessage``
it sent, by ``holderPid``, in its own store. When the issuer's
``CredentialMessage`` arrives at the holder's Credential Service,
:func:`check_answers` refuses it unless it answers that pending request:
from the issuer we asked, while the request is pending, with only the types
we asked for. The store then keeps the credentials and settles the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from identity.dcp.holder import DeliveredCredentials
from servicekit.errors import Forbidden, NotFound

__all__ = ["PENDING", "PendingRequest", "check_answers"]

#: The state of a request that waits for its delivery.
PENDING = "REQUESTED"


class PendingRequest(Protocol):
    """A DCP issuance request as the holder's store keeps it."""

    @property
    def issuer_did(self) -> str:
        """The issuer we asked."""

    @property
    def status(self) -> str:
        """``REQUESTED`` while pending, then ``ISSUED``, ``REJECTED`` or ``FAILED``."""

    @property
    def credential_types(self) -> Sequence[str]:
        """The types the issuer may deliver."""


_R = TypeVar("_R", bound=PendingRequest)


def check_answers(delivered: DeliveredCredentials, request: _R | None) -> _R:
    """``request`` (ours with the delivery's ``holderPid``), if ``delivered`` answers it.

    404 ``credential-request-not-found``: we sent no such request, or not to
    this issuer; 403 ``credential-request-settled``: it was answered already;
    403 ``credential-type-unrequested``: a credential of a type we did not ask for.
    """
    if request is None or request.issuer_did != delivered.issuer:
        raise NotFound("no request of ours matches this delivery",
                       code="credential-request-not-found")
    if request.status != PENDING:
        raise Forbidden(f"the request is {request.status} already",
                        code="credential-request-settled")
    wanted = set(request.credential_types)
    if any(not wanted.intersection(c.types) for c in delivered.credentials):
        raise Forbidden("a delivered credential is of a type we did not ask for",
                        code="credential-type-unrequested")
    return request
