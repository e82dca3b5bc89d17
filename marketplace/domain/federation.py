"""The federated view's record: a dataset harvested from a provider's DSP catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["HarvestedDataset"]


@dataclass(frozen=True)
class HarvestedDataset:
    """One dataset as a provider's catalog served it to the marketplace."""

    #: The provider's DID and its legal name (from the trust anchor's participant list).
    publisher: str
    publisher_name: str
    #: The dataset's ``@id`` in the provider's catalog.
    dataset_id: str
    title: str
    #: Lower-cased title, description and keywords (what ``q`` matches).
    text: str
    #: The provider's DSP endpoint the dataset was found at.
    dsp_address: str
    #: The DCAT dataset as the catalog served it.
    body: dict[str, Any]
    harvested_at: datetime
