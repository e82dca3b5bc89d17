"""Halden's data products on the local marketplace, and the offers that sell them.

Three products, each a TMF620 product specification (naming the dataset in
Halden's DSP catalog), its pricing plans and a launched offering, registered
by Halden itself over the marketplace's TMF620 API (DCP member calls signed
with Halden's connector key, :mod:`dataspace.local.members`):

* **Luftkvalitet i Halden**: free and open (a free plan; the connector's
  offer stays open to every member);
* **Parkering i Halden**: the parking API on a monthly plan and a
  pay-per-use plan. The connector offers the dataset only under the plans'
  policies (:func:`marketplace.domain.pricing.plan_policy`): a
  DataProductPurchaseCredential naming this product and that plan (a
  pay-per-use buyer cannot take the monthly offer and go unmetered); the
  pay-per-use offer's metering duty makes the data plane report the use to
  the marketplace, which bills it. The held offer the dataset was registered
  under (:mod:`dataspace.local.datasets`) is withdrawn;
* **Energibruk i kommunale bygg**: restricted (orders wait for Halden's
  approval, and so do contracts at its connector), on a free plan.

:func:`seed_products` records each step in the bootstrap state, so a second
``up`` (or one after a crash) does not register anything twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dataspace.client import ApiError
from dataspace.local.datasets import AIR_QUALITY, BUILDING_ENERGY, PARKING
from dataspace.local.members import MarketplaceCaller
from marketplace.domain.pricing import PriceType, PricingPlan, plan_policy
from policies.serialize import to_dsp

if TYPE_CHECKING:
    from dataspace.local.space import LocalSpace

__all__ = ["OFFER_TERMS", "PRODUCTS", "TMF620", "Plan", "Product", "offer_id", "seed_products"]

TMF620 = "/tmf-api/productCatalogManagement/v4"
#: What the connector offers of a sold product require (kept in the bootstrap state, so a
#: space offered under older terms is offered again: each plan's offer names its plan).
OFFER_TERMS = "product-and-plan"
TMF635_USAGE = "/tmf-api/usageManagement/v4/usage"
_NLOD = "https://data.norge.no/nlod/no/2.0"
_THEME = "http://publications.europa.eu/resource/authority/data-theme/"


@dataclass(frozen=True)
class Plan:
    """A pricing plan (its TMF620 ProductOfferingPrice body) under a short key."""

    key: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Product:
    """A data product of Halden's on the marketplace."""

    key: str
    dataset_id: str
    name: str
    description: str
    access_level: str
    media_type: str
    theme: str
    plans: tuple[Plan, ...]
    #: The connector offers the dataset only under the plans' policies.
    sold: bool = False


def _characteristics(product: Product) -> list[dict[str, Any]]:
    values = {"accessLevel": product.access_level, "format": product.media_type,
              "theme": _THEME + product.theme, "licence": _NLOD}
    return [{"name": name, "productSpecCharacteristicValue": [{"value": value}]}
            for name, value in values.items()]


PRODUCTS: tuple[Product, ...] = (
    Product("air-quality", AIR_QUALITY, "Luftkvalitet i Halden",
            "Timeverdier for svevestøv (PM10, PM2,5), NO2 og temperatur fra tre målestasjoner "
            "i Halden. Gratis og åpne data under NLOD 2.0.",
            "PUBLIC", "application/json", "ENVI",
            (Plan("free", {"name": "Gratis", "description": "Åpne data, fritt for alle "
                           "medlemmer.", "priceType": "oneTime",
                           "price": {"unit": "NOK", "value": 0}}),)),
    Product("parking", PARKING, "Parkering i Halden",
            "Ledige plasser i Haldens parkeringshus og på kommunens parkeringsplasser akkurat "
            "nå, fra kommunens parkerings-API (Smart Data Models OffStreetParking).",
            "PUBLIC", "application/json", "TRAN",
            (Plan("monthly", {"name": "Månedsabonnement",
                              "description": "Fri bruk av parkerings-API-et, fakturert "
                                             "månedlig.",
                              "priceType": "recurring", "recurringChargePeriodType": "month",
                              "recurringChargePeriodLength": 1,
                              "price": {"unit": "NOK", "value": 490}}),
             Plan("per-use", {"name": "Betal per bruk",
                              "description": "50 øre per kall, fakturert etter bruk.",
                              "priceType": "usage", "price": {"unit": "NOK", "value": 0.5},
                              "unitOfMeasure": {"amount": 1, "units": "call"}})),
            sold=True),
    Product("building-energy", BUILDING_ENERGY, "Energibruk i kommunale bygg",
            "Månedlig strøm- og fjernvarmeforbruk i Halden kommunes bygg. Begrenset: kommunen "
            "godkjenner hver bestilling og hver avtale.",
            "RESTRICTED", "text/csv", "ENER",
            (Plan("research", {"name": "Forskningstilgang",
                               "description": "Gratis etter godkjenning fra kommunen.",
                               "priceType": "oneTime", "price": {"unit": "NOK", "value": 0}}),)),
)


