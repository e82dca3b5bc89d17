"""`dataspace up` and `dataspace demo` as a newcomer runs them, as real processes.

One data space for the module (it takes a few seconds to start): the demo
completes; it completes again while a connector is killed and restarted;
Ctrl-C stops every child; a second `up` reuses the state.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.local.conftest import DATASPACE, Up, children_of, free_base_port

pytestmark = pytest.mark.slow

RESEARCH = "https://w3id.org/dpv#AcademicResearch"
PURCHASE = "DataProductPurchaseCredential"
TMF620 = "/tmf-api/productCatalogManagement/v4"
TMF622 = "/tmf-api/productOrderingManagement/v4"
TMF678 = "/tmf-api/customerBillManagement/v4"
MARKETING = "https://w3id.org/dpv#Marketing"


def demo(data_dir: Path, *, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DATASPACE, "demo", "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"})


def _get(url: str, api_key: object = None) -> Any:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return json.loads(response.read())


def _audit(connector_dir: Path, agreement_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The data plane's audit records for ``agreement_id``, read from its SQLite file."""
    records = []
    for path in connector_dir.rglob("*.sqlite3"):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'dp_audit'").fetchone():
                records += [(kind, json.loads(body)) for kind, body in db.execute(
                    "SELECT kind, body FROM dp_audit WHERE agreement_id = ? ORDER BY seq",
                    (agreement_id,))]
    return records


async def _receipt(consumer: dict[str, Any], provider_did: str,
                   agreement_id: str) -> dict[str, Any]:
    """The provider's signed usage receipt for the consumer's transfer, verified here."""
    from identity.resolver import DidResolver
    from identity.signed import verify_signed_jwt
    from servicekit.http import create_client_session

    headers = {"Authorization": f"Bearer {consumer['admin_api_key']}"}
    base = consumer["management_url"]
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{base}/api/v1/transfers?agreement_id={agreement_id}") as r:
            [transfer] = (await r.json())["items"]
        async with http.get(f"{base}/api/v1/transfers/{transfer['id']}/edr") as r:
            edr = await r.json()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(edr["endpoint"]))
    async with aiohttp.ClientSession() as http, http.get(
            f"{origin}/dataplane/receipt",
            headers={"Authorization": f"Bearer {edr['token']}"}) as r:
        assert r.status == 200, await r.text()
        signed = await r.json()
    async with create_client_session(guarded=True, allow_loopback=True) as session:
        resolver = DidResolver(session=session, allow_loopback=True)
        claims: dict[str, Any] = await verify_signed_jwt(
            signed["receipt"], resolver, typ={"usage-receipt+jwt"}, issuer=provider_did)
    return claims


def test_the_story_completes(space: Up) -> None:
    services = space.services()
    assert {name: s["role"] for name, s in services.items()} == {
        "trust-anchor": "trust-anchor", "marketplace": "marketplace", "parking-api": "backend",
        "halden": "provider", "example-analytics": "consumer"}
    result = demo(space.data_dir)
    assert result.returncode == 0, result.stdout + result.stderr

    # What the demo did, asked of the services themselves.
    ta, halden, analytics = (services[n] for n in ("trust-anchor", "halden",
                                                   "example-analytics"))
    members = _get(f"{ta['base_url']}/participants")["items"]
    assert "Fjord Mobility AS" in {m["legal_name"] for m in members}

    theirs = _get(f"{analytics['management_url']}/api/v1/agreements?limit=100",
                  analytics["admin_api_key"])["items"]
    ours = _get(f"{halden['management_url']}/api/v1/agreements?limit=100",
                halden["admin_api_key"])["items"]
    agreements = {a["dataset_id"]: a for a in theirs}
    assert sorted(agreements) == ["halden-bike-counts", "halden-building-energy",
                                  "halden-parking"]
    assert sorted(a["dataset_id"] for a in theirs).count("halden-parking") == 2  # two plans
    assert {a["id"] for a in ours} == {a["id"] for a in theirs}  # both sides hold them
    assert {a["assignee"] for a in ours} == {analytics["did"]}
    bikes = agreements["halden-bike-counts"]["id"]

    # Halden's data plane served 100 calls under the bike agreement and refused the
    # 101st (the count) and the marketing call (the purpose): its audit log says so.
    deadline = time.monotonic() + 20
    while len(records := _audit(space.data_dir / "halden", bikes)) < 102:
        assert time.monotonic() < deadline, (
            f"{len(records)} audit records for {bikes}, not 102: "
            f"{[kind for kind, _ in records].count('deny')} denials")
        time.sleep(0.2)
    kinds = [kind for kind, _ in records]
    assert kinds == ["permit"] * 100 + ["deny"] * 2
    denied = [body for _, body in records[100:]]
    assert [d["purpose"] for d in denied] == [RESEARCH, MARKETING]
    assert all(d["code"] for d in denied)

    # Its signed receipt counts the 100 calls, and verifies against Halden's DID.
    claims = asyncio.run(_receipt(analytics, str(halden["did"]), bikes))
    assert claims["iss"] == halden["did"]
    assert claims["usage"]["requests"] == 100

    _the_purchase_happened(services, space.data_dir, result.stdout)


