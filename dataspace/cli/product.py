"""``dataspace product register|list|launch|retire``: data products on the marketplace.

A product is registered as its provider (``--data-dir`` of the provider's
connector): the TMF620 ``productSpecification`` (the data product: title,
themes, formats, licence, access level, the datasets in the connector's DSP
catalog), one ``productOfferingPrice`` per ``--plan``, and the
``productOffering`` that sells it on those plans. The offering starts
``inStudy``; ``launch`` walks it ``inDesign`` → ``inTest`` → ``launched``, when
everyone (anonymous callers too) sees it; ``retire`` ends new orders.

Plans are written ``KIND[:PRICE][:OPTION=VALUE...]`` (:func:`parse_plan`).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import click

from dataspace.cli import cli
from dataspace.cli.common import fail, json_option, print_json, print_next, print_table
from dataspace.cli.marketplace_client import (
    TMF620,
    MarketplaceApi,
    MarketplaceOptions,
    marketplace_options,
)

__all__ = ["PLAN_KINDS", "PlanError", "parse_plan", "product"]

#: ``--plan`` kinds: the TMF620 ``priceType`` and the rest of the plan each stands for.
PLAN_KINDS: dict[str, dict[str, Any]] = {
    "free": {"name": "Free", "priceType": "oneTime"},
    "once": {"name": "One-time", "priceType": "oneTime"},
    "monthly": {"name": "Monthly", "priceType": "recurring",
                "recurringChargePeriodType": "month"},
    "yearly": {"name": "Yearly", "priceType": "recurring", "recurringChargePeriodType": "year"},
    "per-call": {"name": "Per call", "priceType": "usage",
                 "unitOfMeasure": {"amount": 1, "units": "call"}},
    "per-mb": {"name": "Per MB", "priceType": "usage",
               "unitOfMeasure": {"amount": 1, "units": "MB"}},
}
_PRICE = re.compile(r"^(\d{1,12}(?:\.\d{1,2})?)([A-Za-z]{3})$")
_OPTIONS = ("name", "quota", "limit", "per", "vat")
_LAUNCH = ("inStudy", "inDesign", "inTest", "launched")
_MERGE = "application/merge-patch+json"
_PLAN_HELP = ("A pricing plan, KIND[:PRICE][:OPTION=VALUE...]: KIND is free, once, monthly, "
              "yearly, per-call or per-mb; PRICE like 1500NOK or 0.50EUR (excl. VAT); "
              "options name=TEXT, quota=N (free units a month), limit=N (calls a month), "
              "per=N (the price is per N units), vat=RATE [25]. E.g. free, monthly:1500NOK, "
              "per-call:0.50NOK:quota=100. Repeat for several.")


class PlanError(ValueError):
    """A ``--plan`` that does not parse or that the marketplace would refuse."""


def _bad_plan(text: str, why: str) -> PlanError:
    return PlanError(f"--plan {text}: {why}")


def parse_plan(text: str) -> dict[str, Any]:
    """The TMF620 ``ProductOfferingPrice`` body a ``--plan`` stands for (checked)."""
    kind, *rest = text.strip().split(":")
    if kind not in PLAN_KINDS:
        raise _bad_plan(text, f"the kind is one of {', '.join(PLAN_KINDS)}")
    body: dict[str, Any] = json.loads(json.dumps(PLAN_KINDS[kind]))
    if kind == "free":
        body["price"] = {"unit": "NOK", "value": 0}
    elif not rest or not _PRICE.match(rest[0]):
        raise _bad_plan(text, f"a {kind} plan needs a price such as 1500NOK")
    else:
        amount, unit = _PRICE.match(rest.pop(0)).groups()  # type: ignore[union-attr]
        body["price"] = {"unit": unit.upper(), "value": float(amount)}
    for option in rest:
        name, _, value = option.partition("=")
        if name not in _OPTIONS or not value:
            raise _bad_plan(text, f"options are {', '.join(o + '=' for o in _OPTIONS)}")
        _apply_option(body, text, name, value)
    _check_plan(text, body)
    return body


def _apply_option(body: dict[str, Any], text: str, name: str, value: str) -> None:
    if name == "name":
        body["name"] = value
        return
    if name == "vat":
        body["tax"] = [{"taxCategory": "VAT", "taxRate": value}]
        return
    if not value.isdigit():
        raise _bad_plan(text, f"{name} is a whole number")
    number = int(value)
    if name == "quota":
        body["includedQuota"] = number
    elif name == "limit":
        body["usageLimit"] = {"count": number, "period": "P1M"}
    elif "unitOfMeasure" in body:
        body["unitOfMeasure"]["amount"] = number
    else:
        raise _bad_plan(text, "per= is for per-call and per-mb plans")


def _check_plan(text: str, body: dict[str, Any]) -> None:
    """The marketplace's own plan checks, before anything is sent."""
    from pydantic import ValidationError

    from marketplace.domain.pricing import PricingPlan
    from servicekit.errors import DataspaceError

    try:
        PricingPlan.model_validate(body)
    except DataspaceError as error:
        raise _bad_plan(text, error.detail) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _bad_plan(text, f"{where}: {first['msg']}") from None


