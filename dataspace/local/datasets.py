"""The datasets the local data space seeds in Halden's connector.

Air quality is green and open, building energy yellow (Halden approves each
contract). Parking is sold on the marketplace: it is registered under a
*held* offer that only a purchase of a data product nobody can buy
satisfies (:data:`HELD_PRODUCT`), so it is never open, not even for the
moment between registering it and the marketplace naming its product;
:mod:`dataspace.local.products` then offers it under the policy of each of
its pricing plans and withdraws the held offer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policies.presets import plan_offer, purchase
from policies.serialize import to_dsp

if TYPE_CHECKING:
    from dataspace.local.space import LocalSpace

__all__ = ["AIR_QUALITY", "BUILDING_ENERGY", "HELD_PRODUCT", "PARKING", "air_quality",
           "building_energy", "held_offer", "parking"]

AIR_QUALITY = "halden-air-quality"
PARKING = "halden-parking"
BUILDING_ENERGY = "halden-building-energy"
#: The product a held offer asks a purchase of: no marketplace sells it.
HELD_PRODUCT = "urn:dataspace:local:not-yet-on-the-marketplace"


def held_offer(dataset_id: str, assigner: str) -> dict[str, Any]:
    """An offer of ``dataset_id`` nobody satisfies until the marketplace sells it."""
    policy = plan_offer(purchase(HELD_PRODUCT),
                        offer_id=f"urn:offer:{dataset_id}:held", assigner=assigner)
    return to_dsp(policy, context=False)


def air_quality(space: LocalSpace) -> dict[str, Any]:
    """Green: hourly air quality from three stations, open to every member."""
    return {
        "id": AIR_QUALITY,
        "title": "Luftkvalitet i Halden (AirQualityObserved)",
        "description": "Hourly PM10, PM2.5, NO2 and temperature from three stations in Halden, "
                       "as Smart Data Models AirQualityObserved entities.",
        "keywords": ["luftkvalitet", "air quality", "PM10", "NO2"],
        "themes": ["http://publications.europa.eu/resource/authority/data-theme/ENVI"],
        "publisher": "Halden kommune",
        "media_type": "application/json",
        "access_level": "PUBLIC",
        "backend": {"type": "file", "address": str(space.seed_file("air-quality.json"))},
    }


def parking(space: LocalSpace) -> dict[str, Any]:
    """Sold on the marketplace: free spaces in Halden's car parks (held until it is)."""
    return {
        "id": PARKING,
        "title": "Parkering i Halden (OffStreetParking)",
        "description": "Free spaces in Halden's car parks right now, as Smart Data Models "
                       "OffStreetParking entities.",
        "keywords": ["parkering", "parking"],
        "themes": ["http://publications.europa.eu/resource/authority/data-theme/TRAN"],
        "publisher": "Halden kommune",
        "media_type": "application/json",
        "access_level": "PUBLIC",
        "backend": {"type": "http", "address": space.spec("parking-api").base_url + "/parking"},
        "policy": held_offer(PARKING, str(space.service("halden")["did"])),
    }


def building_energy(space: LocalSpace) -> dict[str, Any]:
    """Yellow: municipal buildings' energy use; Halden approves each contract."""
    return {
        "id": BUILDING_ENERGY,
        "title": "Energibruk i kommunale bygg",
        "description": "Monthly electricity and district heating use of municipal buildings. "
                       "Restricted: the municipality approves each request.",
        "keywords": ["energi", "bygg", "energy"],
        "themes": ["http://publications.europa.eu/resource/authority/data-theme/ENER"],
        "publisher": "Halden kommune",
        "media_type": "text/csv",
        "access_level": "RESTRICTED",
        "backend": {"type": "file", "address": str(space.seed_file("building-energy.csv"))},
    }
