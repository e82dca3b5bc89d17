"""The data-space operator onboards a new member, all from the command line.

1. The company makes a key and a DID (`dataspace participant init`) and
   applies, proving control of its DID (`dataspace participant apply`).
2. The operator lists the waiting applications and approves this one
   (`dataspace operator list/approve`), which prints the transaction code the
   company needs; the operator hands it over (here: reads it from the output).
3. The company collects its MembershipCredential over OpenID for VC Issuance
   (`dataspace participant collect`).
4. Anyone can now see the member and the trusted issuers at the trust anchor.

Run: python examples/operator.py [--data-dir .dataspace]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path


def dataspace(*args: str) -> str:
    """Run the dataspace CLI and return what it printed."""
    result = subprocess.run([sys.executable, "-m", "dataspace", *args], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"dataspace {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(".dataspace"))
    args = parser.parse_args()
    services = json.loads((args.data_dir / "dataspace.json").read_text())["services"]
    trust_anchor = next(s for s in services if s["role"] == "trust-anchor")
    ta_dir = str(args.data_dir / "trust-anchor")
    company = tempfile.mkdtemp(prefix="trondheim-bikes-")
    os.environ.setdefault("DATASPACE_KEY_PASSPHRASE", "example only: use a real secret")

    did = dataspace("participant", "init", "--data-dir", company).strip()
    print(f"The company's DID: {did}")
    application = json.loads(dataspace(
        "participant", "apply", "--data-dir", company,
        "--trust-anchor", trust_anchor["base_url"],
        "--legal-name", "Trondheim Bysykkel AS", "--org-number", "931 222 333",
        "--contact-name", "Ingrid", "--contact-email", "ingrid@bysykkel.example",
        "--role", "consumer"))
    print(f"Applied: application {application['id']} is {application['state']}")

    print("Waiting for review:")
    print(dataspace("operator", "list", "--data-dir", ta_dir, "--state", "submitted"))
    approved = json.loads(dataspace("operator", "approve", application["id"], "--data-dir",
                                    ta_dir, "--reason", "organisation number checked"))
    print(f"Approved; the transaction code for the company is {approved['tx_code']}")

    credential = dataspace("participant", "collect", "--data-dir", company,
                           "--tx-code", approved["tx_code"]).strip()
    print(f"The company holds its MembershipCredential ({len(credential)} characters, vc+jwt)")

    with urllib.request.urlopen(f"{trust_anchor['base_url']}/participants") as response:
        members = json.loads(response.read())["items"]
    print("Members:", ", ".join(f"{m['legal_name']} ({m['status']})" for m in members))
    with urllib.request.urlopen(f"{trust_anchor['base_url']}/v4/issuers") as response:
        issuers = json.loads(response.read())
    print(f"Trusted issuers: {issuers['total']}")


if __name__ == "__main__":
    main()