@cli.group()
def product() -> None:
    """Data products: register, list, launch, retire."""


def _from_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = path.read_text()
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {path}: {exc}")
    if not isinstance(data, dict):
        fail(f"{path}: a product is a JSON object or a TOML table")
    return data


def _characteristic(name: str, values: list[Any]) -> dict[str, Any]:
    return {"name": name, "productSpecCharacteristicValue": [{"value": v} for v in values]}


def _specification(given: dict[str, Any]) -> dict[str, Any]:
    facts = [_characteristic("theme", given["themes"]) if given["themes"] else None,
             _characteristic("format", given["formats"]) if given["formats"] else None,
             _characteristic("licence", [given["licence"]]) if given.get("licence") else None,
             _characteristic("accessLevel", [given["access_level"]])]
    body = {"name": given["title"], "description": given.get("description") or None,
            "dspAddress": given["dsp_address"], "datasetIds": given["datasets"],
            "productSpecCharacteristic": [f for f in facts if f is not None]}
    return {k: v for k, v in body.items() if v is not None}


def _merged(file_data: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    """Flags over the file's values (``license`` is read as ``licence``)."""
    merged = {key.replace("-", "_"): value for key, value in file_data.items()}
    if "license" in merged:
        merged.setdefault("licence", merged.pop("license"))
    unknown = set(merged) - {*flags, "plans"}
    if unknown:
        fail(f"unknown product fields: {', '.join(sorted(unknown))}")
    for key, value in flags.items():
        if value not in (None, ()):
            merged[key] = list(value) if isinstance(value, tuple) else value
    for key in ("themes", "formats", "datasets"):
        merged[key] = list(merged.get(key) or [])
    merged.setdefault("access_level", "PUBLIC")
    return merged


@product.command("register")
@marketplace_options
@click.argument("product_file", required=False,
                type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--title", default=None, help="The product's title (its name).")
@click.option("--description", default=None)
@click.option("--theme", "themes", multiple=True, help="A theme IRI; repeat for several.")
@click.option("--format", "formats", multiple=True, help="A media type such as text/csv.")
@click.option("--licence", default=None, help="The licence IRI.")
@click.option("--access-level", type=click.Choice(["PUBLIC", "RESTRICTED"]), default=None,
              help="PUBLIC (green) or RESTRICTED (yellow: the provider approves each order) "
                   "[PUBLIC].")
@click.option("--dataset", "datasets", multiple=True,
              help="A dataset id in your connector's catalog; repeat for several.")
@click.option("--dsp-address", default=None,
              help="Your connector's DSP endpoint [from its service.json].")
@click.option("--plan", "plans", multiple=True, help=_PLAN_HELP)
@click.option("--private", is_flag=True, default=None,
              help="Seen only by you and the operator.")
@json_option
def register(product_file: Path | None, plans: tuple[str, ...], as_json: bool,
             marketplace: MarketplaceOptions, **flags: Any) -> None:
    """Register a data product and offer it on pricing plans (from flags or a JSON/TOML file).

    The offering starts in study; `dataspace product launch ID` puts it on sale.
    """
    given = _merged(_from_file(product_file), flags)
    try:
        plan_bodies = [parse_plan(p) for p in plans] or [
            p if isinstance(p, dict) else parse_plan(str(p)) for p in given.get("plans") or []]
    except PlanError as error:
        fail(str(error))
    if not given.get("title"):
        fail("give the product a --title")
    if not given["datasets"]:
        fail("name at least one --dataset of your connector's catalog")
    if not plan_bodies:
        fail("offer at least one --plan (e.g. --plan free or --plan monthly:1500NOK)")
    api = marketplace.open()
    me = api.require_member("registering a product")
    given.setdefault("dsp_address", me.connector.get("dsp_url"))
    if not given.get("dsp_address"):
        fail("no DSP address in the connector's service.json: give --dsp-address")
    offering = api.run(lambda mp: _register(mp, _specification(given), plan_bodies,
                                            bool(given.get("private"))))
    if as_json:
        print_json(offering)
        return
    _print_offerings([offering])
    print_next(f"`dataspace product launch {offering['id']} {api.follow}` puts it on sale")


async def _register(api: MarketplaceApi, spec: dict[str, Any], plans: list[dict[str, Any]],
                    private: bool) -> dict[str, Any]:
    """Specification, plans, offering; what was made is deleted again if a step is refused."""
    made: list[str] = []
    try:
        specification = await api.call("POST", f"{TMF620}/productSpecification", spec)
        made.append(f"productSpecification/{specification['id']}")
        refs = []
        for plan in plans:
            created = await api.call("POST", f"{TMF620}/productOfferingPrice", plan)
            made.append(f"productOfferingPrice/{created['id']}")
            refs.append({"id": created["id"]})
        offering: dict[str, Any] = await api.call("POST", f"{TMF620}/productOffering", {
            "name": spec["name"], **({"description": spec["description"]}
                                     if "description" in spec else {}),
            "productSpecification": {"id": specification["id"]},
            "productOfferingPrice": refs, "isPrivate": private})
    except SystemExit:
        for path in reversed(made):
            await api.call("DELETE", f"{TMF620}/{path}", check=False)
        raise
    return offering


def _print_offerings(offerings: list[dict[str, Any]]) -> None:
    print_table(("ID", "TITLE", "STATE", "VERSION", "PLANS"), [
        (o["id"], o.get("name"), o.get("lifecycleStatus"), o.get("version"),
         ", ".join(str(p.get("name") or p.get("id")) for p in o.get("productOfferingPrice")
                   or []) + (" (private)" if o.get("isPrivate") else ""))
        for o in offerings])


@product.command("list")
@marketplace_options
@click.option("--mine", is_flag=True, help="Only your own products (any state).")
@click.option("--state", type=click.Choice([*_LAUNCH, "retired", "obsolete"]), default=None,
              help="Only offerings in this lifecycle state.")
@click.option("--q", "words", default=None, help="Search titles, descriptions and themes.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@json_option
def list_command(mine: bool, state: str | None, words: str | None, limit: int, as_json: bool,
                 marketplace: MarketplaceOptions) -> None:
    """List the offerings you may see: anyone sees launched public ones."""
    api = marketplace.open()
    if mine:
        api.require_member("--mine")
    offerings = api.run(lambda mp: _find(mp, mine, state, words, limit))
    if as_json:
        print_json(offerings)
        return
    if not offerings:
        click.echo("No products" + (" of yours" if mine else "") + " found.")
        if api.caller.kind == "member":
            print_next(f"`dataspace product register --title TITLE --dataset ID --plan free "
                       f"{api.follow}`")
        return
    _print_offerings(offerings)
    buyer = api.follow if api.caller.kind == "member" else "--data-dir YOUR_CONNECTOR"
    print_next(f"`dataspace order create ID --plan PLAN {buyer}`")


async def _find(api: MarketplaceApi, mine: bool, state: str | None, words: str | None,
                limit: int) -> list[dict[str, Any]]:
    params = {"limit": str(limit), "sort": "-lastUpdate"}
    if state:
        params["lifecycleStatus"] = state
    ids: list[str] | None = None
    if words:
        found = await api.call("GET", "/search", params={"q": words, "limit": "500"})
        ids = [hit["id"] for hit in found["hits"]]
    if mine:
        specs = await api.call("GET", f"{TMF620}/productSpecification", params={
            "providerDid": api.caller.did, "fields": "id", "limit": "500"})
        params["productSpecification.id"] = ",".join(s["id"] for s in specs)
        if not specs:
            return []
    if ids is not None:
        if not ids:
            return []
        params["id"] = ",".join(ids[:50])
        params.pop("sort")
    offerings: list[dict[str, Any]] = await api.call("GET", f"{TMF620}/productOffering",
                                                     params=params)
    if ids is not None:  # in the search's order: best match first
        offerings.sort(key=lambda o: ids.index(o["id"]) if o["id"] in ids else len(ids))
    return offerings


def _lifecycle(name: str, target: str, summary: str, advice: str) -> None:
    @product.command(name, help=summary)
    @marketplace_options
    @click.argument("offering_id")
    @json_option
    def command(offering_id: str, as_json: bool, marketplace: MarketplaceOptions) -> None:
        api = marketplace.open(signed_for=f"{name} a product")
        offering = api.run(lambda mp: _move(mp, offering_id, target))
        if as_json:
            print_json(offering)
            return
        _print_offerings([offering])
        print_next(advice.format(id=offering_id, follow=api.follow))


async def _move(api: MarketplaceApi, offering_id: str, target: str) -> dict[str, Any]:
    """Walk the offering to ``target`` one lifecycle step at a time."""
    path = f"{TMF620}/productOffering/{offering_id}"
    offering: dict[str, Any] = await api.call("GET", path)
    state = offering.get("lifecycleStatus")
    if target == "launched":
        if state not in _LAUNCH:
            fail(f"offering-retired: offering {offering_id} is {state}; it is not launched "
                 "again (register a new one)", code=1)
        steps = list(_LAUNCH[_LAUNCH.index(state) + 1:])
    else:
        steps = [target] if state != target else []
    for step in steps:
        offering = await api.call("PATCH", path, {"lifecycleStatus": step}, content_type=_MERGE)
    return offering


_lifecycle("launch", "launched",
           "Launch an offering (in design, in test, launched): anyone may then find and order "
           "it.", "anyone may find it now (`dataspace product list --q WORDS`); buyers order "
           "it with `dataspace order create {id} --plan PLAN --data-dir THEIR_CONNECTOR`")
_lifecycle("retire", "retired",
           "Retire a launched offering: no new orders; what was bought runs on.",
           "existing orders keep their terms; `dataspace product list --mine {follow}` shows "
           "what you still sell")
