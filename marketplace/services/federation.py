"""The providers' DSP catalogs, read with the marketplace's own DCP credentials.

The marketplace is a member of the data space: it asks a provider's
connector for its catalog (DSP 2025-1 ``POST {dsp}/catalog/request``, pages
followed through ``Link: <...>; rel="next"``) with a DCP self-issued token
addressed to the provider's DID, whose access token lets the provider read
the marketplace's MembershipCredential from its Credential Service. The
requests go through the guarded HTTP client.

* :meth:`Federation.missing` (the ``DatasetCatalog`` a product is checked
  against): the dataset ids of a product that the provider's catalog does
  not have;
* :meth:`Federation.harvest` (every ``harvest_seconds``, and on the
  operator's request): the datasets of every active member with the role
  ``provider`` in the trust anchor's participant list, found at the DSP
  address its DID document names (``DataService`` → ``/.well-known/dspace-version``),
  stored for the portal's federated view (:meth:`Federation.find`),
  including datasets not (yet) sold as products.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.dcp import DcpTokenProvider
from identity.resolver import DidResolver
from marketplace.domain.federation import HarvestedDataset
from marketplace.services.callers import Caller
from marketplace.store import harvest as store
from servicekit.errors import DataspaceError, Forbidden, UpstreamError, peer_refused
from servicekit.http import check_address

__all__ = ["DSP_CONTEXT", "Federation", "HarvestReport"]

_log = structlog.get_logger("marketplace.federation")

DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
_DSP_VERSION = "2025-1"
_MAX_BYTES = 8 * 1024 * 1024
_MAX_PAGES = 50
_TIMEOUT = 15.0
_SCOPES = ("MembershipCredential",)


@dataclass(frozen=True)
class HarvestReport:
    """What one harvest found."""

    providers: int
    datasets: int
    failed: list[dict[str, str]] = field(default_factory=list)


def _text(value: Any) -> str:
    """A DCAT literal as text (a plain string, a ``@value`` object, or a list of them)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _text(value.get("@value"))
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return ""


def _datasets(catalog: dict[str, Any]) -> list[dict[str, Any]]:
    """The datasets of a catalog and of the catalogs nested in it (one level)."""
    found = [d for d in catalog.get("dataset") or [] if isinstance(d, dict)]
    for nested in catalog.get("catalog") or []:
        if isinstance(nested, dict):
            found.extend(d for d in nested.get("dataset") or [] if isinstance(d, dict))
    return [d for d in found if isinstance(d.get("@id"), str) and d["@id"]]


