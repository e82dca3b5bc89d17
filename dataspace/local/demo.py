"""``dataspace demo``: the data-space story, played against a running local data space.

Each step uses only public APIs (the trust anchor's admin and onboarding
APIs, the connectors' management APIs, the data plane) and checks that what
happened is what should happen. The story:

1. the operator onboards a new company (Fjord Mobility AS) and its
   credential verifies;
2. Halden kommune publishes bicycle counts under "at most 100 calls, for
   research, until a date";
3. Example Analytics AS reads Halden's catalog, negotiates and pulls data;
4. it uses its 100 calls and the next one is refused (403, with reasons); a
   call for another purpose is refused too;
5. it asks for the restricted building-energy dataset; Halden approves; it
   pulls the CSV;
6. it fetches a signed usage receipt from Halden's connector and verifies it;
7. it buys Halden's parking data on the marketplace, pays the invoice, pulls
   with the purchase credential, cancels and is refused, and is billed for
   pay-per-use calls (:mod:`dataspace.local.purchase`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from dataspace.client import ApiClient
from dataspace.local.purchase import PurchaseStory
from dataspace.local.space import RESTART_GRACE, LocalSpace
from dataspace.local.story import StepFailed, expect
from dataspace.participant import apply, collect, init_participant
from identity.resolver import DidResolver
from identity.signed import verify_signed_jwt
from servicekit.errors import DataspaceError
from servicekit.http import create_client_session

__all__ = ["BIKE_DATASET", "RESEARCH", "Demo", "StepFailed", "bike_policy", "unsatisfied"]

RESEARCH = "https://w3id.org/dpv#AcademicResearch"
MARKETING = "https://w3id.org/dpv#Marketing"
BIKE_DATASET = "halden-bike-counts"
PROVIDER, CONSUMER = "halden", "example-analytics"


def unsatisfied(reasons: list[dict[str, Any]]) -> list[str]:
    """The messages of the constraints a refusal names as not satisfied."""
    return [str(r["message"]) for r in reasons if r.get("code") == "constraint-unsatisfied"]


def bike_policy(provider_did: str, until: datetime) -> dict[str, Any]:
    """At most 100 calls, for research, until ``until`` (members only)."""
    return {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "Offer",
        "@id": "urn:offer:halden-bike-counts:research-100",
        "assigner": provider_did,
        "profile": "https://w3id.org/dataspace-toolkit/odrl/profile",
        "permission": [{
            "action": "use",
            "constraint": [
                {"leftOperand": "dst:credentialType", "operator": "eq",
                 "rightOperand": "MembershipCredential"},
                {"leftOperand": "count", "operator": "lt",
                 "rightOperand": {"@value": "100", "@type": "xsd:integer"}},
                {"leftOperand": "purpose", "operator": "isAnyOf",
                 "rightOperand": [RESEARCH, "https://w3id.org/dpv#NonCommercialResearch"]},
                {"leftOperand": "dateTime", "operator": "lt",
                 "rightOperand": {"@value": until.isoformat().replace("+00:00", "Z"),
                                  "@type": "xsd:dateTime"}},
            ],
        }],
    }


@dataclass
class Demo:
    """Plays the story against the data space in ``space``."""

    space: LocalSpace
    report: Callable[[str, str], None]
    facts: dict[str, Any] = field(default_factory=dict)

    def steps(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        """(title, step) in the order they are played."""
        return [
            ("The operator onboards Fjord Mobility AS", self.onboard_company),
            ("Halden publishes bicycle counts: 100 calls, research, until a date",
             self.publish),
            ("Example Analytics reads the catalog and negotiates", self.negotiate),
            ("Example Analytics pulls data", self.pull),
            ("The 101st call and a call for marketing are refused", self.hit_limit),
            ("Example Analytics asks for the restricted building-energy data; Halden approves",
             self.restricted),
            ("Example Analytics verifies its signed usage receipt", self.receipt),
            *PurchaseStory(self).steps(),
        ]

    async def run(self) -> list[tuple[str, bool, str]]:
        """Run every step; returns (title, passed, what happened) for each."""
        results = []
        for title, step in self.steps():
            self.report(title, "running")
            try:
                outcome = await step()
            except (DataspaceError, AssertionError, aiohttp.ClientError, KeyError) as error:
                detail = getattr(error, "detail", None) or str(error) or type(error).__name__
                self.report(title, f"FAILED: {detail}")
                results.append((title, False, detail))
                break
            self.report(title, outcome)
            results.append((title, True, outcome))
        return results

    # -- helpers -----------------------------------------------------------------

    def _provider_dsp(self) -> str:
        return str(self.space.service(PROVIDER)["dsp_url"])

    async def wait_for(self, client: ApiClient, path: str,
                       done: Callable[[dict[str, Any]], bool],
                       within: float = 20.0) -> dict[str, Any]:
        """GET ``path`` until ``done`` says so (StepFailed after ``within`` seconds)."""
        deadline = time.monotonic() + within
        while True:
            body: dict[str, Any] = await client.get(path)
            if done(body):
                return body
            if time.monotonic() > deadline:
                raise StepFailed(f"{path} stayed {body.get('state')}")
            await asyncio.sleep(0.1)

    async def _start(self, consumer: ApiClient, dataset_id: str, offer_id: str | None) -> str:
        body = {"counterparty_address": self._provider_dsp(), "dataset_id": dataset_id}
        if offer_id is not None:
            body["offer_id"] = offer_id
        started = await consumer.post("/api/v1/negotiations", body)
        return str(started["id"])

    async def negotiate_for(self, consumer: ApiClient, dataset_id: str,
                            offer_id: str | None = None,
                            approve: Callable[[str], Awaitable[None]] | None = None
                            ) -> dict[str, Any]:
        """Ask Halden for a contract (``approve`` plays Halden's part); the negotiation
        once FINALIZED or TERMINATED."""
        negotiation_id = await self._start(consumer, dataset_id, offer_id)
        if approve is not None:
            await approve(negotiation_id)
        return await self.wait_for(consumer, f"/api/v1/negotiations/{negotiation_id}",
                                   lambda n: n["state"] in ("FINALIZED", "TERMINATED"))

    async def agree(self, consumer: ApiClient, dataset_id: str,
                    approve: Callable[[str], Awaitable[None]] | None = None, *,
                    offer_id: str | None = None) -> str:
        """The id of a FINALIZED agreement for ``dataset_id`` (StepFailed otherwise)."""
        final = await self.negotiate_for(consumer, dataset_id, offer_id, approve)
        expect(final["state"] == "FINALIZED",
               f"the negotiation ended {final['state']}: {final.get('error_reason')}")
        return str(final["agreement_id"])

    async def transfer(self, consumer: ApiClient, agreement_id: str) -> dict[str, Any]:
        """Start an HTTP pull under ``agreement_id``; its endpoint data reference."""
        transfer = await consumer.post("/api/v1/transfers", {"agreement_id": agreement_id})
        await self.wait_for(consumer, f"/api/v1/transfers/{transfer['id']}",
                         lambda t: t["state"] in ("STARTED", "TERMINATED"))
        edr: dict[str, Any] = await consumer.get(f"/api/v1/transfers/{transfer['id']}/edr")
        return edr

    # -- the story ---------------------------------------------------------------

    async def onboard_company(self) -> str:
        folder = self.space.data_dir / "demo" / "fjord-mobility"
        company = init_participant(folder, "demo passphrase", scrypt_n=2**14)
        ta = self.space.service("trust-anchor")
        if "application_id" not in company.state:
            await apply(company, ta["base_url"], {
                "legal_name": "Fjord Mobility AS", "organisation_number": "923 456 789",
                "country": "NO", "contact": {"name": "Ola", "email": "ola@fjordmobility.no"},
                "roles": ["consumer"]})
        async with self.space.operator() as operator:
            application = await operator.get(
                f"/admin/applications/{company.state['application_id']}")
            if application["status"] == "submitted":
                approved = await operator.post(
                    f"/admin/applications/{company.state['application_id']}/approve",
                    {"reason": "demo: documents checked"})
                await collect(company, tx_code=approved["tx_code"])
            credential_path = company.state.get("credentials", {}).get("MembershipCredential")
            expect(credential_path is not None, "no membership credential was collected")
            credential = (await asyncio.to_thread(Path(str(credential_path)).read_text)).strip()
            verified = await operator.post("/credentials/verify",
                                           {"verifiableCredential": credential})
        expect(verified["verified"] is True, "the membership credential does not verify")
        return (f"{company.did[:32]}… is a member; its MembershipCredential verifies "
                f"(trust anchor: {ta['base_url']}/operator)")

    async def publish(self) -> str:
        until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        provider_did = self.space.service(PROVIDER)["did"]
        async with self.space.management(PROVIDER) as halden:
            existing = await halden.get("/api/v1/datasets")
            if BIKE_DATASET not in {d["id"] for d in existing["items"]}:
                await halden.post("/api/v1/datasets", {
                    "id": BIKE_DATASET,
                    "title": "Sykkeltellinger i Halden",
                    "description": "Bicycle counts, for research only: at most 100 calls.",
                    "keywords": ["sykkel", "mobility"],
                    "publisher": "Halden kommune",
                    "media_type": "application/json",
                    "access_level": "PUBLIC",
                    "backend": {"type": "file",
                                "address": str(self.space.seed_file("air-quality.json"))},
                    "policy": bike_policy(provider_did, until),
                })
        return f"{BIKE_DATASET} offered until {until:%Y-%m-%d}"

    async def negotiate(self) -> str:
        async with self.space.management(CONSUMER) as consumer:
            catalog = await consumer.post("/api/v1/catalog/request",
                                          {"counterparty_address": self._provider_dsp()})
            datasets = catalog["catalog"].get("dataset", [])
            titles = {d.get("@id"): d.get("title") for d in datasets}
            expect(BIKE_DATASET in titles, f"{BIKE_DATASET} is not in Halden's catalog")
            self.facts["agreement"] = await self.agree(consumer, BIKE_DATASET)
        return (f"catalog lists {len(datasets)} datasets; agreement "
                f"{self.facts['agreement']} is FINALIZED")

    async def pull(self) -> str:
        async with self.space.management(CONSUMER) as consumer:
            edr = await self.transfer(consumer, self.facts["agreement"])
        self.facts["edr"] = edr
        status, body = await self.fetch(edr, RESEARCH)
        expect(status == 200, f"the first pull answered {status}: {body[:200]}")
        records = json.loads(body)
        expect(isinstance(records, list) and len(records) > 0, "the pull returned no data")
        return f"{len(records)} records from {edr['endpoint']} (call 1 of 100)"

    async def fetch(self, edr: dict[str, Any], purpose: str | None = None) -> tuple[int, str]:
        """One data request with ``edr`` (riding out a restart of the provider)."""
        deadline = time.monotonic() + RESTART_GRACE
        headers = {"Authorization": f"Bearer {edr['token']}"}
        if purpose is not None:
            headers["X-Purpose"] = purpose
        while True:
            try:
                async with aiohttp.ClientSession() as http, http.get(
                    edr["endpoint"], headers=headers) as response:
                    return response.status, await response.text()
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)  # the provider is restarting

    async def hit_limit(self) -> str:
        edr = self.facts["edr"]
        statuses = [(await self.fetch(edr, RESEARCH))[0] for _ in range(99)]
        expect(statuses.count(200) == 99, f"calls 2-100 answered {set(statuses)}")
        status, body = await self.fetch(edr, RESEARCH)
        expect(status == 403, f"call 101 answered {status}")
        problem = json.loads(body)
        reasons = problem.get("reasons") or []
        expect(bool(reasons), "the refusal gave no reasons")
        status, body = await self.fetch(edr, MARKETING)
        expect(status == 403, f"a marketing call answered {status}")
        failed = unsatisfied(reasons)
        expect(any("count" in m for m in failed), f"the refusal does not name the count: {failed}")
        marketing = unsatisfied(json.loads(body).get("reasons") or [])
        expect(any("purpose" in m for m in marketing),
               f"the marketing refusal does not name the purpose: {marketing}")
        # The reasons in full: a cut one ("...; coun") tells the reader nothing.
        return (f"100 calls served; call 101: 403 ({'; '.join(failed)}); "
                f"marketing: 403 ({'; '.join(marketing)})")

    async def restricted(self) -> str:
        async def approve(negotiation_id: str) -> None:
            async with self.space.management(PROVIDER) as halden:
                deadline = time.monotonic() + 20
                while True:
                    waiting = await halden.get("/api/v1/negotiations?awaiting=owner")
                    if waiting["items"]:
                        break
                    expect(time.monotonic() < deadline, "Halden never saw the request")
                    await asyncio.sleep(0.1)
                for item in waiting["items"]:
                    await halden.post(f"/api/v1/negotiations/{item['id']}/approve", {})

        async with self.space.management(CONSUMER) as consumer:
            agreement = await self.agree(consumer, "halden-building-energy", approve)
            edr = await self.transfer(consumer, agreement)
        status, body = await self.fetch(edr, RESEARCH)
        expect(status == 200, f"the restricted pull answered {status}: {body[:200]}")
        lines = body.strip().splitlines()
        expect(lines[0].startswith("building,"), "the CSV has no header")
        return f"approved by Halden; {len(lines) - 1} rows of building energy use"

    async def receipt(self) -> str:
        edr = self.facts["edr"]
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(edr["endpoint"]))
        async with aiohttp.ClientSession() as http, http.get(
            f"{origin}/dataplane/receipt", headers={"Authorization": f"Bearer {edr['token']}"},
        ) as response:
            expect(response.status == 200, f"the receipt answered {response.status}")
            signed = await response.json()
        provider = self.space.service(PROVIDER)
        async with create_client_session(guarded=True, allow_loopback=True) as session:
            resolver = DidResolver(session=session, allow_loopback=True)
            claims = await verify_signed_jwt(signed["receipt"], resolver,
                                             typ={"usage-receipt+jwt"}, issuer=provider["did"])
        usage = claims["usage"]
        expect(usage.get("requests") == 100, f"the receipt counts {usage}, not 100 uses")
        return f"signed by {provider['did']}: {usage}"
