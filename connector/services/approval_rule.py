"""Who may approve or reject a contract request: the dataset's data owner, or an admin.

One rule, applied by the console's ``/requests`` page and by the management
API's ``approve``/``reject`` routes alike: a person with the ``data_owner``
role decides the requests for the datasets whose ``owner`` is their e-mail;
an administrator (the ``admin`` role, or the management API's admin key)
decides any. Everyone else is refused (403 ``not-dataset-owner``), including
a data owner of another dataset and a request for a dataset with no owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.core import ControlPlane
from connector.errors import ProcessNotFound
from connector.store import catalog as catalog_store
from connector.store import processes
from servicekit.errors import Forbidden

__all__ = ["ADMIN", "DATA_OWNER", "Decider", "NotDatasetOwner", "check_decider", "may_decide"]

#: The console roles the rule knows.
ADMIN = "admin"
DATA_OWNER = "data_owner"


class NotDatasetOwner(Forbidden, code="not-dataset-owner", title="Not the dataset's owner"):
    """Only the dataset's data owner (or an administrator) decides its requests."""


@dataclass(frozen=True)
class Decider:
    """Who wants to decide a request: a person (e-mail and roles) or the admin key."""

    email: str | None
    roles: frozenset[str]
    admin_key: bool = False

    @property
    def is_admin(self) -> bool:
        """The admin key, or a person with the admin role."""
        return self.admin_key or ADMIN in self.roles


def may_decide(decider: Decider, dataset_owner: str | None) -> bool:
    """Whether ``decider`` may approve or reject a request for a dataset owned by
    ``dataset_owner`` (an e-mail, or None when nobody owns it)."""
    if decider.is_admin:
        return True
    return (DATA_OWNER in decider.roles and decider.email is not None
            and dataset_owner is not None
            and decider.email.strip().lower() == dataset_owner.strip().lower())


async def check_decider(plane: ControlPlane, negotiation_id: str, decider: Decider) -> None:
    """Refuse ``decider`` (403 ``not-dataset-owner``) unless :func:`may_decide` allows it
    for the dataset negotiation ``negotiation_id`` is about (404 when there is none)."""
    if decider.is_admin:
        return
    async with plane.read() as conn:
        negotiation = await processes.NEGOTIATION_ROWS.get(conn, negotiation_id)
        dataset = (await catalog_store.get_dataset(conn, negotiation.dataset_id)
                   if negotiation is not None and negotiation.dataset_id else None)
    if negotiation is None:
        raise ProcessNotFound(f"no negotiation {negotiation_id}", code="process-not-found")
    if not may_decide(decider, dataset.owner if dataset is not None else None):
        raise NotDatasetOwner(
            "only the dataset's data owner or an administrator may decide this request"
            + ("" if dataset is None or dataset.owner else
               "; the dataset has no owner yet: an administrator names one"))
