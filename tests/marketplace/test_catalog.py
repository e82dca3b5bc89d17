"""Members register and change their own data products; the datasets are checked at the source.

A real trust anchor, the marketplace onboarded as a member, Halden as a real
connector (``dcp`` auth) with a dataset in its DSP catalog, and Analyse AS
as a second member; every member call carries a DCP self-issued token. The
marketplace checks a product's datasets by asking Halden's connector for its
catalog with its own DCP credentials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from marketplace.keys import SERVICES
from marketplace.services.callers import Caller
from servicekit.errors import NotFound
from tests.conftest import Database
from tests.marketplace.conftest import TMF620
from tests.marketplace.members import Member, MemberSpace, member_space

DATASET = "urn:dataset:halden:traffic"
MERGE = {"Content-Type": "application/merge-patch+json"}


def product(member: Member, *datasets: str, **extra: Any) -> dict[str, Any]:
    assert member.connector is not None
    return {"name": "Traffic counts", "dspAddress": member.connector.dsp_url,
            "datasetIds": list(datasets or [DATASET]),
            "productSpecCharacteristic": [
                {"name": "format", "productSpecCharacteristicValue": [{"value": "text/csv"}]},
                {"name": "accessLevel", "productSpecCharacteristicValue": [{"value": "PUBLIC"}]},
            ]} | extra


async def total(space: MemberSpace, kind: str) -> int:
    mp = space.marketplace
    status, body, headers = await mp.call("GET", f"{TMF620}/{kind}", headers=mp.admin)
    assert status == 200, body
    return int(headers["X-Total-Count"])


async def expect(member: Member, method: str, path: str, body: Any, status: int,
                 code: str | None = None) -> dict[str, Any]:
    got, answer, _ = await member.call(method, f"{TMF620}/{path}", body, headers=MERGE)
    assert got == status, (method, path, answer)
    if code is not None:
        assert answer["code"] == code, answer
    return answer if isinstance(answer, dict) else {}


async def halden_with_a_dataset(space: MemberSpace) -> Member:
    halden = await space.connector("halden", roles=["provider"])
    assert halden.connector is not None
    await halden.connector.api(space.http, "POST", "/api/v1/datasets", expect=201, json={
        "id": DATASET, "title": "Traffic counts", "access_level": "PUBLIC",
        "backend": {"address": "https://backend.invalid/traffic"}})
    return halden


async def test_members_register_their_products_against_their_catalog(
        tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        halden = await halden_with_a_dataset(space)
        analyse = await space.member("analyse")
        made = await expect(halden, "POST", "productSpecification", product(halden), 201)
        assert made["providerDid"] == halden.did
        assert made["lifecycleStatus"] == "inStudy"
        # A dataset the provider's catalog lacks: refused, naming it; nothing stored.
        refused = await expect(halden, "POST", "productSpecification",
                               product(halden, DATASET, "urn:dataset:halden:nope"), 400,
                               "dataset-unknown")
        assert refused["missing"] == ["urn:dataset:halden:nope"]
        await expect(halden, "PATCH", f"productSpecification/{made['id']}",
                     {"datasetIds": ["urn:dataset:halden:nope"]}, 400, "dataset-unknown")
        # Nobody registers a product in another provider's name.
        await expect(analyse, "POST", "productSpecification",
                     product(halden, providerDid=halden.did), 403, "not-yours")
        assert await total(space, "productSpecification") == 1
        # Others do not see a product no public offering names, let alone change it.
        await expect(analyse, "GET", f"productSpecification/{made['id']}", None, 404)
        await expect(analyse, "PATCH", f"productSpecification/{made['id']}",
                     {"name": "Mine"}, 404)
        await expect(analyse, "DELETE", f"productSpecification/{made['id']}", None, 404)
        got = await expect(halden, "GET", f"productSpecification/{made['id']}", None, 200)
        assert got == made
        # A caller whose token does not verify is refused.
        status, body, _ = await space.marketplace.call(
            "POST", f"{TMF620}/productSpecification", product(halden),
            headers={"Authorization": "Bearer not-a-token"})
        assert status == 401, body
        assert await total(space, "productSpecification") == 1


async def test_private_offerings_and_ownership(tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        halden = await halden_with_a_dataset(space)
        analyse = await space.member("analyse")
        spec = await expect(halden, "POST", "productSpecification", product(halden), 201)
        plan = await expect(halden, "POST", "productOfferingPrice", {
            "name": "Free", "priceType": "oneTime", "price": {"unit": "NOK", "value": 0}}, 201)
        offering = await expect(halden, "POST", "productOffering", {
            "name": "Traffic counts", "isPrivate": True,
            "productSpecification": {"id": spec["id"]},
            "productOfferingPrice": [{"id": plan["id"]}]}, 201)
        oid = offering["id"]
        for state in ("inDesign", "inTest", "launched"):
            await expect(halden, "PATCH", f"productOffering/{oid}", {"lifecycleStatus": state},
                         200)
        # Private: only its provider (and the operator) see it and what it names.
        for path in (f"productOffering/{oid}", f"productSpecification/{spec['id']}",
                     f"productOfferingPrice/{plan['id']}"):
            await expect(analyse, "GET", path, None, 404)
            await expect(halden, "GET", path, None, 200)
        status, page, _ = await analyse.call("GET", f"{TMF620}/productOffering")
        assert (status, page) == (200, [])
        services = space.marketplace.server.app[SERVICES]
        with pytest.raises(NotFound):
            await services.catalog.terms(Caller("member", analyse.did), oid)
        # Made public: a commercial term, so a new version; now others see it.
        public = await expect(halden, "PATCH", f"productOffering/{oid}", {"isPrivate": False},
                              200)
        assert public["version"] == "2.0"
        status, page, _ = await analyse.call("GET", f"{TMF620}/productOffering")
        assert [o["id"] for o in page] == [oid]
        await expect(analyse, "GET", f"productSpecification/{spec['id']}", None, 200)
        terms = await services.catalog.terms(Caller("member", analyse.did), oid)
        assert (terms.orderable, terms.provider, terms.version) == (True, halden.did, "2.0")
        assert terms.plan(plan["id"]).is_free
        assert terms.specification is not None
        assert terms.specification["datasetIds"] == [DATASET]
        old = await services.catalog.terms(Caller("member", halden.did), oid, "1.0")
        assert not old.orderable
        # Seen is not owned: another member changes nothing of Halden's.
        await expect(analyse, "PATCH", f"productOffering/{oid}", {"name": "Mine"}, 403,
                     "not-yours")
        await expect(analyse, "DELETE", f"productOfferingPrice/{plan['id']}", None, 403,
                     "not-yours")
        await expect(analyse, "POST", "productOffering", {
            "name": "Resold", "productSpecification": {"id": spec["id"]}}, 403, "not-yours")
        assert await total(space, "productOffering") == 1
        # The operator may act on any.
        mp = space.marketplace
        status, body, _ = await mp.call("PATCH", f"{TMF620}/productOffering/{oid}",
                                        {"lifecycleStatus": "retired"},
                                        headers={**mp.admin, **MERGE})
        assert (status, body["lifecycleStatus"]) == (200, "retired"), body
        await expect(halden, "PATCH", f"productOfferingPrice/{plan['id']}",
                     {"price": {"unit": "NOK", "value": 10}}, 409, "offering-retired")
