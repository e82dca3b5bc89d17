"""Errors of signing in with the organisation's credential (OpenID4VP) and their codes.

Each refusal of an authorization response is one class with its stable code,
so a page can tell the person what went wrong::

    NotFound        404 request-not-found     no such request (unknown or forgotten state)
    InvalidRequest  400 response-malformed    the direct_post body is not a vp_token + state
    Conflict        409 request-used          the request was answered before (replay)
    SignInRefused   401 (codes below)         the presentation does not sign anyone in
        request-expired      the request outlived its time to live
        vp-invalid           the presentation does not verify (signature, holder, subject,
                             time, data model...; the verifier's reason is in ``reason``)
        nonce-mismatch       the presentation carries another request's nonce (or none)
        audience-mismatch    the presentation is addressed to another verifier
        credential-revoked   the MembershipCredential is revoked in its status list
        credential-suspended the MembershipCredential is suspended in its status list
        credential-missing   no MembershipCredential in the answer
        wallet-declined      the wallet answered with an OAuth error (the person said no)
    CredentialUntrusted 403 issuer-untrusted  the issuer is not accredited for the type

Wallet side (:mod:`identity.oid4vp.wallet`)::

    WalletRequestInvalid 400 authorization-request-invalid   the URL or request object is wrong
        (signature, ``typ``, ``client_id``, expiry: ``reason`` names the check)
    NoMatchingCredential 409 no-matching-credential          we hold nothing the query asks for
"""

from __future__ import annotations

from servicekit.errors import Conflict, Forbidden, InvalidRequest, InvalidToken, NotFound

__all__ = [
    "CredentialUntrusted",
    "NoMatchingCredential",
    "RequestNotFound",
    "RequestUsed",
    "ResponseMalformed",
    "SignInRefused",
    "WalletRequestInvalid",
]


class RequestNotFound(NotFound, code="request-not-found", title="No such sign-in request"):
    """The state names no request we know (or it expired and was forgotten)."""


class ResponseMalformed(InvalidRequest, code="response-malformed",
                        title="Not an OpenID4VP authorization response"):
    """The direct_post body lacks ``state`` or a JSON ``vp_token`` keyed by query id."""


class RequestUsed(Conflict, code="request-used", title="Sign-in request already answered"):
    """A second answer to one request (a replayed state or nonce)."""


class SignInRefused(InvalidToken, code="vp-invalid", title="Sign-in refused"):
    """The presentation does not sign the organisation in (see the module docstring)."""


class CredentialUntrusted(Forbidden, code="issuer-untrusted",
                          title="Credential issuer not trusted"):
    """The MembershipCredential's issuer is not accredited for it in the registry."""


class WalletRequestInvalid(InvalidRequest, code="authorization-request-invalid",
                           title="Authorization request refused by the wallet"):
    """The wallet will not answer this authorization request (``reason`` says why)."""


class NoMatchingCredential(Conflict, code="no-matching-credential",
                           title="No credential matches the request"):
    """We hold no credential that the verifier's DCQL query asks for."""