def offer_id(dataset_id: str, plan_key: str) -> str:
    """The id of the connector offer of ``dataset_id`` under the plan ``plan_key``."""
    return f"urn:offer:{dataset_id}:{plan_key}"


async def seed_products(space: LocalSpace, state: dict[str, Any],
                        save: Callable[[], None]) -> None:
    """Register Halden's products, plans and offerings as Halden; sell what is sold."""
    halden = space.service("halden")
    market = space.service("marketplace")
    done: dict[str, Any] = state.setdefault("products", {})
    signer = space.signer("halden")
    async with MarketplaceCaller(market["base_url"], market["did"], signer=signer,
                                 grace=30.0) as caller:
        for product in PRODUCTS:
            record: dict[str, Any] = done.setdefault(product.key, {})
            offered = record.get("offered") == OFFER_TERMS
            if record.get("launched") and (offered or not product.sold):
                continue
            await _register(caller, product, halden["dsp_url"], record, save)
            if product.sold and not offered:
                await _offer_under_plans(space, product, record, market["base_url"])
                record["offered"] = OFFER_TERMS
                save()
            space.log(f"  marketplace: Halden offers “{product.name}” "
                      f"({', '.join(p.body['name'] for p in product.plans)})")


async def _register(caller: MarketplaceCaller, product: Product, dsp_url: str,
                    record: dict[str, Any], save: Callable[[], None]) -> None:
    """The specification, the plans and the launched offering (each step once)."""
    if "specification" not in record:
        spec = await caller.post(f"{TMF620}/productSpecification", {
            "name": product.name, "description": product.description,
            "dspAddress": dsp_url, "datasetIds": [product.dataset_id],
            "productSpecCharacteristic": _characteristics(product)})
        record["specification"] = spec["id"]
        save()
    plans: dict[str, str] = record.setdefault("plans", {})
    for plan in product.plans:
        if plan.key not in plans:
            made = await caller.post(f"{TMF620}/productOfferingPrice", plan.body)
            plans[plan.key] = made["id"]
            save()
    if "offering" not in record:
        offering = await caller.post(f"{TMF620}/productOffering", {
            "name": product.name, "description": product.description,
            "lifecycleStatus": "inTest",
            "productSpecification": {"id": record["specification"]},
            "productOfferingPrice": [{"id": plans[p.key]} for p in product.plans]})
        record["offering"] = offering["id"]
        save()
    if not record.get("launched"):
        await caller.patch(f"{TMF620}/productOffering/{record['offering']}",
                           {"lifecycleStatus": "launched"})
        record["launched"] = True
        save()


async def _offer_under_plans(space: LocalSpace, product: Product, record: dict[str, Any],
                             marketplace_url: str) -> None:
    """One connector offer per plan (its policy names the product and the plan); withdraw
    the rest."""
    did = str(space.service("halden")["did"])
    wanted = {offer_id(product.dataset_id, plan.key) for plan in product.plans}
    async with space.management("halden") as connector:
        for plan in product.plans:
            terms = PricingPlan.model_validate(plan.body)
            usage = terms.price_type is PriceType.USAGE
            offer = offer_id(product.dataset_id, plan.key)
            policy = plan_policy(terms, offer_id=offer,
                                 assigner=did, product_id=record["specification"],
                                 plan_id=record["plans"][plan.key],
                                 meter_endpoint=marketplace_url + TMF635_USAGE if usage else None)
            policy_id = f"urn:policy:{product.dataset_id}:{plan.key}"
            # replaced, not kept: an earlier run's offer may rest on older terms
            await _gone(connector.delete(f"/api/v1/offers/{offer}"))
            await _gone(connector.delete(f"/api/v1/policies/{policy_id}"))
            await connector.post("/api/v1/policies", {
                "id": policy_id, "title": str(plan.body["name"]),
                "policy": to_dsp(policy, context=False)})
            await connector.post("/api/v1/offers", {
                "id": offer, "dataset_id": product.dataset_id, "policy_id": policy_id})
        offers = await connector.get(f"/api/v1/offers?dataset_id={product.dataset_id}")
        for listed in offers["items"]:
            if listed["id"] not in wanted:
                await connector.delete(f"/api/v1/offers/{listed['id']}")


async def _gone(request: Any) -> None:
    """Await a delete request; one for what is not there (a first run) is fine."""
    try:
        await request
    except ApiError as error:
        if error.http_status != 404:
            raise
