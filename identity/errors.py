"""Verification errors of the trust primitives and their stable codes.

Every failure to verify a token, credential, presentation, status entry or DID
raises :class:`VerificationError`, an :class:`~servicekit.errors.InvalidToken`
(HTTP 401), whose ``code`` is one of the stable codes below. DID problems
raise its subclass :class:`DidResolutionError`. The HTTP middleware turns them
into problem+json with ``type`` ending in the code.

JOSE (RFC 7515/7519/8725)
    ``jwt-malformed``               not a compact JWS; bad base64url or JSON; a claim missing
    ``jwt-algorithm-not-allowed``   ``alg`` outside the allow-list (EdDSA, ES256): ``none``,
                                    HS256, RS256...; or an ``alg`` that does not fit the key
    ``jwt-header-unsupported``      a ``crit`` header parameter we do not understand
    ``jwt-typ-mismatch``            header ``typ`` is not the one this kind of token must carry
    ``jwt-signature-invalid``       the signature does not verify with the resolved key
    ``jwt-expired``                 ``exp`` is past (beyond the allowed skew)
    ``jwt-not-yet-valid``           ``nbf`` or ``iat`` is in the future (beyond the skew)
    ``jwt-lifetime-too-long``       ``exp - iat`` exceeds the verifier's cap
    ``jwt-audience-mismatch``       ``aud`` does not name the verifier
    ``jwt-replayed``                the ``jti`` was seen before
Keys and DIDs
    ``key-not-found``               ``kid`` names no verification method of the DID document
    ``key-not-authorized``          the key exists but not in the required verification relationship
    ``key-ambiguous``               no ``kid`` and the document has more than one key
    ``key-unsupported``             a key type, curve or encoding we do not verify with
    ``did-malformed``               not a DID (or DID URL) of a supported form
    ``did-method-not-supported``    a DID method this path does not resolve
    ``did-insecure-transport``      plain HTTP where only HTTPS is allowed
    ``did-address-refused``         the did:web host is private, link-local or loopback (SSRF guard)
    ``did-resolution-failed``       network error, timeout or non-200 answer while resolving
    ``did-document-too-large``      the DID document exceeds the size cap
    ``did-document-invalid``        the document is not a valid DID document
    ``did-id-mismatch``             the document ``id`` differs from the DID that was resolved
Credentials and presentations
    ``credential-malformed``        not a VC of the expected data model
    ``credential-expired``          ``validUntil``/``expirationDate`` is past
    ``credential-not-yet-valid``    ``validFrom``/``issuanceDate`` is in the future
    ``issuer-mismatch``             the signer's DID is not the issuer (VC ``issuer``, ``iss``),
                                    or a self-issued token's ``iss != sub``
    ``proof-invalid``               a Data Integrity proof does not verify
    ``credential-revoked``          the revocation bit of its status entry is set
    ``credential-suspended``        the suspension bit of its status entry is set
    ``status-list-invalid``         the status list is wrong (purpose, type, index, encoding)
    ``status-list-unavailable``     the status list could not be fetched
    ``presentation-malformed``      not a VP of the expected data model
    ``holder-mismatch``             the VP signer is not its ``holder``
    ``subject-mismatch``            a presented credential's subject is not the holder
    ``nonce-mismatch``              the VP ``nonce`` (Data Integrity ``challenge``) is missing or
                                    not the one asked for
    ``domain-mismatch``             a Data Integrity VP's ``domain`` does not name the verifier
Data model (:class:`DataModelError`, HTTP 422 when a document is checked as input, e.g. to
issue it; verifiers report the same codes as a 401 ``VerificationError``)
    the codes listed in :mod:`identity.vc_model` (``context-invalid``, ``type-invalid``, ...),
    each with the JSON ``pointer`` of the offending member (in ``extra``)
    ``token-missing``               a self-issued token lacks the required ``token`` claim
"""

from __future__ import annotations

from servicekit.errors import InvalidToken

__all__ = ["DataModelError", "DidResolutionError", "VerificationError"]


class VerificationError(InvalidToken, code="verification-failed", title="Verification failed"):
    """A token, credential, presentation or status entry failed verification.

    Raise it with one of the codes listed in this module's docstring.
    """


class DidResolutionError(VerificationError, code="did-resolution-failed",
                         title="DID resolution failed"):
    """A DID could not be resolved to a valid document."""


class DataModelError(VerificationError, status=422, code="credential-invalid",
                     title="Not a valid VC 2.0 document"):
    """A document breaks a VC 2.0 data-model rule (:mod:`identity.vc_model` lists the codes).

    Answered as HTTP 422 when it reaches a client; ``pointer`` is the JSON
    pointer of the offending member (also in the problem body).
    """

    def __init__(self, detail: str, *, code: str, pointer: str) -> None:
        super().__init__(detail, code=code, extra={"pointer": pointer})
        self.pointer = pointer
