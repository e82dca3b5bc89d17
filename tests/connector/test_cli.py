"""``dataspace connector``: the management client commands against running connectors.

Each command runs as its own ``python -m dataspace`` process, as a user runs it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from connector.settings import FixedCaller
from servicekit.service_info import write_private_json
from tests.conftest import REPO_ROOT
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _pair(stores: StoreFactory, tmp: Path, member: FixedCaller,
                **provider_settings: Any) -> AsyncIterator[tuple[RunningConnector,
                                                                 RunningConnector]]:
    """A provider that takes ``member`` for the consumer, and the consumer; each has a
    service.json in its data dir."""
    provider = await start_connector(connector_settings(
        "provider", tmp, stores(), tokens={"consumer-token": member},
        outbound_token="provider-token", **provider_settings))
    consumer = await start_connector(connector_settings(
        "consumer", tmp, stores(),
        tokens={"provider-token": FixedCaller(id=provider.info["did"])},
        outbound_token="consumer-token"))
    for running in (provider, consumer):
        write_private_json(running.settings.data_dir / "service.json", running.info)
    yield provider, consumer
    await consumer.stop()
    await provider.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pair(
    module_stores: StoreFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningConnector, RunningConnector]]:
    """A provider and a consumer."""
    async for running in _pair(module_stores, tmp_path_factory.mktemp("cli"),
                               FixedCaller(id="did:web:consumer.example")):
        yield running


@dataclass
class Result:
    """How a ``dataspace`` process ended."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


