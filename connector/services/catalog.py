"""The catalog: the owner's datasets, policies and offers, and what each caller sees.

Management operations validate and store; DSP operations render a paged
catalog or one dataset for a verified caller. An offer is visible when it has
no access policy or its access policy permits the caller; a dataset with no
visible offer is not in that caller's catalog at all (and a dataset request
for it is a 404), and NON_PUBLIC (red) and retired datasets are never offered.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import orjson

from connector.core import ControlPlane, new_pid
from connector.domain.caller import Caller
from connector.domain.catalog import (
    AccessLevel,
    Approval,
    Backend,
    Dataset,
    DatasetIn,
    Offer,
    OfferIn,
    PolicyIn,
    PolicyRecord,
    policy_body,
    render_dataset,
)
from connector.domain.policy import can_see
from connector.errors import UnknownOffer
from connector.protocol import messages
from connector.protocol.schemas import validator
from connector.services.checks import backend_problems, policy_problems
from connector.services.lookup import one
from connector.store import catalog as store
from connector.store import holder as holder_store
from policies import to_dsp
from policies.presets import AccessLevel as PresetLevel
from policies.presets import Licence, traffic_light_offer
from servicekit.errors import Conflict, InvalidRequest, NotFound, ValidationFailed

__all__ = ["CatalogService", "default_policy"]

_MEMBERSHIP = "MembershipCredential"


def default_policy(level: AccessLevel, *, assigner: str, licence: str | None) -> dict[str, Any]:
    """The traffic-light preset offer of :mod:`policies` for ``level``, as a policy body.

    Green: use with attribution under the licence (NLOD 2.0 unless the
    dataset names one of the known ones); yellow: members, after approval.
    """
    known = {str(item) for item in Licence}
    preset = traffic_light_offer(
        PresetLevel(level.value), offer_id="urn:offer:default", assigner=assigner,
        licence=Licence(licence) if licence in known else Licence.NLOD_2_0,
    )
    return policy_body(to_dsp(preset, context=False))


def _encode_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"after": last_id})).decode().rstrip("=")


def _decode_token(token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["after"]
        if not isinstance(after, str):
            raise TypeError
        return after
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise InvalidRequest(
            "the continuation token is not one this catalog issued",
            code="continuation-token-invalid",
        ) from None


class CatalogService:
    """Datasets, policies and offers, for the owner and for DSP callers."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        base = plane.dsp_url
        self.catalog_id = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, base + '#catalog')}"
        self.service_id = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, base + '#dsp')}"

    # --- owner -------------------------------------------------------------------

    @staticmethod
    def check_policy(body: dict[str, Any]) -> None:
        """Refuse a policy the connector would not offer (see :func:`policy_problems`)."""
        problems = policy_problems(body)
        if any(p["code"] == "dsp-schema" for p in problems):
            raise ValidationFailed("the policy cannot be offered in DSP 2025-1",
                                   errors=problems, code="policy-not-dsp")
        if problems:
            raise ValidationFailed("the policy is not one a connector can offer",
                                   errors=problems, code="policy-invalid")

    def check_backend(self, backend: Backend) -> None:
        """Refuse a backend the data plane could not serve (a missing file...)."""
        problems = backend_problems(backend,
                                    file_roots=self.plane.settings.data_plane.file_roots)
        if problems:
            raise ValidationFailed(problems[0]["message"], errors=problems,
                                   code=problems[0]["code"])

    async def add_dataset(self, data: DatasetIn) -> tuple[Dataset, Offer | None]:
        """Register a dataset; unless it is NON_PUBLIC, offer it under ``data.policy``."""
        now = time.time()
        fields = data.model_dump(exclude={"id", "policy"})
        if fields["license"] is None and data.access_level is not AccessLevel.NON_PUBLIC:
            fields["license"] = str(Licence.NLOD_2_0)
        if fields["publisher"] is None:
            # DCAT-AP-NO requires a publisher: by default, us.
            fields["publisher"] = await self.legal_name()
        dataset = Dataset(id=data.id or new_pid(), **fields, created_at=now, updated_at=now)
        self.check_backend(dataset.backend)
        if data.policy is not None and dataset.access_level is AccessLevel.NON_PUBLIC:
            raise InvalidRequest("a NON_PUBLIC dataset is never offered; leave out the policy",
                                 code="not-offerable")
        body: dict[str, Any] = {}
        if dataset.access_level is not AccessLevel.NON_PUBLIC:
            body = data.policy if data.policy is not None else default_policy(
                dataset.access_level, assigner=self.plane.did, licence=dataset.license)
            self.check_policy(body)
        async with self.plane.transaction() as tx:
            if await store.get_dataset(tx.conn, dataset.id) is not None:
                raise Conflict(f"dataset {dataset.id} exists already", code="dataset-exists")
            await store.insert_dataset(tx.conn, dataset)
            offer = None
            if dataset.access_level is not AccessLevel.NON_PUBLIC:
                policy = PolicyRecord(id=new_pid(), title=f"Offer policy of {dataset.title}",
                                      body=body, created_at=now, updated_at=now)
                await store.insert_policy(tx.conn, policy)
                offer = Offer(
                    id=new_pid(), dataset_id=dataset.id, policy_id=policy.id,
                    access_policy_id=None, approval=self._default_approval(dataset),
                    created_at=now, policy=body,
                )
                await store.insert_offer(tx.conn, offer)
        return dataset, offer

    async def legal_name(self) -> str:
        """Who we are to a reader of our catalog.

        The configured legal name, else the ``legalName`` of our newest
        MembershipCredential (the trust anchor verified it at onboarding),
        else the connector's name.
        """
        if self.plane.settings.legal_name:
            return self.plane.settings.legal_name
        async with self.plane.read() as conn:
            memberships = await holder_store.list_credentials(conn, credential_type=_MEMBERSHIP)
        for record in reversed(memberships):
            name = record.claims.get("legalName")
            if isinstance(name, str) and name.strip():
                return name.strip()
        return self.plane.settings.name

    @staticmethod
    def _default_approval(dataset: Dataset) -> Approval:
        return Approval.MANUAL if dataset.access_level is AccessLevel.RESTRICTED else Approval.AUTO

    async def get_dataset(self, dataset_id: str) -> Dataset:
        """The dataset, or NotFound."""
        return await one(self.plane, lambda conn: store.get_dataset(conn, dataset_id),
                         NotFound(f"no dataset {dataset_id}", code="dataset-not-found"))

    async def list_datasets(self, *, after: str | None, limit: int) -> list[Dataset]:
        """Datasets by id."""
        async with self.plane.read() as conn:
            return await store.dataset_page(conn, after=after, limit=limit)

    async def delete_dataset(self, dataset_id: str) -> None:
        """Remove a dataset and its offers."""
        async with self.plane.transaction() as tx:
            if not await store.delete_dataset(tx.conn, dataset_id):
                raise NotFound(f"no dataset {dataset_id}", code="dataset-not-found")

    async def add_policy(self, data: PolicyIn) -> PolicyRecord:
        """Store a validated ODRL policy."""
        self.check_policy(data.policy)
        now = time.time()
        policy = PolicyRecord(id=data.id or new_pid(), title=data.title, body=data.policy,
                              created_at=now, updated_at=now)
        async with self.plane.transaction() as tx:
            if await store.get_policy(tx.conn, policy.id) is not None:
                raise Conflict(f"policy {policy.id} exists already", code="policy-exists")
            await store.insert_policy(tx.conn, policy)
        return policy

    async def get_policy(self, policy_id: str) -> PolicyRecord:
        """The policy, or NotFound."""
        return await one(self.plane, lambda conn: store.get_policy(conn, policy_id),
                         NotFound(f"no policy {policy_id}", code="policy-not-found"))

    async def list_policies(self, *, limit: int, offset: int) -> list[PolicyRecord]:
        """Policies by id."""
        async with self.plane.read() as conn:
            return await store.list_policies(conn, limit=limit, offset=offset)

    async def delete_policy(self, policy_id: str) -> None:
        """Remove a policy no offer uses."""
        async with self.plane.transaction() as tx:
            if await store.policy_in_use(tx.conn, policy_id):
                raise Conflict(f"policy {policy_id} is used by an offer", code="policy-in-use")
            if not await store.delete_policy(tx.conn, policy_id):
                raise NotFound(f"no policy {policy_id}", code="policy-not-found")

    async def add_offer(self, data: OfferIn) -> Offer:
        """Offer a dataset under a stored policy (and optionally an access policy)."""
        async with self.plane.transaction() as tx:
            dataset = await store.get_dataset(tx.conn, data.dataset_id)
            if dataset is None:
                raise NotFound(f"no dataset {data.dataset_id}", code="dataset-not-found")
            if dataset.access_level is AccessLevel.NON_PUBLIC:
                raise InvalidRequest("a NON_PUBLIC dataset is never offered",
                                     code="not-offerable")
            if dataset.retired_at is not None:
                raise Conflict(f"dataset {dataset.id} is retired", code="dataset-retired")
            policy = await store.get_policy(tx.conn, data.policy_id)
            if policy is None:
                raise NotFound(f"no policy {data.policy_id}", code="policy-not-found")
            access = None
            if data.access_policy_id is not None:
                access = await store.get_policy(tx.conn, data.access_policy_id)
                if access is None:
                    raise NotFound(f"no policy {data.access_policy_id}",
                                   code="policy-not-found")
            offer = Offer(
                id=data.id or new_pid(), dataset_id=dataset.id, policy_id=policy.id,
                access_policy_id=data.access_policy_id,
                approval=data.approval or self._default_approval(dataset),
                created_at=time.time(), policy=policy.body,
                access_policy=access.body if access is not None else None,
            )
            if await store.get_offer(tx.conn, offer.id) is not None:
                raise Conflict(f"offer {offer.id} exists already", code="offer-exists")
            await store.insert_offer(tx.conn, offer)
        return offer

    async def list_offers(self, *, dataset_id: str | None, limit: int,
                          offset: int) -> list[Offer]:
        """Offers, optionally of one dataset."""
        async with self.plane.read() as conn:
            return await store.list_offers(conn, dataset_id=dataset_id, limit=limit,
                                           offset=offset)

    async def delete_offer(self, offer_id: str) -> None:
        """Withdraw an offer (running negotiations keep their copy)."""
        async with self.plane.transaction() as tx:
            if not await store.delete_offer(tx.conn, offer_id):
                raise NotFound(f"no offer {offer_id}", code="offer-not-found")

    # --- DSP -----------------------------------------------------------------------

    @staticmethod
    def visible(offer: Offer, caller: Caller) -> bool:
        """Whether ``caller`` may see (and request) ``offer``."""
        if offer.access_policy is None:
            return True
        return can_see(offer.access_policy_id or offer.id, offer.access_policy,
                       target=offer.dataset_id, caller=caller)

    def data_service(self) -> dict[str, Any]:
        """Our DSP endpoint as a DCAT DataService."""
        return {"@id": self.service_id, "@type": "DataService",
                "endpointURL": self.plane.dsp_url}

    async def catalog_page(
        self, caller: Caller, *, token: str | None, filters: list[Any] | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """One page of the catalog ``caller`` may see, and the next page's token."""
        if filters:
            raise InvalidRequest("catalog filters are not supported; send an empty filter",
                                 code="filter-unsupported")
        after = _decode_token(token) if token else None
        size = self.plane.settings.catalog_page_size
        rendered: list[dict[str, Any]] = []
        more = False
        title = f"Catalog of {await self.legal_name()}"
        async with self.plane.read() as conn:
            while True:
                batch = await store.dataset_page(conn, after=after, limit=size + 1,
                                                 offered_only=True)
                rows_left = len(batch) > size
                batch = batch[:size]
                offers = await store.offers_for(conn, [d.id for d in batch])
                for index, dataset in enumerate(batch):
                    after = dataset.id
                    visible = [o for o in offers.get(dataset.id, []) if self.visible(o, caller)]
                    if visible:
                        rendered.append(render_dataset(
                            dataset, [(o.id, o.policy) for o in visible],
                            access_service=self.service_id,
                        ))
                    if len(rendered) == size:
                        more = rows_left or index < len(batch) - 1
                        break
                if len(rendered) == size or not rows_left:
                    break
        catalog: dict[str, Any] = {
            "@context": list(messages.DSP_CONTEXT),
            "@id": self.catalog_id,
            "@type": "Catalog",
            "participantId": self.plane.did,
            "dct:title": title,
            "service": [self.data_service()],
        }
        if rendered:
            catalog["dataset"] = rendered
        validator().validate_catalog(catalog)
        return catalog, (_encode_token(after) if more and after is not None else None)

    async def dataset_for(self, caller: Caller, dataset_id: str) -> dict[str, Any]:
        """The ``Dataset`` response for ``caller``; NotFound when nothing is offered to it."""
        async with self.plane.read() as conn:
            dataset = await store.get_dataset(conn, dataset_id)
            offers = await store.offers_for(conn, [dataset_id]) if dataset else {}
        visible = [o for o in offers.get(dataset_id, []) if self.visible(o, caller)]
        if (dataset is None or dataset.access_level is AccessLevel.NON_PUBLIC
                or dataset.retired_at is not None or not visible):
            raise NotFound(f"no dataset {dataset_id} is offered to you",
                           code="dataset-not-found")
        body = {"@context": list(messages.DSP_CONTEXT)} | render_dataset(
            dataset, [(o.id, o.policy) for o in visible], access_service=self.data_service()
        )
        validator().validate_cached(body, "Dataset")
        return body

    async def offer_for(self, caller: Caller, offer_id: str) -> Offer:
        """Our offer ``offer_id`` if ``caller`` may request it, else UnknownOffer."""
        async with self.plane.read() as conn:
            offer = await store.get_offer(conn, offer_id)
            dataset = await store.get_dataset(conn, offer.dataset_id) if offer else None
        if (
            offer is None
            or dataset is None
            or dataset.access_level is AccessLevel.NON_PUBLIC
            or dataset.retired_at is not None
            or not self.visible(offer, caller)
        ):
            raise UnknownOffer(f"no offer {offer_id} is available to you")
        return offer
