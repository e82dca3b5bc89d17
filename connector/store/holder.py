"""What the connector keeps as a DCP holder: its credentials, issuance requests, membership.

The queries are :class:`identity.holder_store.HolderStore`'s, over the
connector's tables (its JSON fields are text columns). The connector also
remembers where the issuer keeps each request's status (``status_url``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.store.tables import (
    credential_requests,
    holder_credentials,
    membership_applications,
)
from identity import holder_store
from identity.holder_store import CredentialRecord, HolderStore, MembershipApplication

__all__ = [
    "CredentialRecord",
    "CredentialRequest",
    "MembershipApplication",
    "delete_credential",
    "get_credential",
    "get_request",
    "insert_application",
    "insert_credential",
    "insert_request",
    "latest_application",
    "latest_request",
    "list_credentials",
    "set_request_status_url",
    "settle_request",
    "update_application",
]


class CredentialRequest(holder_store.CredentialRequest):
    """A DCP issuance request we sent, and where the issuer keeps its status."""

    status_url: str


_STORE = HolderStore(holder_credentials, credential_requests, membership_applications,
                     CredentialRequest)

insert_credential = _STORE.insert_credential
get_credential = _STORE.get_credential
list_credentials = _STORE.list_credentials
delete_credential = _STORE.delete_credential
insert_request = _STORE.insert_request
get_request = _STORE.get_request
latest_request = _STORE.latest_request
settle_request = _STORE.settle_request
insert_application = _STORE.insert_application
latest_application = _STORE.latest_application
update_application = _STORE.update_application


async def set_request_status_url(conn: AsyncConnection, holder_pid: str, url: str) -> None:
    """Where the issuer keeps the request's status."""
    await conn.execute(sa.update(credential_requests)
                       .where(credential_requests.c.holder_pid == holder_pid)
                       .values(status_url=url))
