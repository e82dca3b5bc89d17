"""Halden kommune publishes city data and answers a request for restricted data.

1. Publish a green (PUBLIC) dataset: offered to every member under NLOD 2.0
   with an attribution duty, agreed automatically.
2. Publish a yellow (RESTRICTED) dataset: every request waits for approval.
3. See the waiting requests, approve the ones from members, and see the
   agreements (who uses what).
4. Check that the data plane's audit log is intact.

Everything goes through the connector's management API (port 8621 by default,
admin key from its service.json) and the `dataspace` command line.

Run: python examples/municipality.py [--data-dir .dataspace]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


class Connector:
    """Halden's connector, through its management API."""

    def __init__(self, service: dict[str, Any]) -> None:
        self.url = service["management_url"]
        self.key = service["admin_api_key"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            self.url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            problem = json.loads(error.read() or b"{}")
            if error.code == 409:  # published by an earlier run
                return problem
            sys.exit(f"{method} {path}: {error.code} {problem.get('code')}: "
                     f"{problem.get('detail')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(".dataspace"))
    parser.add_argument("--wait", type=float, default=0.0,
                        help="Seconds to wait for requests to answer (0: answer what is there).")
    args = parser.parse_args()
    services = {s["name"]: s for s in
                json.loads((args.data_dir / "dataspace.json").read_text())["services"]}
    halden = Connector(services["halden"])
    seed = sorted((args.data_dir / "seed").glob("air-quality.json"))[0]

    halden.call("POST", "/api/v1/datasets", {
        "id": "halden-air-quality-daily",
        "title": "Luftkvalitet i Halden, døgnverdier",
        "description": "Daily air quality in Halden.",
        "license": "http://publications.europa.eu/resource/authority/licence/NLOD_2_0",
        "access_level": "PUBLIC",
        "backend": {"type": "file", "address": str(seed)},
    })
    halden.call("POST", "/api/v1/datasets", {
        "id": "halden-school-energy",
        "title": "Energibruk i skolebygg",
        "description": "Restricted: each request is approved by the municipality.",
        "access_level": "RESTRICTED",
        "backend": {"type": "file", "address": str(seed)},
    })
    datasets = halden.call("GET", "/api/v1/datasets")["items"]
    print("Published:", ", ".join(f"{d['id']} ({d['access_level']})" for d in datasets))

    deadline = time.monotonic() + args.wait
    answered = 0
    while True:
        waiting = halden.call("GET", "/api/v1/negotiations?awaiting=owner")["items"]
        for negotiation in waiting:
            caller = negotiation.get("caller") or {}
            member = "MembershipCredential" in caller.get("credentialTypes", [])
            action = "approve" if member else "terminate"
            body = {} if member else {"reason": "only members of the data space"}
            halden.call("POST", f"/api/v1/negotiations/{negotiation['id']}/{action}", body)
            print(f"{action}d the request of {negotiation['counterparty_id']} for "
                  f"{negotiation['dataset_id']}")
            answered += 1
        if answered or time.monotonic() >= deadline:
            break
        time.sleep(0.2)

    agreements = halden.call("GET", "/api/v1/agreements")["items"]
    print(f"{len(agreements)} agreements:")
    for agreement in agreements[:10]:
        print(f"  {agreement['dataset_id']:<28} {agreement['assignee']}")

    audit = subprocess.run(
        [sys.executable, "-m", "dataspace", "connector", "audit", "verify",
         "--data-dir", str(args.data_dir / "halden")], capture_output=True, text=True)
    print("Audit log:", audit.stdout.strip().splitlines()[-1] if audit.stdout.strip()
          else audit.stderr.strip())
    sys.exit(audit.returncode)


if __name__ == "__main__":
    main()
