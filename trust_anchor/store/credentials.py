"""Issued credentials and the status lists that can revoke or suspend them.

The queries are :class:`identity.status_store.CredentialStore`'s, over the
trust anchor's tables; a credential's owner is the participant it was
issued to (``participant_id``).
"""

from __future__ import annotations

from identity.status_store import CredentialStore, IssuedCredential, StatusListRow
from trust_anchor.store.tables import issued_credentials, status_lists

__all__ = ["CREDENTIALS", "IssuedCredential", "StatusListRow", "get_credential"]

#: The trust anchor's issued credentials and status lists.
CREDENTIALS = CredentialStore(status_lists, issued_credentials, owner="participant_id")

#: The issued credential with an id (NotFound ``credential-not-found``).
get_credential = CREDENTIALS.get
