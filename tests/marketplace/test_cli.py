"""``dataspace product|order|bill`` against a real trust anchor, marketplace and connectors.

Each command runs as its own ``python -m dataspace`` process, as a user runs
it, signing as the connector whose folder ``--data-dir`` names (its key, its
development passphrase): the marketplace verifies the DCP self-issued token
and reads the MembershipCredential from that connector's Credential Service.
The folder of the test is laid out as ``dataspace up`` lays out its own
(``dataspace.json``, one folder per service), so the commands find the
marketplace, its admin key and the connectors there. Bad input is checked
in-process (it never reaches the network).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from click.testing import CliRunner

from connector.app import IDENTITY
from connector.dataplane.metering import tmf635_usage
from dataspace.cli import cli
from servicekit.app import SERVICE_INFO
from servicekit.service_info import write_private_json
from tests.conftest import REPO_ROOT, Database
from tests.marketplace.conftest import TMF620, TMF635
from tests.marketplace.members import Member, MemberSpace, member_space
from tests.marketplace.test_catalog import DATASET, halden_with_a_dataset

TRAN = "http://publications.europa.eu/resource/authority/data-theme/TRAN"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Result:
    """How a ``dataspace`` process ended."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


async def run(*args: str) -> Result:
    """``dataspace <args>`` as its own process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dataspace", *args, cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


async def ok(*args: str) -> Result:
    """A command that must succeed."""
    result = await run(*args)
    assert result.exit_code == 0, (args, result)
    return result


async def refused(exit_code: int, code: str, *args: str) -> Result:
    """A command that must end with ``exit_code`` and one error line naming ``code``
    (besides the line that says which service of the ``up`` folder it chose)."""
    result = await run(*args)
    assert result.exit_code == exit_code, (args, result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert code in errors[0], result.stderr
    return result


def as_up_folder(space: MemberSpace, folder: Path) -> None:
    """``service.json`` in each service's folder and ``dataspace.json``, as ``up`` writes them."""
    marketplace: dict[str, Any] = space.marketplace.server.app[SERVICE_INFO]
    infos = [dict(marketplace)]
    write_private_json(folder / "marketplace" / "service.json", infos[0])
    for member in space.members.values():
        assert member.connector is not None
        write_private_json(member.connector.settings.data_dir / "service.json",
                           member.connector.info)
        infos.append(member.connector.info)
    write_private_json(folder / "dataspace.json", {"services": infos})


def row(table: str, key: str) -> list[str]:
    """The cells of the table row that holds ``key``."""
    line = next(line for line in table.splitlines() if key in line)
    return re.split(r"\s{2,}", line.strip())


async def specifications(space: MemberSpace) -> int:
    mp = space.marketplace
    status, _, headers = await mp.call("GET", f"{TMF620}/productSpecification",
                                       headers=mp.admin)
    assert status == 200
    return int(headers["X-Total-Count"])


async def holds_credential(buyer: Member, order_id: str, timeout: float = 15.0) -> None:
    """Wait until the buyer's connector holds the purchase credential of ``order_id``."""
    assert buyer.connector is not None
    deadline = time.monotonic() + timeout
    while True:
        page = await buyer.connector.api(
            buyer.marketplace.http, "GET",
            "/api/v1/credentials?type=DataProductPurchaseCredential", expect=200)
        if any(c["claims"].get("order") == order_id for c in page["items"]):
            return
        assert time.monotonic() < deadline, page
        await asyncio.sleep(0.2)


async def bill_usage(space: MemberSpace, seller: Member, buyer: Member, spec_id: str) -> None:
    """The seller's connector reports 300 calls of the buyer's; the operator runs billing."""
    assert seller.connector is not None
    signer = seller.connector.app[IDENTITY].signer
    usage = SimpleNamespace(agreement_id="urn:agreement:cli", transfer_id="urn:transfer:cli",
                            bucket_start=time.time(), consumer_id=buyer.did, requests=300,
                            bytes=30_000)
    document = tmf635_usage(usage, provider=signer.did, bucket_seconds=0.5,
                            dataset_id=DATASET, product_id=spec_id)
    mp = space.marketplace
    status, body, _ = await mp.call("POST", f"{TMF635}/usage", document, headers={
        "X-Usage-Signature": signer.sign_jwt(document, typ="usage+jwt")})
    assert status == 201, body
    await asyncio.sleep(0.6)
    status, body, _ = await mp.call("POST", "/billing/runs", {}, headers=mp.admin)
    assert status == 201, body
    assert body["bills"], body


