"""The owner's changes to a registered dataset: edit its fields, retire it.

Editing keeps the dataset's id and creation time; a new backend is checked
as on registration, and ``policy_id`` points the dataset's offers at another
stored policy (running negotiations and agreements keep the copy they were
made with). Retiring takes the dataset out of every catalog and refuses new
contract requests for it; agreements already made keep working until they
are terminated (``POST /api/v1/agreements/{id}/terminate``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from connector.core import ControlPlane, new_pid
from connector.domain.catalog import AccessLevel, Approval, Backend, Dataset, Offer
from connector.services.catalog import CatalogService
from connector.store import catalog as store
from servicekit.errors import Conflict, InvalidRequest, NotFound

__all__ = ["EDITABLE", "DatasetEditor"]

#: The dataset fields an edit may change (``policy_id`` changes its offers instead).
EDITABLE = frozenset({"title", "description", "keywords", "themes", "publisher",
                      "contact_point", "license", "access_level", "media_type", "extra",
                      "backend", "owner"})


def _missing(dataset_id: str) -> NotFound:
    return NotFound(f"no dataset {dataset_id}", code="dataset-not-found")


class DatasetEditor:
    """Edit and retire datasets (the catalog service registers and deletes them)."""

    def __init__(self, plane: ControlPlane, catalog: CatalogService) -> None:
        self.plane = plane
        self.catalog = catalog

    async def edit(self, dataset_id: str,
                   changes: Mapping[str, Any]) -> tuple[Dataset, list[Offer]]:
        """Apply ``changes`` (only the fields given; ``None`` clears an optional one).

        Returns the dataset and its offers after the edit.
        """
        unknown = set(changes) - EDITABLE - {"policy_id"}
        if unknown:
            raise InvalidRequest(f"cannot edit {', '.join(sorted(unknown))}",
                                 code="field-not-editable")
        fields = {k: v for k, v in changes.items() if k != "policy_id"}
        if "backend" in fields and not isinstance(fields["backend"], Backend):
            fields["backend"] = Backend.model_validate(fields["backend"])
        policy_id = changes.get("policy_id")
        async with self.plane.transaction() as tx:
            current = await store.get_dataset(tx.conn, dataset_id)
            if current is None:
                raise _missing(dataset_id)
            updated = current.model_copy(update={**fields, "updated_at": time.time()})
            updated = Dataset.model_validate(updated.model_dump())
            if "backend" in fields:
                self.catalog.check_backend(updated.backend)
            if policy_id is not None:
                if updated.access_level is AccessLevel.NON_PUBLIC:
                    raise InvalidRequest("a NON_PUBLIC dataset is never offered; leave out "
                                         "policy_id", code="not-offerable")
                policy = await store.get_policy(tx.conn, policy_id)
                if policy is None:
                    raise NotFound(f"no policy {policy_id}", code="policy-not-found")
                await self._repoint(tx.conn, updated, policy_id)
            if updated.access_level is not current.access_level:
                # a dataset made yellow waits for its owner again (and a green one no
                # longer does): the offers follow the level, as a new offer would
                await store.set_offers_approval(tx.conn, dataset_id,
                                                self._approval(updated).value)
            await store.update_dataset(tx.conn, updated)
            offers = (await store.offers_for(tx.conn, [dataset_id])).get(dataset_id, [])
        return updated, offers

    @staticmethod
    async def _repoint(conn: AsyncConnection, dataset: Dataset, policy_id: str) -> None:
        """Point every offer of ``dataset`` at ``policy_id`` (a new offer if it has none).

        The offers keep their ids, which catalogs and contract requests name.
        """
        if await store.repoint_offers(conn, dataset.id, policy_id):
            return
        await store.insert_offer(conn, Offer(
            id=new_pid(), dataset_id=dataset.id, policy_id=policy_id, access_policy_id=None,
            approval=DatasetEditor._approval(dataset), created_at=time.time()))

    @staticmethod
    def _approval(dataset: Dataset) -> Approval:
        """The approval mode the dataset's level asks for (yellow: the owner approves)."""
        return (Approval.MANUAL if dataset.access_level is AccessLevel.RESTRICTED
                else Approval.AUTO)

    async def retire(self, dataset_id: str) -> Dataset:
        """Take the dataset out of the catalog; 409 if it is retired already."""
        async with self.plane.transaction() as tx:
            current = await store.get_dataset(tx.conn, dataset_id)
            if current is None:
                raise _missing(dataset_id)
            if current.retired_at is not None:
                raise Conflict(f"dataset {dataset_id} is retired already",
                               code="dataset-retired")
            now = time.time()
            retired = current.model_copy(update={"retired_at": now, "updated_at": now})
            await store.update_dataset(tx.conn, retired)
        return retired
