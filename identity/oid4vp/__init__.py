"""Signing in with the organisation's credential: OpenID for Verifiable Presentations 1.0.

The verifier (a service's sign-in page) and the wallet (the participant's
connector, holding the organisation's MembershipCredential) of one flow:
``start`` -> ``openid4vp://`` link / QR code -> the wallet fetches the signed
request object -> the person confirms -> ``direct_post`` of the ``vp_token``
-> ``accept``. :mod:`identity.oid4vp.request` says which parts of the
specification we use and why; :mod:`identity.oid4vp.errors` lists the codes.
"""

from __future__ import annotations

from identity.oid4vp.check import (
    MEMBERSHIP,
    MembershipCheck,
    OrganisationSignIn,
    PresentationCheck,
)
from identity.oid4vp.errors import (
    CredentialUntrusted,
    NoMatchingCredential,
    RequestNotFound,
    RequestUsed,
    ResponseMalformed,
    SignInRefused,
    WalletRequestInvalid,
)
from identity.oid4vp.request import (
    CLIENT_ID_PREFIX,
    CREDENTIAL_FORMAT,
    QUERY_ID,
    REQUEST_TYP,
    SELF_ISSUED_AUDIENCE,
    client_id_of,
    membership_query,
)
from identity.oid4vp.store import (
    DONE,
    FAILED,
    PENDING,
    MemoryPendingStore,
    Pending,
    PendingRecord,
    PendingStore,
)
from identity.oid4vp.verifier import Oid4vpVerifier, StartedRequest
from identity.oid4vp.wallet import (
    WalletRequest,
    build_vp_token,
    resolve_request,
    select_credentials,
    submit,
)

__all__ = [
    "CLIENT_ID_PREFIX",
    "CREDENTIAL_FORMAT",
    "DONE",
    "FAILED",
    "MEMBERSHIP",
    "PENDING",
    "QUERY_ID",
    "REQUEST_TYP",
    "SELF_ISSUED_AUDIENCE",
    "CredentialUntrusted",
    "MembershipCheck",
    "MemoryPendingStore",
    "NoMatchingCredential",
    "Oid4vpVerifier",
    "OrganisationSignIn",
    "Pending",
    "PendingRecord",
    "PendingStore",
    "PresentationCheck",
    "RequestNotFound",
    "RequestUsed",
    "ResponseMalformed",
    "SignInRefused",
    "StartedRequest",
    "WalletRequest",
    "WalletRequestInvalid",
    "build_vp_token",
    "client_id_of",
    "membership_query",
    "resolve_request",
    "select_credentials",
    "submit",
]
