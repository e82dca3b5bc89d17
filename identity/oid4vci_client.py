"""A holder's side of OpenID for VC Issuance 1.0 (pre-authorized code flow).

``collect_credential(session, offer, signer, tx_code=...)`` follows an offer
(by value, by reference, or as an ``openid-credential-offer://`` URI) to the
issuer's metadata, redeems the code at the token endpoint, fetches a
``c_nonce``, signs a key proof with ``signer`` and returns the credential.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from identity.key_proof import create_key_proof
from identity.signer import Signer
from servicekit.errors import InvalidRequest, UpstreamError, peer_refused

__all__ = ["PRE_AUTHORIZED_GRANT", "collect_credential", "parse_offer_uri"]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def parse_offer_uri(uri: str) -> tuple[dict[str, Any] | None, str | None]:
    """(offer by value, offer URL by reference) from an ``openid-credential-offer://`` URI."""
    query = parse_qs(urlsplit(uri).query)
    if "credential_offer" in query:
        value = json.loads(query["credential_offer"][0])
        if not isinstance(value, dict):
            raise InvalidRequest("credential_offer is not an object", code="offer-invalid")
        return value, None
    if "credential_offer_uri" in query:
        return None, query["credential_offer_uri"][0]
    raise InvalidRequest("not a credential offer URI", code="offer-invalid")


async def _json(response: aiohttp.ClientResponse, what: str) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (aiohttp.ContentTypeError, ValueError):
        raise UpstreamError(f"{what}: the issuer did not answer JSON",
                            code="issuer-response-invalid") from None
    if response.status >= 400 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        if response.status < 400:  # a 2xx that is not an object: the issuer failed
            raise UpstreamError(f"{what}: the issuer answered no JSON object",
                                code="issuer-response-invalid")
        refused = peer_refused(response.status, body, f"{what} failed ({response.status})",
                               code="issuance-failed")
        refused.extra["oauth_error"] = error
        raise refused
    return body


async def _call(
    session: aiohttp.ClientSession, method: str, url: str, what: str, **kwargs: Any
) -> dict[str, Any]:
    async with session.request(method, url, **kwargs) as response:
        return await _json(response, what)


async def collect_credential(
    session: aiohttp.ClientSession,
    offer: str | Mapping[str, Any],
    signer: Signer,
    *,
    tx_code: str | None = None,
) -> str:
    """Collect the (first) offered credential, bound to ``signer``'s DID."""
    if isinstance(offer, str):
        offer = await _fetch_offer(session, offer)
    issuer = offer.get("credential_issuer")
    configuration_ids = offer.get("credential_configuration_ids")
    grant = (offer.get("grants") or {}).get(PRE_AUTHORIZED_GRANT)
    if not isinstance(issuer, str) or not configuration_ids or not isinstance(grant, dict):
        raise InvalidRequest("the offer lacks an issuer, a configuration or a pre-authorized "
                             "code grant", code="offer-invalid")
    metadata, token_endpoint = await _issuer_metadata(session, issuer)
    access_token = await _redeem(session, token_endpoint, grant, tx_code)
    nonce: str | None = None
    nonce_endpoint = metadata.get("nonce_endpoint")
    if isinstance(nonce_endpoint, str):
        nonce = (await _call(session, "POST", nonce_endpoint, "the nonce request")).get("c_nonce")
    proof = create_key_proof(signer, issuer, nonce)
    request = {"credential_configuration_id": configuration_ids[0],
               "proof": {"proof_type": "jwt", "jwt": proof}}
    body = await _call(session, "POST", str(metadata["credential_endpoint"]),
                       "the credential request", json=request,
                       headers={"Authorization": f"Bearer {access_token}"})
    credentials = body.get("credentials")
    if not isinstance(credentials, list) or not credentials:
        raise UpstreamError("the issuer returned no credential", code="issuer-response-invalid")
    credential = credentials[0].get("credential")
    if not isinstance(credential, str):
        raise UpstreamError("only JWT credentials are supported here",
                            code="issuer-response-invalid")
    return credential


async def _fetch_offer(session: aiohttp.ClientSession, offer: str) -> dict[str, Any]:
    """The offer a URL or an ``openid-credential-offer://`` URI gives, by value or reference."""
    url: str | None
    by_value: dict[str, Any] | None
    if offer.startswith(("http://", "https://")):
        by_value, url = None, offer
    else:
        by_value, url = parse_offer_uri(offer)
    if by_value is None:
        by_value = await _call(session, "GET", str(url), "fetching the offer")
    return by_value


async def _issuer_metadata(
    session: aiohttp.ClientSession, issuer: str
) -> tuple[dict[str, Any], str]:
    """The issuer's metadata and its token endpoint (from its authorization server, if any)."""
    metadata = await _call(session, "GET", f"{issuer}/.well-known/openid-credential-issuer",
                           "issuer metadata")
    if metadata.get("credential_issuer") != issuer:
        raise UpstreamError("the metadata names another credential issuer",
                            code="issuer-response-invalid")
    token_endpoint = f"{issuer}/oid4vci/token"
    servers = metadata.get("authorization_servers") or [issuer]
    async with session.get(f"{servers[0]}/.well-known/oauth-authorization-server") as response:
        if response.status == 200:
            token_endpoint = (await _json(response, "authorization server metadata"))[
                "token_endpoint"
            ]
    return metadata, token_endpoint


async def _redeem(
    session: aiohttp.ClientSession,
    token_endpoint: str,
    grant: Mapping[str, Any],
    tx_code: str | None,
) -> Any:
    """The access token the pre-authorized code (and transaction code) buys."""
    form = {"grant_type": PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": str(grant.get("pre-authorized_code"))}
    if "tx_code" in grant:
        if tx_code is None:
            raise InvalidRequest("this offer needs the transaction code the issuer gave you",
                                 code="tx-code-required")
        form["tx_code"] = tx_code
    token = await _call(session, "POST", token_endpoint, "the token request", data=form)
    return token.get("access_token")
