"""Example Analytics AS finds Halden's air-quality data, agrees to its terms and pulls it.

Through its own connector's management API (the consumer side):
1. read Halden's catalog over the Dataspace Protocol,
2. negotiate a contract for the air-quality dataset (agreed automatically: the
   company is a member and the data is green, free and open; Halden's parking
   data is sold on the marketplace instead, as `dataspace demo` shows),
3. start an HTTP-pull transfer and get the endpoint data reference,
4. pull the data from Halden's data plane with the access token.

Run: python examples/company.py [--data-dir .dataspace]
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from pathlib import Path
from typing import Any


def call(service: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        service["management_url"] + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {service['admin_api_key']}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def wait(service: dict[str, Any], path: str, states: set[str]) -> dict[str, Any]:
    for _ in range(200):
        current: dict[str, Any] = call(service, "GET", path)
        if current["state"] in states:
            return current
        time.sleep(0.1)
    raise SystemExit(f"{path} is still {current['state']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(".dataspace"))
    args = parser.parse_args()
    services = {s["name"]: s for s in
                json.loads((args.data_dir / "dataspace.json").read_text())["services"]}
    me, halden = services["example-analytics"], services["halden"]

    catalog = call(me, "POST", "/api/v1/catalog/request",
                   {"counterparty_address": halden["dsp_url"]})["catalog"]
    for dataset in catalog.get("dataset", []):
        print(f"  {dataset['@id']:<28} {dataset.get('title', '')}")

    negotiation = call(me, "POST", "/api/v1/negotiations", {
        "counterparty_address": halden["dsp_url"], "dataset_id": "halden-air-quality"})
    agreed = wait(me, f"/api/v1/negotiations/{negotiation['id']}", {"FINALIZED", "TERMINATED"})
    if agreed["state"] != "FINALIZED":
        raise SystemExit(f"no agreement: {agreed.get('error_reason')}")
    print(f"Agreement {agreed['agreement_id']}")

    transfer = call(me, "POST", "/api/v1/transfers", {"agreement_id": agreed["agreement_id"]})
    wait(me, f"/api/v1/transfers/{transfer['id']}", {"STARTED"})
    edr = call(me, "GET", f"/api/v1/transfers/{transfer['id']}/edr")

    request = urllib.request.Request(edr["endpoint"],
                                     headers={"Authorization": f"Bearer {edr['token']}"})
    with urllib.request.urlopen(request) as response:
        attribution = response.headers.get("Attribution")
        observations = json.loads(response.read())
    latest = {o["areaServed"]: o for o in sorted(observations, key=lambda o: o["dateObserved"])}
    for station, seen in sorted(latest.items()):
        print(f"  {station:<16} {seen['dateObserved']}  PM10 {seen['pm10']:>5}  "
              f"NO2 {seen['no2']:>5}")
    if attribution:
        print(f"Attribution required: {attribution}")


if __name__ == "__main__":
    main()
