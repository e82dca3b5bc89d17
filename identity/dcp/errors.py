"""DCP error classes and their stable codes.

Token, key, credential and presentation failures raise
:class:`identity.errors.VerificationError` (401) with the codes listed in
:mod:`identity.errors`. DCP adds:

401 (``VerificationError``) - the caller has not proved who it is or what it holds
    ``authorization-missing``            no ``Authorization: Bearer <token>`` header
    ``credential-service-missing``       the caller's DID names no usable ``CredentialService``
                                         (``issuer-service-missing``: no ``IssuerService``)
    ``presentation-query-refused``       the caller's Credential Service refused our query (4xx)
    ``presentation-response-invalid``    its answer is not a valid ``PresentationResponseMessage``
    ``access-token-invalid``             (holder) access token not ours or not for this verifier
    ``credential-message-invalid``       (holder) a delivered credential is not what was asked for
403 (:class:`CredentialsRefused`) - proved, but not entitled
    ``credential-missing``               a required credential type was not presented
    ``issuer-not-trusted``               it was presented, but its issuer is not accredited for it
403 (``Forbidden``) ``scope-not-granted``: (holder) a delivery the write access token does not cover
400 ``scope-malformed``, ``dcp-schema-violation`` (``ValidationFailed``), ``query-invalid``
501 (:class:`NotSupported`) ``presentation-definition-not-supported``
502/504 (``UpstreamError``/``UpstreamTimeout``) ``credential-service-unavailable``,
    ``credential-service-timeout``, ``registry-*`` (see :mod:`identity.trusted_issuers`),
    ``issuer-service-refused`` / ``-invalid`` / ``-unavailable`` / ``-timeout`` (issuance client)
"""

from __future__ import annotations

from servicekit.errors import DataspaceError, Forbidden

__all__ = ["CredentialsRefused", "NotSupported"]


class CredentialsRefused(Forbidden, code="credential-missing",
                         title="Required credentials not presented"):
    """The caller is authenticated but did not present the credentials required."""


class NotSupported(DataspaceError, status=501, code="not-supported", title="Not implemented"):
    """A valid request for an optional feature we do not implement (HTTP 501)."""
