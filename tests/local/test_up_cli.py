"""The command line against a running `dataspace up`, as the README tells a newcomer.

One data space for the module. The README's shell blocks are read from
README.md and run as written (only the ports, the placeholders the reader
fills in, and the passphrase are substituted), from a folder whose
``.dataspace`` is the running data space.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from identity.jose import decode_jws
from tests.conftest import REPO_ROOT
from tests.local.conftest import DATASPACE, Up, children_of, free_base_port

pytestmark = pytest.mark.slow


@pytest.fixture
def shell(space: Up, tmp_path: Path) -> Path:
    """A working directory whose ``.dataspace`` is the running data space."""
    (tmp_path / ".dataspace").symlink_to(space.data_dir)
    return tmp_path


def dataspace(*args: str, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DATASPACE, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={**os.environ, **(env or {})})


def readme_block(after: str) -> list[list[str]]:
    """The commands of the first ``sh`` block in README.md after the line ``after``."""
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index(after)
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block is not None, f"no sh block after {after!r} in README.md"
    joined = block.group(1).replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines()
            if shlex.split(line, comments=True)]


def base_port(space: Up) -> int:
    return int(str(space.services()["trust-anchor"]["base_url"]).rsplit(":", 1)[1])


def with_ports(args: list[str], space: Up) -> list[str]:
    """The README's default ports (8600...) moved to the test's base port."""
    shift = base_port(space) - 8600
    return [re.sub(r"127\.0\.0\.1:(86\d\d)", lambda m: f"127.0.0.1:{int(m[1]) + shift}", a)
            for a in args]


def test_dataspace_json_lists_every_process(space: Up) -> None:
    services = space.services()
    assert {name: s["role"] for name, s in services.items()} == {
        "trust-anchor": "trust-anchor", "marketplace": "marketplace", "parking-api": "backend",
        "halden": "provider", "example-analytics": "consumer"}
    with urllib.request.urlopen(f"{services['parking-api']['base_url']}/parking") as answer:
        assert json.loads(answer.read())[0]["type"] == "OffStreetParking"


def _get(url: str, api_key: object = None) -> Any:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return json.loads(response.read())


TMF620 = "/tmf-api/productCatalogManagement/v4"
PURCHASE = "DataProductPurchaseCredential"


def test_the_marketplace_is_a_member_accredited_to_sell(space: Up) -> None:
    services = space.services()
    market, ta = services["marketplace"], services["trust-anchor"]
    assert market["base_url"] == f"http://127.0.0.1:{base_port(space) + 10}"
    log = space.log.read_text()
    assert f"The marketplace: {market['base_url']}" in log
    assert f"{market['base_url']}{TMF620}/productOffering" in log
    assert "`dataspace demo`" in log
    membership = _get(f"{market['base_url']}/membership", market["admin_api_key"])
    assert membership["status"] == "active"
    assert membership["credential"]["issuer"] == ta["did"]
    did = quote(str(market["did"]), safe="")
    assert _get(f"{ta['base_url']}/participants/{did}")["roles"] == ["marketplace"]
    # The trusted-issuers registry accredits it for purchase credentials.
    [attribute] = _get(f"{ta['base_url']}/v4/issuers/{did}")["attributes"]
    claims = decode_jws(base64.b64decode(attribute["body"]).decode()).claims()
    subject = claims.get("vc", claims)["credentialSubject"]
    assert PURCHASE in subject["accreditedFor"][0]["types"]
    # Each connector reports usage to it.
    for name in ("halden", "example-analytics"):
        [pid] = [p for p in children_of(space.process.pid)
                 if f"--name {name} " in Path(f"/proc/{p}/cmdline").read_text().replace(
                     "\0", " ")]
        assert f"--marketplace {market['base_url']} " in Path(
            f"/proc/{pid}/cmdline").read_text().replace("\0", " ")


def test_haldens_products_are_on_the_marketplace_with_their_plans(space: Up) -> None:
    services = space.services()
    market, halden = services["marketplace"], services["halden"]
    offerings = _get(f"{market['base_url']}{TMF620}/productOffering")  # anyone may look
    plans: dict[str, dict[str, dict[str, Any]]] = {}
    specs: dict[str, dict[str, Any]] = {}
    for offering in offerings:
        assert offering["lifecycleStatus"] == "launched"
        plans[offering["name"]] = {
            ref["name"]: _get(f"{market['base_url']}{TMF620}/productOfferingPrice/{ref['id']}")
            for ref in offering["productOfferingPrice"]}
        specs[offering["name"]] = _get(f"{market['base_url']}{TMF620}/productSpecification/"
                                       f"{offering['productSpecification']['id']}")
    assert {name: sorted(p) for name, p in plans.items()} == {
        "Luftkvalitet i Halden": ["Gratis"],
        "Parkering i Halden": ["Betal per bruk", "Månedsabonnement"],
        "Energibruk i kommunale bygg": ["Forskningstilgang"]}
    assert {name: (s["providerDid"], s["dspAddress"], s["datasetIds"])
            for name, s in specs.items()} == {
        "Luftkvalitet i Halden": (halden["did"], halden["dsp_url"], ["halden-air-quality"]),
        "Parkering i Halden": (halden["did"], halden["dsp_url"], ["halden-parking"]),
        "Energibruk i kommunale bygg": (halden["did"], halden["dsp_url"],
                                        ["halden-building-energy"])}
    assert all(s["description"] for s in specs.values())  # Norwegian descriptions
    parking = plans["Parkering i Halden"]
    monthly, per_use = parking["Månedsabonnement"], parking["Betal per bruk"]
    assert (monthly["priceType"], monthly["recurringChargePeriodType"],
            monthly["price"]) == ("recurring", "month", {"unit": "NOK", "value": 490})
    assert (per_use["priceType"], per_use["price"], per_use["unitOfMeasure"]) == (
        "usage", {"unit": "NOK", "value": 0.5}, {"amount": 1, "units": "call"})
    assert plans["Luftkvalitet i Halden"]["Gratis"]["price"]["value"] == 0

    # Halden's connector offers the parking data only under the plans' policies, each
    # asking for a purchase credential naming the product and that plan (a pay-per-use
    # buyer cannot take the monthly offer); the held offer is gone.
    product = specs["Parkering i Halden"]["id"]
    offers = _get(f"{halden['management_url']}/api/v1/offers?dataset_id=halden-parking",
                  halden["admin_api_key"])["items"]
    by_id = {o["id"]: o["policy"]["permission"][0] for o in offers}
    assert sorted(by_id) == ["urn:offer:halden-parking:monthly",
                             "urn:offer:halden-parking:per-use"]
    for permission in by_id.values():
        assert {"leftOperand": f"dst:claim/{PURCHASE}/product", "operator": "eq",
                "rightOperand": product} in permission["constraint"]
    for key, plan in (("monthly", monthly), ("per-use", per_use)):
        plan_claims = [c["rightOperand"] for c in by_id[f"urn:offer:halden-parking:{key}"][
            "constraint"] if c.get("leftOperand") == f"dst:claim/{PURCHASE}/plan"]
        assert plan_claims == [plan["id"]], key
    assert "duty" not in by_id["urn:offer:halden-parking:monthly"]
    duties = json.dumps(by_id["urn:offer:halden-parking:per-use"]["duty"])
    assert "odrl:compensate" in duties
    assert "dst:meter" in duties


def test_operator_commands_find_the_trust_anchor_in_the_up_folder(space: Up) -> None:
    result = dataspace("operator", "list", "--data-dir", str(space.data_dir))
    assert result.returncode == 0, result.stderr
    assert result.stderr == (f"using trust-anchor (trust-anchor) in "
                             f"{space.data_dir / 'trust-anchor'}\n")
    assert "Halden kommune" in result.stdout
    assert "Example Analytics AS" in result.stdout


def test_connector_commands_choose_a_connector_in_the_up_folder(space: Up) -> None:
    ambiguous = dataspace("connector", "dataset", "list", "--data-dir", str(space.data_dir))
    assert ambiguous.returncode == 2
    assert ambiguous.stderr.count("\n") == 1
    assert "halden, example-analytics" in ambiguous.stderr
    assert "--connector NAME" in ambiguous.stderr
    chosen = dataspace("connector", "dataset", "list", "--data-dir", str(space.data_dir),
                       "--connector", "halden", "--json")
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stderr == f"using halden (provider) in {space.data_dir / 'halden'}\n"
    assert "halden-air-quality" in {d["id"] for d in json.loads(chosen.stdout)["items"]}
    unknown = dataspace("connector", "dataset", "list", "--data-dir", str(space.data_dir),
                        "--connector", "trust-anchor")
    assert unknown.returncode == 2
    assert "trust-anchor in" in unknown.stderr
    assert "not a connector" in unknown.stderr


def test_the_readme_commands_for_the_up_folder(space: Up, shell: Path) -> None:
    commands = readme_block("Every command that takes `--data-dir` accepts the `up` folder")
    assert [args[:3] for args in commands] == [
        ["dataspace", "operator", "list"], ["dataspace", "connector", "dataset"],
        ["dataspace", "connector", "pull"]]
    outputs = []
    for args in commands:
        result = dataspace(*with_ports(args, space)[1:], cwd=shell)
        assert result.returncode == 0, f"{shlex.join(args)}: {result.stderr}"
        assert result.stderr.startswith("using "), result.stderr
        outputs.append(result.stdout)
    assert "Halden kommune" in outputs[0]
    assert "halden-air-quality" in outputs[1]
    assert json.loads(outputs[2])[0]["type"] == "AirQualityObserved"


def test_the_readme_onboarding_from_a_shell(space: Up, shell: Path) -> None:
    commands = readme_block("Onboarding from a shell:")
    env = {"DATASPACE_KEY_PASSPHRASE": "readme test passphrase"}
    filled: dict[str, str] = {}  # the placeholders the reader fills in
    did = ""
    ran = []
    for args in commands:
        if args[0] == "export":
            name, _, _value = args[1].partition("=")
            assert name in env, f"the README exports {name}: give the test a value"
            continue
        args = [filled.get(a, a) for a in with_ports(args, space)]
        assert not [a for a in args if a.startswith("<")], f"unfilled placeholder: {args}"
        result = dataspace(*args[1:], cwd=shell, env=env)
        assert result.returncode == 0, f"{shlex.join(args)}: {result.stderr}"
        ran.append(args[1:3])
        if args[1:3] == ["participant", "init"]:
            did = result.stdout.strip()
        elif args[1:3] == ["operator", "list"]:
            mine = [line for line in result.stdout.splitlines() if did in line]
            assert len(mine) == 1, result.stdout
            filled["<id>"] = re.findall(r"\bp-[0-9a-f]+\b", mine[0])[0]
        elif args[1:3] == ["operator", "approve"]:
            filled["<code>"] = json.loads(result.stdout)["tx_code"]
    assert ran == [["participant", "init"], ["participant", "apply"], ["operator", "list"],
                   ["operator", "approve"], ["participant", "collect"]]
    members = dataspace("operator", "list", "--data-dir", ".dataspace", "--state", "active",
                        cwd=shell)
    assert did in members.stdout
    assert (shell / "company" / "credentials" / "MembershipCredential.jwt").is_file()


def test_serve_given_the_up_folder_runs_in_its_service_folder(space: Up) -> None:
    # up holds the port, so the service stops right after saying where it would run.
    result = dataspace("trust-anchor", "serve", "--dev", "--data-dir", str(space.data_dir),
                       "--port", str(base_port(space)))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"using trust-anchor in {space.data_dir / 'trust-anchor'}",
        f"error: port {base_port(space)} is in use; use another --port"]


def test_a_second_up_is_refused_before_it_starts_anything(space: Up, tmp_path: Path) -> None:
    children = children_of(space.process.pid)
    same_dir = dataspace("up", "--data-dir", str(space.data_dir))
    assert same_dir.returncode == 1
    assert same_dir.stderr == (
        f"error: another `dataspace up` (pid {space.process.pid}) runs the data space in "
        f"{space.data_dir}; stop it or use another --data-dir\n")
    same_ports = dataspace("up", "--data-dir", str(tmp_path / "other"),
                           "--base-port", str(base_port(space)))
    assert same_ports.returncode == 1
    assert same_ports.stderr == (f"error: port {base_port(space)} is in use (another "
                                 "`dataspace up`?); use --base-port\n")
    assert "The data space is up" not in same_ports.stdout
    assert not list((tmp_path / "other").glob("*/service.json"))
    assert children_of(space.process.pid) == children  # the first one carried on untouched
    assert "restarting" not in space.log.read_text()


def test_demo_without_up_stops_what_it_started_and_says_so(tmp_path: Path) -> None:
    data_dir = tmp_path / "space"
    base = free_base_port()
    result = subprocess.run([*DATASPACE, "demo", "--data-dir", str(data_dir), "--base-port",
                             str(base)], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "COLUMNS": "400"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is stopped again" in result.stdout
    assert "Look around:" not in result.stdout
    assert f"`dataspace up --data-dir {data_dir}`, then the operator page at" in result.stdout
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(f"http://127.0.0.1:{base}/readyz", timeout=2)
    # The refusals are given in full, not cut to a width.
    refused = next(line for line in result.stdout.splitlines() if "marketing: 403" in line)
    assert refused.rstrip().endswith("not satisfied by https://w3id.org/dpv#Marketing)")



def test_participant_commands_keep_the_participant_in_its_folder(space: Up) -> None:
    env = {"DATASPACE_KEY_PASSPHRASE": "participant folder test"}
    result = dataspace("participant", "init", "--data-dir", str(space.data_dir), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"using the participant in {space.data_dir / 'participant'}\n"
    state = json.loads((space.data_dir / "participant" / "participant.json").read_text())
    assert state["did"] == result.stdout.strip()
    assert not (space.data_dir / "participant.json").exists()