@dataclass(frozen=True, eq=False)
class Federation:
    """Reads providers' catalogs as the marketplace (see the module docstring)."""

    engine: AsyncEngine
    session: aiohttp.ClientSession
    resolver: DidResolver
    tokens: DcpTokenProvider
    #: The trust anchor whose participant list names the providers (None: no harvest).
    trust_anchor_url: str | None
    interval: float = 0.0
    dev: bool = False

    async def _request(self, method: str, url: str, *, audience: str | None = None,
                       body: Any = None) -> tuple[int, Any, aiohttp.ClientResponse]:
        headers = {"Accept": "application/json"}
        if audience is not None:
            headers["Authorization"] = await self.tokens.token_for(audience, _SCOPES)
        try:
            async with asyncio.timeout(_TIMEOUT):
                async with self.session.request(method, url, json=body, headers=headers,
                                                allow_redirects=False) as response:
                    raw = await response.content.read(_MAX_BYTES)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError(f"{url} did not answer: {type(exc).__name__}",
                                code="provider-unreachable") from None
        try:
            payload = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            payload = None
        return response.status, payload, response

    async def catalog(self, dsp_address: str, provider_did: str) -> list[dict[str, Any]]:
        """Every dataset of the provider's DSP catalog, as it shows them to the marketplace."""
        await check_address(self.session, dsp_address, code="dsp-address", name="dsp_address")
        base = dsp_address.rstrip("/")
        url: str | None = f"{base}/catalog/request"
        message = {"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []}
        datasets: list[dict[str, Any]] = []
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            status, payload, response = await self._request("POST", url, audience=provider_did,
                                                             body=message)
            if status != 200 or not isinstance(payload, dict):
                raise peer_refused(status, payload,
                                   f"the catalog request to {base} failed with HTTP {status}",
                                   code="catalog-request-failed")
            datasets.extend(_datasets(payload))
            url = _next_page(response, base)
        return datasets

    async def missing(self, dsp_address: str, provider_did: str,
                      dataset_ids: Sequence[str]) -> list[str]:
        """The ids among ``dataset_ids`` that the provider's catalog does not offer us."""
        offered = {d["@id"] for d in await self.catalog(dsp_address, provider_did)}
        return [i for i in dict.fromkeys(dataset_ids) if i not in offered]

    # --- harvesting ------------------------------------------------------------------------

    async def providers(self) -> list[dict[str, Any]]:
        """The active members with the role ``provider`` (the trust anchor's participant list)."""
        if self.trust_anchor_url is None:
            return []
        base = self.trust_anchor_url.rstrip("/")
        url: str | None = f"{base}/participants?limit=100"
        found: list[dict[str, Any]] = []
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            status, payload, _ = await self._request("GET", url)
            if status != 200 or not isinstance(payload, dict):
                raise peer_refused(status, payload, "the participant list could not be read",
                                   code="participants-unavailable")
            found.extend(p for p in payload.get("items") or []
                         if isinstance(p, dict) and p.get("status") == "active"
                         and "provider" in (p.get("roles") or [])
                         and isinstance(p.get("did"), str))
            following = payload.get("next")
            url = following if isinstance(following, str) and _same_origin(following, base) \
                else None
        return found

    async def dsp_address(self, did: str) -> str:
        """The DSP endpoint of ``did``: its DID document's DataService, then its versions."""
        document = await self.resolver.resolve(did)
        for service in document.services_of_type("DataService"):
            endpoint = service.get("serviceEndpoint")
            if not isinstance(endpoint, str):
                continue
            await check_address(self.session, endpoint, code="dsp-address", name="DataService")
            status, payload, _ = await self._request("GET", endpoint)
            versions = payload.get("protocolVersions") if isinstance(payload, dict) else None
            for entry in versions if status == 200 and isinstance(versions, list) else []:
                if isinstance(entry, dict) and entry.get("version") == _DSP_VERSION and \
                        isinstance(entry.get("path"), str):
                    return urljoin(endpoint, str(entry["path"])).rstrip("/")
        raise UpstreamError(f"{did} names no DSP {_DSP_VERSION} endpoint",
                            code="dsp-address-unknown")

    async def _harvest_one(self, provider: dict[str, Any], at: datetime) -> int:
        did = str(provider["did"])
        address = await self.dsp_address(did)
        rows: dict[str, HarvestedDataset] = {}
        for dataset in await self.catalog(address, did):
            title = _text(dataset.get("dct:title") or dataset.get("title")) or dataset["@id"]
            words = " ".join([title, _text(dataset.get("dct:description")),
                              _text(dataset.get("dcat:keyword")), _text(dataset.get("keyword"))])
            dataset_id = str(dataset["@id"])[:500]
            # The first wins: a catalog (with its nested ones) may list a dataset twice.
            rows.setdefault(dataset_id, HarvestedDataset(
                publisher=did, publisher_name=str(provider.get("legal_name") or did),
                dataset_id=dataset_id, title=title, text=words.lower(),
                dsp_address=address, body=dataset, harvested_at=at))
        async with self.engine.begin() as conn:
            await store.replace_publisher(conn, did, list(rows.values()))
        return len(rows)

    async def harvest(self) -> HarvestReport:
        """Read every provider's catalog now; a provider that fails keeps what it had."""
        providers = await self.providers()
        at = datetime.now(UTC)
        count, failed = 0, []
        for provider in providers:
            try:
                count += await self._harvest_one(provider, at)
            except DataspaceError as exc:
                failed.append({"did": str(provider["did"]), "code": exc.code,
                               "detail": exc.detail})
                _log.warning("harvest_failed", provider=provider["did"], code=exc.code)
        async with self.engine.begin() as conn:
            await store.drop_publishers_except(conn, [str(p["did"]) for p in providers])
        _log.info("catalogs_harvested", providers=len(providers), datasets=count,
                  failed=len(failed))
        return HarvestReport(providers=len(providers), datasets=count, failed=failed)

    async def publisher_names(self) -> dict[str, str]:
        """The legal names of the providers harvested so far, by DID (the registry's)."""
        async with self.engine.connect() as conn:
            return await store.publisher_names(conn)

    async def harvest_now(self, who: Caller) -> HarvestReport:
        """The operator's "harvest now"."""
        if not who.require().operator:
            raise Forbidden("only the marketplace's operator may harvest", code="operator-only")
        return await self.harvest()

    async def find(self, *, q: str | None, publisher: str | None, limit: int,
                   offset: int) -> tuple[list[HarvestedDataset], int]:
        """A page of harvested datasets (anyone may browse the federated view)."""
        async with self.engine.connect() as conn:
            return await store.find(conn, q=q, publisher=publisher, limit=limit, offset=offset)

    async def run(self, stopping: asyncio.Event) -> None:
        """Harvest every ``interval`` seconds until ``stopping`` is set."""
        while not stopping.is_set():
            try:
                await self.harvest()
            except DataspaceError as exc:
                _log.warning("harvest_round_failed", code=exc.code, detail=exc.detail)
            except Exception:  # the loop must outlive one bad round
                _log.exception("harvest_round_crashed")
            try:
                await asyncio.wait_for(stopping.wait(), self.interval)
            except TimeoutError:
                continue


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def _next_page(response: aiohttp.ClientResponse, base: str) -> str | None:
    """The ``rel="next"`` link of a catalog page, if it stays at the provider."""
    for link in response.headers.getall("Link", []):
        for part in link.split(","):
            if 'rel="next"' in part and "<" in part and ">" in part:
                url = urljoin(base + "/", part[part.index("<") + 1:part.index(">")])
                return url if _same_origin(url, base) else None
    return None
