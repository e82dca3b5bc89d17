"""Trust primitives: keys, DIDs, verifiable credentials and presentations, tokens, status lists.

See ``identity/README.md`` for a tour; the error codes are listed in
:mod:`identity.errors`.
"""

from identity.cache import TokenCache
from identity.did_document import DidDocument, VerificationMethod, build_did_document
from identity.did_key import (
    did_key_document,
    did_key_from_jwk,
    did_key_from_public_key,
    did_key_verification_method,
    resolve_did_key,
)
from identity.did_web import (
    build_did_web_document,
    did_web_base_url,
    did_web_document_url,
    did_web_from_url,
    service_entry,
)
from identity.errors import DidResolutionError, VerificationError
from identity.jose import ALLOWED_ALGORITHMS, decode_jws, encode_jws, verify_jws
from identity.keys import KeyPair, KeyType, jwk_thumbprint, public_key_from_jwk
from identity.keystore import KeyStore
from identity.replay import InMemoryReplayStore, ReplayStore
from identity.resolver import DidResolver
from identity.self_issued import SelfIssuedToken, SelfIssuedTokenVerifier, create_self_issued_token
from identity.signer import Signer
from identity.status_check import StatusListChecker, StatusResult
from identity.status_list import (
    StatusList,
    StatusPurpose,
    build_status_list_credential,
    status_list_entry,
)
from identity.vc import (
    CredentialFormat,
    VerifiedCredential,
    build_credential,
    envelope_credential,
    issue_jwt_vc_11,
    issue_vc_jwt,
)
from identity.vc_verify import CredentialVerifier
from identity.vp import PresentationVerifier, VerifiedPresentation
from identity.vp_issue import envelope_presentation, issue_jwt_vp_11, issue_vp_jwt
from servicekit.clock import Clock, system_clock

__all__ = [
    "ALLOWED_ALGORITHMS",
    "Clock",
    "CredentialFormat",
    "CredentialVerifier",
    "DidDocument",
    "DidResolutionError",
    "DidResolver",
    "InMemoryReplayStore",
    "KeyPair",
    "KeyStore",
    "KeyType",
    "PresentationVerifier",
    "ReplayStore",
    "SelfIssuedToken",
    "SelfIssuedTokenVerifier",
    "Signer",
    "StatusList",
    "StatusListChecker",
    "StatusPurpose",
    "StatusResult",
    "TokenCache",
    "VerificationError",
    "VerificationMethod",
    "VerifiedCredential",
    "VerifiedPresentation",
    "build_credential",
    "build_did_document",
    "build_did_web_document",
    "build_status_list_credential",
    "create_self_issued_token",
    "decode_jws",
    "did_key_document",
    "did_key_from_jwk",
    "did_key_from_public_key",
    "did_key_verification_method",
    "did_web_base_url",
    "did_web_document_url",
    "did_web_from_url",
    "encode_jws",
    "envelope_credential",
    "envelope_presentation",
    "issue_jwt_vc_11",
    "issue_jwt_vp_11",
    "issue_vc_jwt",
    "issue_vp_jwt",
    "jwk_thumbprint",
    "public_key_from_jwk",
    "resolve_did_key",
    "service_entry",
    "status_list_entry",
    "system_clock",
    "verify_jws",
]
