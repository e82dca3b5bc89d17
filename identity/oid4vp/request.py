"""The authorization request of OpenID4VP 1.0 as we send and read it.

Our choices (OpenID for Verifiable Presentations 1.0, final):

* Client identifier prefix ``decentralized_identifier``: ``client_id`` is
  ``decentralized_identifier:<our DID>`` and the request is a signed request
  object (JAR, RFC 9101) passed by reference (``request_uri``, fetched with
  GET), header ``typ`` ``oauth-authz-req+jwt`` and ``kid`` a DID URL of a key
  in our DID document; no ``iss`` (1.0 does not ask for one, and wallets
  that read it expect a bare DID there, not the prefixed ``client_id``).
  Its ``aud`` is ``https://self-issued.me/v2`` (the static discovery value,
  for a wallet we know no metadata of).
* ``response_type`` ``vp_token``, ``response_mode`` ``direct_post`` to
  ``response_uri``; ``nonce`` and ``state`` fresh per request.
* Credential format ``jwt_vc_json``. Our trust anchor issues the
  MembershipCredential as a W3C VC 2.0 ``vc+jwt`` (VC-JOSE-COSE): a W3C
  credential secured as a JWT whose JSON-LD is not processed to verify it.
  Of the format identifiers 1.0 defines (Appendix B.1: ``jwt_vc_json``,
  ``ldp_vc``, ``mso_mdoc``, ``dc+sd-jwt``) that is ``jwt_vc_json``; 1.0
  defines none of its own for VC 2.0 ``vc+jwt``. ``meta.type_values`` lists
  the type both as written in the credential (``MembershipCredential``) and
  fully expanded under the VC 2.0 context's vocabulary
  (``https://www.w3.org/ns/credentials/issuer-dependent#MembershipCredential``),
  as two alternatives, so a wallet that compares written types and one that
  compares expanded IRIs (Appendix B.1.1) both find it.
* The presentation for ``jwt_vc_json`` is a JWT VP (Appendix B.1.3.1.3):
  our wallet sends a VC Data Model 1.1 JWT VP (``vp`` claim, ``iss`` the
  holder, header ``typ`` ``JWT``) with the credential JWT inside, ``aud`` the
  ``client_id`` (prefix included) and ``nonce`` the request's. The verifier
  also takes a VC 2.0 ``vp+jwt`` with the same claims.
* ``vp_token`` is a JSON object keyed by the DCQL credential query id, each
  value an array of presentations.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from identity.signer import Signer

__all__ = [
    "CLIENT_ID_PREFIX",
    "CREDENTIAL_FORMAT",
    "QUERY_ID",
    "REQUEST_TYP",
    "SELF_ISSUED_AUDIENCE",
    "VC2_VOCAB",
    "authorization_url",
    "client_id_of",
    "membership_query",
    "request_claims",
    "sign_request",
]

CLIENT_ID_PREFIX = "decentralized_identifier:"
REQUEST_TYP = "oauth-authz-req+jwt"
SELF_ISSUED_AUDIENCE = "https://self-issued.me/v2"
CREDENTIAL_FORMAT = "jwt_vc_json"
#: The DCQL credential query id of the MembershipCredential.
QUERY_ID = "membership"
#: The VC 2.0 context's ``@vocab``: where a type it does not define expands to.
VC2_VOCAB = "https://www.w3.org/ns/credentials/issuer-dependent#"
_ALGS = ["EdDSA", "ES256"]


def client_id_of(did: str) -> str:
    """Our ``client_id``: the ``decentralized_identifier`` prefix and our DID."""
    return CLIENT_ID_PREFIX + did


def membership_query(credential_type: str = "MembershipCredential",
                     query_id: str = QUERY_ID) -> dict[str, Any]:
    """The DCQL query for one credential of ``credential_type`` (see the module docstring)."""
    return {"credentials": [{
        "id": query_id,
        "format": CREDENTIAL_FORMAT,
        "meta": {"type_values": [[credential_type], [VC2_VOCAB + credential_type]]},
    }]}


def request_claims(*, did: str, response_uri: str, nonce: str, state: str, issued_at: int,
                   expires_at: int, dcql_query: dict[str, Any]) -> dict[str, Any]:
    """The claims of our request object."""
    client_id = client_id_of(did)
    return {
        "aud": SELF_ISSUED_AUDIENCE,
        "client_id": client_id,
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": response_uri,
        "nonce": nonce,
        "state": state,
        "dcql_query": dcql_query,
        "client_metadata": {
            "vp_formats_supported": {CREDENTIAL_FORMAT: {"alg_values": _ALGS}},
        },
        "iat": issued_at,
        "exp": expires_at,
    }


def sign_request(signer: Signer, claims: dict[str, Any]) -> str:
    """The request object: ``claims`` signed as ``oauth-authz-req+jwt`` with ``kid`` our DID URL."""
    return signer.sign_jwt(claims, typ=REQUEST_TYP)


def authorization_url(client_id: str, request_uri: str) -> str:
    """``openid4vp://?client_id=...&request_uri=...`` (``request_uri_method`` omitted: GET)."""
    return "openid4vp://?" + urlencode({"client_id": client_id, "request_uri": request_uri})