def _the_purchase_happened(services: dict[str, dict[str, Any]], data_dir: Path,
                           output: str) -> None:
    """The purchase story's outcomes, asked of the marketplace and the connectors."""
    market, halden, analytics = (services[n] for n in ("marketplace", "halden",
                                                       "example-analytics"))
    admin = market["admin_api_key"]
    for title in ("Halden's data products are on the marketplace",
                  "Without a purchase, Example Analytics is refused the parking data",
                  "The operator marks the invoice paid; the purchase credential arrives",
                  "Example Analytics cancels; access ends within one status refresh",
                  "Pay per use: Halden's connector reports the calls; they are billed"):
        assert f"▶ {title}" in output
    assert "credential-missing (no DataProductPurchaseCredential was presented)" in output

    # Two orders by Example Analytics, both over: the monthly plan paid by invoice and
    # then cancelled, the pay-per-use plan used and cancelled at the end.
    orders = _get(f"{market['base_url']}{TMF622}/productOrder?limit=100", admin)
    mine = [o for o in orders if {"id": analytics["did"], "role": "Buyer"} in [
        {"id": p["id"], "role": p["role"]} for p in o["relatedParty"]]]
    assert sorted(o["state"] for o in mine) == ["cancelled", "cancelled"]
    invoiced = [o for o in mine if o.get("payment")]
    assert len(invoiced) == 1
    assert invoiced[0]["payment"][0]["name"] == "invoice"

    # The purchase credentials came to Example Analytics' connector over DCP from the
    # marketplace, and name the parking product.
    held = _get(f"{analytics['management_url']}/api/v1/credentials?type={PURCHASE}",
                analytics["admin_api_key"])["items"]
    assert held, "no purchase credential is held"
    assert {(c["issuer"], c["source"]) for c in held} == {(market["did"], "dcp")}
    parking = [o for o in _get(f"{market['base_url']}{TMF620}/productOffering")
               if o["name"] == "Parkering i Halden"]
    assert {c["claims"]["product"] for c in held} == {
        parking[0]["productSpecification"]["id"]}

    # Halden's data plane served the monthly agreement, then refused it once revoked.
    theirs = _get(f"{analytics['management_url']}/api/v1/agreements?limit=100",
                  analytics["admin_api_key"])["items"]
    monthly = next(a for a in theirs if a["dataset_id"] == "halden-parking"
                   and "compensate" not in json.dumps(a))
    kinds = [kind for kind, _ in _audit(data_dir / "halden", monthly["id"])]
    assert kinds[0] == "permit"
    assert kinds[-1] == "deny"

    # The pay-per-use calls became a charge on a bill to Example Analytics.
    bills = [b for b in _get(f"{market['base_url']}{TMF678}/customerBill?limit=100", admin)
             if b["billingAccount"]["id"] == analytics["did"]]
    assert len(bills) == 1
    lines = _get(f"{market['base_url']}{TMF678}/appliedCustomerBillingRate"
                 f"?bill.id={bills[0]['id']}", admin)
    quantities = [{c["name"]: c["value"] for c in line["characteristic"]}["quantity"]
                  for line in lines]
    assert quantities == [3]
    assert bills[0]["taxExcludedAmount"] == {"unit": "NOK", "value": 1.5}
    assert bills[0]["amountDue"] == {"unit": "NOK", "value": 1.88}
    provider = lines[0]["relatedParty"][1]
    assert (provider["id"], provider["role"]) == (halden["did"], "provider")


def test_the_story_survives_a_connector_killed_midway(space: Up) -> None:
    consumer_dir = str(space.data_dir / "example-analytics")
    victims = [pid for pid in children_of(space.process.pid)
               if consumer_dir in Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")]
    assert len(victims) == 1
    running = subprocess.Popen([*DATASPACE, "demo", "--data-dir", str(space.data_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    # Kill the consumer once the demo has found the data space running and begun its
    # story (killed before that, the demo would rightly take the space for stopped).
    assert running.stdout is not None
    first = running.stdout.readline()
    assert first.startswith("▶"), first
    os.kill(victims[0], signal.SIGKILL)
    rest, _ = running.communicate(timeout=180)
    output = first + rest
    assert running.returncode == 0, output
    log = space.log.read_text()
    assert "example-analytics: exited with -9; restarting" in log
    assert "example-analytics: ready again" in log


def test_interrupt_stops_everything_and_a_second_up_reuses_the_state(space: Up) -> None:
    before = space.services()
    stopped_in = space.interrupt()
    assert stopped_in < 10
    again = Up(space.data_dir, int(str(before["trust-anchor"]["base_url"]).rsplit(":", 1)[1]))
    try:
        after = again.services()
        for name in ("trust-anchor", "halden", "example-analytics"):
            assert after[name]["did"] == before[name]["did"]
            assert after[name]["admin_api_key"] == before[name]["admin_api_key"]
        assert "onboarded" not in again.log.read_text()  # nothing was applied for again
        with urllib.request.urlopen(f"{after['trust-anchor']['base_url']}/participants") as r:
            members = json.loads(r.read())["items"]
        names = sorted(m["legal_name"] for m in members)
        assert names == sorted(set(names))  # no duplicate participants
        assert {"Halden kommune", "Example Analytics AS"} <= set(names)
    finally:
        again.interrupt()


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_the_story_on_postgres(tmp_path: Path) -> None:
    import asyncio

    from tests.conftest import drop_schema

    url = os.environ["TEST_DATABASE_URL"]
    schemas = ("trust_anchor", "marketplace", "halden", "example_analytics")

    async def clean() -> None:
        for schema in schemas:
            await drop_schema(url, schema)

    asyncio.run(clean())
    base = free_base_port()
    log = tmp_path / "up.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [*DATASPACE, "up", "--data-dir", str(tmp_path / "space"), "--base-port", str(base),
             "--postgres", url], stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while "The data space is up" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert not list((tmp_path / "space").rglob("*.sqlite3"))  # all state is in PostgreSQL
        result = demo(tmp_path / "space")
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        asyncio.run(clean())