async def test_sell_buy_pay_and_bill_from_the_command_line(tmp_path: Path) -> None:
    # The commands are clients: SQLite is enough here (the stores have their own tests).
    store = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'marketplace.sqlite3'}")
    async with member_space(tmp_path, store) as space:
        halden = await halden_with_a_dataset(space)
        buyer = await space.connector("analyse", roles=["consumer"])
        as_up_folder(space, tmp_path)
        seller = ("--data-dir", str(tmp_path / "halden"))
        analyse = ("--data-dir", str(tmp_path), "--connector", "analyse")
        operator = ("--data-dir", str(tmp_path), "--operator")
        anyone = ("--marketplace", space.marketplace.url)

        # The provider registers a product on three plans; the DSP address is its connector's.
        offering = (await ok("product", "register", *seller, "--title", "Traffic counts",
                             "--dataset", DATASET, "--format", "text/csv", "--theme", TRAN,
                             "--plan", "free", "--plan", "monthly:1500NOK",
                             "--plan", "per-call:0.50NOK:quota=100", "--json")).json()
        oid = offering["id"]
        assert offering["lifecycleStatus"] == "inStudy"
        assert [p["name"] for p in offering["productOfferingPrice"]] == [
            "Free", "Monthly", "Per call"]
        spec_id = offering["productSpecification"]["id"]
        _, spec, _ = await halden.call("GET", f"{TMF620}/productSpecification/{spec_id}")
        assert halden.connector is not None
        assert (spec["dspAddress"], spec["providerDid"], spec["datasetIds"]) == (
            halden.connector.dsp_url, halden.did, [DATASET])
        assert (await ok("product", "list", *anyone, "--json")).json() == []

        # Launched (through the `up` folder), everyone finds it.
        launched = await ok("product", "launch", oid, "--data-dir", str(tmp_path),
                            "--connector", "halden")
        assert row(launched.stdout, oid)[2] == "launched"
        assert "Next: anyone may find it now" in launched.stdout
        listed = await ok("product", "list", *anyone)
        assert listed.stdout.split()[:5] == ["ID", "TITLE", "STATE", "VERSION", "PLANS"]
        assert row(listed.stdout, oid)[1:] == ["Traffic counts", "launched", "1.0",
                                              "Free, Monthly, Per call"]
        assert "Next: `dataspace order create ID --plan PLAN" in listed.stdout
        found = await ok("product", "list", *anyone, "--q", "traffic", "--json")
        assert [o["id"] for o in found.json()] == [oid]
        mine = await ok("product", "list", *seller, "--mine", "--json")
        assert [o["id"] for o in mine.json()] == [oid]

        # The buyer orders per call (nothing to pay up front) and monthly (an invoice).
        per_call = await ok("order", "create", oid, "--plan", "per-call", *analyse)
        per_call_id = _UUID.findall(per_call.stdout)[0]
        assert row(per_call.stdout, per_call_id)[1:4] == ["completed", "Traffic counts",
                                                         "Per call"]
        monthly = (await ok("order", "create", oid, "--plan", "monthly", *analyse,
                            "--json")).json()
        assert monthly["state"] == "inProgress"
        assert monthly["paymentInstructions"]["amount_minor"] == 187_500
        waiting = await ok("order", "status", monthly["id"], *analyse)
        assert row(waiting.stdout, monthly["id"])[1] == "inProgress"
        assert f"Pay 1875.00 NOK by invoice: KID {monthly['paymentInstructions']['kid']}" in (
            waiting.stdout)
        assert f"dataspace order pay {monthly['id']} --operator" in waiting.stdout
        listed = await ok("order", "list", *analyse)
        assert {row(listed.stdout, i)[1] for i in (per_call_id, monthly["id"])} == {
            "completed", "inProgress"}
        held = (await ok("order", "list", *analyse, "--state", "inProgress", "--json")).json()
        assert [o["id"] for o in held] == [monthly["id"]]
        sold = (await ok("order", "list", *seller, "--sales", "--json")).json()
        assert {o["id"] for o in sold} == {per_call_id, monthly["id"]}

        # The purchase credential reaches the buyer's connector.
        await holds_credential(buyer, per_call_id)
        delivered = (await ok("order", "status", per_call_id, *analyse, "--json")).json()
        assert (delivered["state"], delivered["credentialDelivered"]) == ("completed", True)

        # Refusals: exit 1 with the marketplace's code; bad input it finds: exit 2.
        before = await specifications(space)
        await refused(1, "not-yours", "product", "retire", oid, *analyse)
        await refused(2, "dataset-unknown", "product", "register", *seller, "--title", "X",
                      "--dataset", "urn:dataset:halden:nope", "--plan", "free")
        assert await specifications(space) == before

        # Use is billed: the buyer's bill, as a table, JSON and CSV; the operator sees all.
        await bill_usage(space, halden, buyer, spec_id)
        mine = await ok("bill", "list", *analyse)
        bill_id = _UUID.findall(mine.stdout)[0]
        cells = row(mine.stdout, bill_id)
        assert (cells[2], cells[4], cells[5]) == ("new", buyer.did, "125.00 NOK")
        every = (await ok("bill", "list", *operator, "--json")).json()
        assert [(b["id"], b["billingAccount"]["id"]) for b in every] == [(bill_id, buyer.did)]
        target = tmp_path / "bill.csv"
        await ok("bill", "list", *analyse, "--csv", bill_id, "--output", str(target))
        assert every[0]["billNo"] in target.read_text()

        # The operator records the invoice paid; the buyer cancels; the provider retires.
        paid = await ok("order", "pay", monthly["id"], *operator)
        assert row(paid.stdout, monthly["id"])[1] == "completed"
        cancelled = await ok("order", "cancel", per_call_id, *analyse, "--json")
        assert cancelled.json()["state"] == "cancelled"
        retired = await ok("product", "retire", oid, *seller)
        assert row(retired.stdout, oid)[2] == "retired"
        assert (await ok("product", "list", *anyone, "--json")).json() == []


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stderr