async def _run(*args: str) -> Result:
    """Run ``dataspace <args>`` as its own process (as a user would)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dataspace", *args, cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def _add_dataset(provider: RunningConnector, dataset_id: str, title: str,
                       *options: str) -> Any:
    """``dataspace connector dataset add`` (which must succeed); its JSON answer."""
    return _json(await _run("connector", "dataset", "add", "--data-dir",
                            str(provider.settings.data_dir), "--id", dataset_id,
                            "--title", title, *options))


async def test_dataset_add_list_negotiate_and_transfer(
    pair: tuple[RunningConnector, RunningConnector], tmp_path: Path
) -> None:
    provider, consumer = pair
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"permission": [{"action": "use"}]}))
    added = await _add_dataset(provider, "urn:cli:1", "Bridges", "--keyword", "bridges",
                               "--backend", "https://example.org/bridges", "--policy",
                               str(policy))
    assert added["dataset"]["id"] == "urn:cli:1"
    assert added["offer"]["policy"] == {"permission": [{"action": "use"}]}
    listed = _json(await _run("connector", "dataset", "list", "--url",
                              provider.management_url, "--api-key",
                              provider.info["admin_api_key"], "--json"))
    assert [d["id"] for d in listed["items"]] == ["urn:cli:1"]
    table = await _run("connector", "dataset", "list", "--data-dir",
                       str(provider.settings.data_dir))
    assert table.exit_code == 0, table.output
    header, row = table.stdout.splitlines()
    assert header.split() == ["ID", "TITLE", "ACCESS", "BACKEND", "UPDATED"]
    assert row.split()[:4] == ["urn:cli:1", "Bridges", "PUBLIC", "http"]

    negotiated = _json(await _run(
        "connector", "negotiate", "--data-dir", str(consumer.settings.data_dir),
        "--provider", provider.dsp_url, "--dataset", "urn:cli:1"))
    assert negotiated["state"] == "FINALIZED"
    transferred = _json(await _run(
        "connector", "transfer", "--data-dir", str(consumer.settings.data_dir),
        "--agreement", negotiated["agreement_id"]))
    assert transferred["state"] == "STARTED"
    assert transferred["edr"]["endpoint"] == provider.base_url + "/data"
    assert transferred["edr"]["token"]


async def test_cli_errors_are_one_line_and_exit_2(
    pair: tuple[RunningConnector, RunningConnector], tmp_path: Path
) -> None:
    provider, _consumer = pair
    missing = await _run("connector", "dataset", "list", "--data-dir", str(tmp_path))
    assert missing.exit_code == 2
    assert "no connector service.json" in missing.stderr
    refused = await _run("connector", "dataset", "list", "--url", provider.management_url,
                         "--api-key", "dsk_wrong")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: api-key-required")
    bad = await _run("connector", "dataset", "add", "--data-dir",
                     str(provider.settings.data_dir), "--title", "x", "--backend", "",)
    assert bad.exit_code == 2
    assert "validation-failed" in bad.stderr
    usage = await _run("connector", "pull", "--data-dir", str(provider.settings.data_dir))
    assert usage.exit_code == 2


async def test_a_terminated_negotiation_exits_1(
    pair: tuple[RunningConnector, RunningConnector]
) -> None:
    provider, consumer = pair
    await _add_dataset(provider, "urn:cli:yellow", "Restricted", "--access-level",
                       "RESTRICTED", "--backend", "https://example.org/r")
    negotiate = asyncio.create_task(_run(
        "connector", "negotiate", "--data-dir", str(consumer.settings.data_dir),
        "--provider", provider.dsp_url, "--dataset", "urn:cli:yellow", "--timeout", "20"))
    async with aiohttp.ClientSession() as http:
        theirs: dict[str, Any] | None = None
        for _ in range(500):
            found = await provider.api(http, "GET", "/api/v1/negotiations?awaiting=owner")
            if found["items"]:
                theirs = found["items"][0]
                break
            await asyncio.sleep(0.02)
        assert theirs is not None
        await provider.api(http, "POST", f"/api/v1/negotiations/{theirs['id']}/terminate",
                           json={"reason": "no"}, expect=200)
    result = await negotiate
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["state"] == "TERMINATED"


# --- what the owner decides and the consumer follows ------------------------------------

MEMBER = FixedCaller(
    id="did:web:consumer.example", credential_types=["MembershipCredential"],
    claims={"MembershipCredential": {"legalName": "Example Analytics AS",
                                     "organisationNumber": "912 345 678"}})
RESEARCH = "https://w3id.org/dpv#ScientificScientificResearch"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def keyed(
    module_stores: StoreFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningConnector, RunningConnector]]:
    """A provider with a did:key (its receipts verify offline) and a member consumer."""
    async for running in _pair(module_stores, tmp_path_factory.mktemp("cli-keyed"), MEMBER,
                               did=None, did_method="key"):
        yield running


def _dir(running: RunningConnector) -> tuple[str, str]:
    return "--data-dir", str(running.settings.data_dir)


def _research_policy(path: Path, limit: int | None = None) -> Path:
    constraints: list[dict[str, Any]] = [
        {"leftOperand": "purpose", "operator": "eq", "rightOperand": RESEARCH}]
    if limit is not None:
        constraints.append({"leftOperand": "count", "operator": "lt",
                            "rightOperand": {"@value": str(limit), "@type": "xsd:integer"}})
    path.write_text(json.dumps({"permission": [{"action": "use", "constraint": constraints}]}))
    return path


async def test_the_owner_sees_who_asks_and_approves(
    keyed: tuple[RunningConnector, RunningConnector], tmp_path: Path
) -> None:
    provider, consumer = keyed
    await _add_dataset(provider, "urn:cli:energy", "Energy", "--access-level", "RESTRICTED",
                       "--backend", "https://example.org/energy",
                       "--policy", str(_research_policy(tmp_path / "p.json")))

    # A yellow dataset: the consumer is told it awaits the owner, and how to follow it.
    waited = await _run("connector", "negotiate", *_dir(consumer), "--provider",
                        provider.dsp_url, "--dataset", "urn:cli:energy", "--timeout", "1")
    assert waited.exit_code == 1, waited.output
    mine = json.loads(waited.stdout)["id"]
    assert "awaits its owner's approval" in waited.stderr
    assert (f"dataspace connector negotiations {mine} --wait --data-dir "
            f"{consumer.settings.data_dir}") in waited.stderr

    listed = await _run("connector", "requests", *_dir(provider))
    assert listed.exit_code == 0, listed.output
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["ID", "DATASET", "REQUESTER", "ORG", "NO", "PURPOSE", "SINCE"]
    for shown in ("Example Analytics AS", "912 345 678", RESEARCH):
        assert shown in row
    assert "dataspace connector approve ID" in listed.stdout
    as_json = await _run("connector", "requests", *_dir(provider), "--json")
    [request] = json.loads(as_json.stdout)
    assert request["counterparty"] == {
        "id": "did:web:consumer.example", "legal_name": "Example Analytics AS",
        "organisation_number": "912 345 678", "credential_types": ["MembershipCredential"],
        "purposes": [RESEARCH]}

    approved = await _run("connector", "approve", request["id"], *_dir(provider))
    assert approved.exit_code == 0, approved.output
    assert "approved: agreement urn:" in approved.stdout
    assert approved.stdout.rstrip().endswith("sent to Example Analytics AS")
    followed = await _run("connector", "negotiations", mine, "--wait", "--timeout", "20",
                          *_dir(consumer))
    assert followed.exit_code == 0, followed.output
    assert "FINALIZED" in followed.stdout
    assert "Next: `dataspace connector pull --agreement urn:" in followed.stdout
    held = await _run("connector", "agreements", *_dir(consumer), "--role", "consumer")
    assert held.stdout.split()[:5] == ["ID", "ROLE", "DATASET", "COUNTERPARTY", "SINCE"]
    assert "urn:cli:energy" in held.stdout


async def test_a_rejection_needs_a_reason_and_the_requester_is_told(
    keyed: tuple[RunningConnector, RunningConnector], tmp_path: Path
) -> None:
    provider, consumer = keyed
    await _add_dataset(provider, "urn:cli:no", "No", "--access-level", "RESTRICTED",
                       "--backend", "https://example.org/no")
    started = _json(await _run("connector", "negotiate", *_dir(consumer), "--no-wait",
                               "--provider", provider.dsp_url, "--dataset", "urn:cli:no"))
    async with aiohttp.ClientSession() as http:
        theirs = None
        for _ in range(500):
            found = await provider.api(http, "GET", "/api/v1/negotiations?awaiting=owner")
            theirs = next((n for n in found["items"] if n["dataset_id"] == "urn:cli:no"), None)
            if theirs:
                break
            await asyncio.sleep(0.02)
        assert theirs is not None
        # The API refuses a rejection without a reason, and nothing changes.
        async with http.post(f"{provider.management_url}/api/v1/negotiations/"
                             f"{theirs['id']}/reject", json={"reason": " "},
                             headers=provider.admin_headers) as resp:
            assert resp.status == 400
            assert (await resp.json())["code"] == "validation-failed"
        still = await provider.api(http, "GET", f"/api/v1/negotiations/{theirs['id']}")
        assert (still["state"], still["awaiting"]) == ("REQUESTED", "owner")
    missing = await _run("connector", "reject", theirs["id"], *_dir(provider))
    assert missing.exit_code == 2
    assert "Missing option '--reason'" in missing.stderr
    rejected = await _run("connector", "reject", theirs["id"], *_dir(provider),
                          "--reason", "only for municipalities")
    assert rejected.exit_code == 0, rejected.output
    told = await _run("connector", "negotiations", started["id"], "--wait", "--timeout", "20",
                      *_dir(consumer))
    assert told.exit_code == 1
    assert "TERMINATED" in told.stdout
    assert "only for municipalities" in told.stderr


async def test_catalog_pull_refusal_transfers_and_receipt(
    keyed: tuple[RunningConnector, RunningConnector], tmp_path: Path
) -> None:
    provider, consumer = keyed
    data = tmp_path / "counts.csv"
    data.write_text("station,count\nsentrum,42\n")
    await _add_dataset(provider, "urn:cli:bikes", "Bike counts", "--backend", str(data),
                       "--backend-type", "file",
                       "--policy", str(_research_policy(tmp_path / "p.json", 10)))

    catalog = await _run("connector", "catalog", provider.dsp_url, *_dir(consumer))
    assert catalog.exit_code == 0, catalog.output
    lines = catalog.stdout.splitlines()
    assert lines[2].split() == ["DATASET", "TITLE", "OFFERS"]
    assert any(line.startswith("urn:cli:bikes") and "Bike counts" in line for line in lines)
    assert (f"Next: `dataspace connector negotiate --provider {provider.dsp_url} "
            "--dataset DATASET") in catalog.stdout
    as_json = json.loads((await _run("connector", "catalog", provider.dsp_url,
                                     *_dir(consumer), "--json")).stdout)
    assert as_json["participantId"] == provider.info["did"]

    # Without a purpose the policy says no: the problem's title, detail and reasons are shown.
    negotiated = _json(await _run("connector", "negotiate", *_dir(consumer), "--provider",
                                  provider.dsp_url, "--dataset", "urn:cli:bikes"))
    transfer = _json(await _run("connector", "transfer", *_dir(consumer), "--agreement",
                                negotiated["agreement_id"]))
    refused = await _run("connector", "pull", *_dir(consumer), "--transfer", transfer["id"])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: the data plane refused (HTTP 403): policy-denied:")
    assert "purpose" in refused.stderr
    assert refused.stderr.count("\n") == 1

    listed = await _run("connector", "transfers", *_dir(consumer), "--state", "STARTED")
    header = listed.stdout.splitlines()[0].split()
    assert header == ["ID", "ROLE", "STATE", "AGREEMENT", "THEIR", "ID", "COUNTERPARTY",
                      "UPDATED"]
    assert transfer["id"] in listed.stdout
    assert transfer["provider_pid"] in listed.stdout
    assert "dataspace connector receipt ID" in listed.stdout
    assert "token" not in (await _run("connector", "transfers", *_dir(consumer),
                                      "--json")).stdout

    shown = await _run("connector", "receipt", transfer["id"], *_dir(consumer))
    assert shown.exit_code == 0, shown.output
    rows = {line[:20].strip(): line[20:].strip() for line in shown.stdout.splitlines()[1:]}
    assert rows["signature"] == "verified"
    assert rows["our transfer"] == transfer["id"]
    assert rows["provider's transfer"] == transfer["provider_pid"]
    assert rows["requests served"] == "0"
    assert rows["refused"] == "1"  # the pull without a purpose
    receipt = json.loads((await _run("connector", "receipt", transfer["id"], *_dir(consumer),
                                     "--json")).stdout)
    assert receipt["verified"]["iss"] == provider.info["did"]
    # The signed receipt names both process ids, and counts the refusal.
    assert receipt["verified"]["consumerPid"] == transfer["id"]
    assert receipt["verified"]["providerPid"] == transfer["provider_pid"]
    assert receipt["verified"]["usage"] == {"requests": 0, "bytes": 0, "failures": 0,
                                            "refusals": 1}


async def test_audit_verify_reads_the_database_the_connector_uses(
    keyed: tuple[RunningConnector, RunningConnector], tmp_path: Path
) -> None:
    """On PostgreSQL too: the URL and schema come from the service's own service.json."""
    provider, _consumer = keyed
    folder = provider.settings.data_dir
    before = sorted(folder.rglob("*.sqlite3*"))
    checked = await _run("connector", "audit", "verify", "--data-dir", str(folder))
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith("audit log intact: ")
    assert sorted(folder.rglob("*.sqlite3*")) == before  # nothing created
    # No database there: an error, and still no empty SQLite file left behind.
    empty = tmp_path / "nothing"
    empty.mkdir()
    missing = await _run("connector", "audit", "verify", "--data-dir", str(empty),
                         "--public-key", str(_public_key(provider, tmp_path)))
    assert missing.exit_code == 2
    assert "no connector database at" in missing.stderr
    assert list(empty.iterdir()) == []


