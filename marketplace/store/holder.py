"""What the marketplace keeps as a member: its credentials, DCP requests and applications.

The queries are :class:`identity.holder_store.HolderStore`'s, over the
marketplace's tables (its JSON fields are JSON columns; a request's reason
is cut to the 500 characters its column holds).
"""

from __future__ import annotations

from identity.holder_store import (
    CredentialRecord,
    CredentialRequest,
    HolderStore,
    MembershipApplication,
)
from marketplace.store.tables import holder_credentials, holder_requests, membership_applications

__all__ = [
    "CredentialRecord",
    "CredentialRequest",
    "MembershipApplication",
    "get_request",
    "insert_application",
    "insert_credential",
    "insert_request",
    "latest_application",
    "latest_request",
    "list_credentials",
    "settle_request",
    "update_application",
]

_STORE = HolderStore(holder_credentials, holder_requests, membership_applications,
                     CredentialRequest)

insert_credential = _STORE.insert_credential
list_credentials = _STORE.list_credentials
insert_request = _STORE.insert_request
get_request = _STORE.get_request
latest_request = _STORE.latest_request
settle_request = _STORE.settle_request
insert_application = _STORE.insert_application
latest_application = _STORE.latest_application
update_application = _STORE.update_application