def test_bad_input_ends_with_exit_2_and_one_line(tmp_path: Path) -> None:
    empty = str(tmp_path)
    good, odd, broken = (tmp_path / "good.toml", tmp_path / "odd.json", tmp_path / "x.toml")
    good.write_text('title = "T"\ndatasets = ["d"]\nplans = ["free", "monthly:10NOK"]\n')
    odd.write_text('{"title": "T", "colour": "red"}')
    broken.write_text("title = ")
    cases = [
        # A file read as far as the caller: it is complete, but nobody signs.
        (("product", "register", str(good)), "member's"),
        (("product", "register", str(odd)), "unknown product fields: colour"),
        (("product", "register", str(broken)), "cannot read"),
        (("product", "register", str(good), "--plan", "per-mb"), "needs a price"),
        (("product", "register", "--dataset", "d", "--plan", "free", "--data-dir", empty),
         "--title"),
        (("product", "register", "--title", "T", "--plan", "free", "--data-dir", empty),
         "--dataset"),
        (("product", "register", "--title", "T", "--dataset", "d", "--plan", "weekly:1NOK"),
         "the kind is one of"),
        (("product", "register", "--title", "T", "--dataset", "d", "--plan", "monthly"),
         "needs a price"),
        (("product", "register", "--title", "T", "--dataset", "d",
          "--plan", "per-call:0.50XYZ"), "currency"),
        (("product", "register", "--title", "T", "--dataset", "d",
          "--plan", "once:10NOK:quota=5"), "quota"),
        (("product", "register", "--title", "T", "--dataset", "d", "--plan", "free"),
         "member's"),
        (("product", "list", "--mine"), "member's"),
        (("product", "launch", "some-id"), "member's"),
        (("order", "create", "some-id", "--plan", "free"), "member's"),
        (("order", "create", "some-id", "--plan", "free", "--operator", "--api-key", "k"),
         "--buyer"),
        (("order", "pay", "some-id", "--data-dir", empty), "service-not-found"),
        (("order", "pay", "some-id"), "operator's"),
        (("order", "status", "some-id", "--operator"), "admin key"),
        (("order", "list"), "member's"),
        (("bill", "list", "--output", "x.csv", "--operator", "--api-key", "k"), "--csv"),
        (("bill", "list", "--marketplace", "ftp://x", "--operator", "--api-key", "k"),
         "http(s)"),
    ]
    for args, words in cases:
        code, stderr = invoke(*args)
        assert code == 2, (args, stderr)
        assert stderr.startswith("error: "), (args, stderr)
        assert stderr.count("\n") == 1, (args, stderr)
        assert words in stderr, (args, stderr)