def _public_key(running: RunningConnector, tmp_path: Path) -> Path:
    from identity.keystore import KeyStore

    path = tmp_path / "connector.jwk"
    path.write_text(json.dumps(KeyStore(running.settings.data_dir / "keys")
                               .public_jwk("connector")))
    return path


async def test_empty_lists_say_so_and_the_next_step(
    pair: tuple[RunningConnector, RunningConnector]
) -> None:
    _provider, consumer = pair
    datasets = await _run("connector", "dataset", "list", *_dir(consumer))
    assert datasets.exit_code == 0, datasets.output
    assert datasets.stdout.startswith("No datasets yet.\n")
    assert "Next: `dataspace connector dataset add --title TITLE --backend URL --data-dir " \
        f"{consumer.settings.data_dir}`" in datasets.stdout
    assert _json(await _run("connector", "dataset", "list", *_dir(consumer), "--json")) == {
        "items": []}
    credentials = await _run("connector", "credentials", "list", *_dir(consumer), "--type",
                             "NoSuchCredential")
    assert credentials.exit_code == 0, credentials.output
    assert credentials.stdout.startswith("No credentials of type NoSuchCredential.\n")
    assert "Next: `dataspace connector membership apply --help`" in credentials.stdout


async def test_dataset_list_pages_by_id(
    pair: tuple[RunningConnector, RunningConnector]
) -> None:
    provider, _consumer = pair
    for name in ("urn:cli:page-a", "urn:cli:page-b"):
        await _add_dataset(provider, name, "Paged", "--backend", "https://example.org/p")
    first = await _run("connector", "dataset", "list", *_dir(provider), "--after",
                       "urn:cli:page", "--limit", "1")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[1].split()[0] == "urn:cli:page-a"
    assert first.stdout.endswith(
        "Next: `dataspace connector dataset list --after urn:cli:page-a --data-dir "
        f"{provider.settings.data_dir}`\n")
    last = await _run("connector", "dataset", "list", *_dir(provider), "--after",
                      "urn:cli:page-a", "--limit", "1")
    assert last.stdout.splitlines()[1].split()[0] == "urn:cli:page-b"


