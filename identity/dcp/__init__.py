"""Decentralized Claims Protocol 1.0: verifier, holder, caller and issuance client.

See the "DCP" section of ``identity/README.md`` for how a connector wires
them; the error codes are listed in :mod:`identity.dcp.errors`.
"""

from identity.dcp.access import (
    ACCESS_TOKEN_TYP,
    AccessGrant,
    DcpTokenProvider,
    issue_access_token,
    make_dsp_token,
    parse_bearer,
    verify_access_token,
)
from identity.dcp.discovery import CREDENTIAL_SERVICE, ISSUER_SERVICE, service_base_url
from identity.dcp.errors import CredentialsRefused, NotSupported
from identity.dcp.holder import (
    CredentialOffer,
    DcpHolder,
    DeliveredCredentials,
    StoredCredential,
)
from identity.dcp.issuance import (
    CredentialRequestReceipt,
    fetch_issuer_metadata,
    issuer_service_url,
    request_credentials,
    request_status,
)
from identity.dcp.issuer_send import OFFERS_PATH, STORAGE_PATH, send_to_credential_service
from identity.dcp.messages import (
    credential_message,
    credential_offer_message,
    credential_request_message,
    presentation_query_message,
    presentation_response_message,
)
from identity.dcp.schemas import (
    CREDENTIAL_MESSAGE,
    CREDENTIAL_OFFER_MESSAGE,
    CREDENTIAL_REQUEST_MESSAGE,
    CREDENTIAL_STATUS,
    DCP_CONTEXT,
    ISSUER_METADATA,
    PRESENTATION_QUERY_MESSAGE,
    PRESENTATION_RESPONSE_MESSAGE,
    dcp_context_document,
    dcp_schemas,
    validate_dcp,
)
from identity.dcp.scopes import VC_ID_ALIAS, VC_TYPE_ALIAS, Scope, scopes_for, type_scope
from identity.dcp.verifier import DcpVerifier, VerifiedCaller

__all__ = [
    "ACCESS_TOKEN_TYP",
    "CREDENTIAL_MESSAGE",
    "CREDENTIAL_OFFER_MESSAGE",
    "CREDENTIAL_REQUEST_MESSAGE",
    "CREDENTIAL_SERVICE",
    "CREDENTIAL_STATUS",
    "DCP_CONTEXT",
    "ISSUER_METADATA",
    "ISSUER_SERVICE",
    "OFFERS_PATH",
    "PRESENTATION_QUERY_MESSAGE",
    "PRESENTATION_RESPONSE_MESSAGE",
    "STORAGE_PATH",
    "VC_ID_ALIAS",
    "VC_TYPE_ALIAS",
    "AccessGrant",
    "CredentialOffer",
    "CredentialRequestReceipt",
    "CredentialsRefused",
    "DcpHolder",
    "DcpTokenProvider",
    "DcpVerifier",
    "DeliveredCredentials",
    "NotSupported",
    "Scope",
    "StoredCredential",
    "VerifiedCaller",
    "credential_message",
    "credential_offer_message",
    "credential_request_message",
    "dcp_context_document",
    "dcp_schemas",
    "fetch_issuer_metadata",
    "issue_access_token",
    "issuer_service_url",
    "make_dsp_token",
    "parse_bearer",
    "presentation_query_message",
    "presentation_response_message",
    "request_credentials",
    "request_status",
    "scopes_for",
    "send_to_credential_service",
    "service_base_url",
    "type_scope",
    "validate_dcp",
    "verify_access_token",
]