async def test_credentials_list_is_a_table_and_json(
    pair: tuple[RunningConnector, RunningConnector]
) -> None:
    from connector.store.holder import CredentialRecord, insert_credential
    from servicekit.app import DB_ENGINE

    _provider, consumer = pair
    record = CredentialRecord(
        id="cred-1", credential_id="urn:uuid:vc-1",
        types=["VerifiableCredential", "MembershipCredential"], issuer="did:web:ta.example",
        subject=consumer.info["did"], format="vc+jwt", raw="eyJ.secret.jwt",
        claims={"legalName": "Example Analytics AS"}, valid_until=1893456000.0,
        source="oid4vci", created_at=1767225600.0)
    async with consumer.app[DB_ENGINE].begin() as conn:
        await insert_credential(conn, record)
    table = await _run("connector", "credentials", "list", *_dir(consumer))
    assert table.exit_code == 0, table.output
    header, row = table.stdout.splitlines()
    assert header.split() == ["ID", "TYPE", "ISSUER", "SOURCE", "VALID", "UNTIL"]
    assert row.split() == ["cred-1", "MembershipCredential", "did:web:ta.example", "oid4vci",
                           "2030-01-01", "00:00"]
    assert "eyJ.secret.jwt" not in table.stdout
    [listed] = _json(await _run("connector", "credentials", "list", *_dir(consumer),
                                "--type", "MembershipCredential", "--json"))["items"]
    assert listed["claims"] == {"legalName": "Example Analytics AS"}
    assert "raw" not in listed
