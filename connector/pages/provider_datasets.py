"""The provider's dataset pages: the list, publishing one, editing and retiring it.

A dataset's policy comes from the form of :mod:`connector.pages.provider_policy`;
saving calls the catalog and dataset services the management API calls
(``POST /api/v1/datasets``, ``POST /api/v1/policies`` then
``PATCH /api/v1/datasets/{id}`` with ``policy_id``, ``POST .../retire``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web
from pydantic import ValidationError

from connector.domain.catalog import AccessLevel, DatasetIn, PolicyIn
from connector.pages.provider_common import (
    LEVELS,
    MANAGERS,
    explained,
    plane,
    pretty,
    routes,
    services,
)
from connector.pages.provider_policy import (
    LICENCES,
    PERIODS,
    PURPOSES,
    PolicyDraft,
    draft_policy,
    form_of_policy,
)
from connector.routes.management.datasets import DatasetPatch
from servicekit.console.keys import CONSOLE
from servicekit.console.web import form, page, redirect, render
from servicekit.errors import DataspaceError

__all__ = ["dataset_path"]

_BACKENDS = (("http", "HTTP API (a URL)"), ("file", "File on this server (absolute path)"),
             ("postgresql", "PostgreSQL (a connection URL)"))
_TEXT = ("id", "title", "description", "keywords", "owner", "backend_type", "backend_address")


def dataset_path(dataset_id: str) -> str:
    """The page of a dataset (its id quoted for the path)."""
    return "/datasets/" + quote(dataset_id, safe=":@")


async def _owners(request: web.Request) -> list[tuple[str, str]]:
    """The people who may own a dataset: data owners and administrators (active ones)."""
    accounts = await request.config_dict[CONSOLE].store.accounts()
    return [(a.email, f"{a.name} ({a.email})") for a in accounts
            if a.status != "disabled" and {"data_owner", "admin"} & set(a.roles)]


def _keywords(text: str) -> list[str]:
    return [k.strip() for k in text.split(",") if k.strip()]


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "form"
        out.append(f"{where.replace('_', ' ')}: {error['msg']}")
    return out


async def _form_page(request: web.Request, *, fields: dict[str, str], draft: PolicyDraft | None,
                     errors: list[str], dataset: Any = None, offers: Any = None,
                     status: int = 200) -> web.StreamResponse:
    return await render(request, "provider/dataset_form.html", {
        "dataset": dataset, "offers": offers or [], "form": fields, "draft": draft,
        "odrl": pretty(draft.document) if draft is not None and draft.document else "",
        "errors": errors, "owners": await _owners(request), "backends": _BACKENDS,
        "licences": LICENCES, "periods": PERIODS, "purposes": PURPOSES, "levels": LEVELS,
        "chosen_purposes": [p for p in fields.get("purposes", "").split(",") if p],
    }, status=status)


async def _check_owner(request: web.Request, owner: str, errors: list[str]) -> None:
    if owner and owner not in {email for email, _ in await _owners(request)}:
        errors.append("owner: choose a data owner from the list (a person with the "
                      "data owner role).")


@routes.get("/datasets")
@page("GET", "/datasets", "The datasets, with their traffic light, owner and status")
async def datasets(request: web.Request) -> web.StreamResponse:
    """Every dataset by id (retired ones too)."""
    items = await services(request).catalog.list_datasets(after=None, limit=500)
    return await render(request, "provider/datasets.html", {
        "datasets": items, "levels": LEVELS, "path_of": dataset_path})


@routes.get("/datasets/new")
@page("GET", "/datasets/new", "The form to publish a dataset", roles=MANAGERS)
async def new_dataset(request: web.Request) -> web.StreamResponse:
    """Empty, yellow by default (members, after the owner's approval)."""
    fields = {name: "" for name in _TEXT} | form_of_policy("RESTRICTED", None) | {
        "approval": "1", "backend_type": "http"}
    return await _form_page(request, fields=fields, draft=None, errors=[])


@routes.post("/datasets/new")
@page("POST", "/datasets/new", "Preview or publish a dataset", roles=MANAGERS)
async def publish_dataset(request: web.Request) -> web.StreamResponse:
    """``step=preview`` shows the policy; ``step=save`` publishes (400 when anything is wrong,
    with nothing stored)."""
    fields = dict(await form(request))
    draft = draft_policy(fields, assigner=plane(request).did)
    errors = [f"Policy: {e}" for e in draft.errors]
    await _check_owner(request, fields.get("owner", ""), errors)
    data: DatasetIn | None = None
    try:
        data = DatasetIn(
            id=fields.get("id", "").strip() or None, title=fields.get("title", ""),
            description=fields.get("description", ""),
            keywords=_keywords(fields.get("keywords", "")),
            access_level=AccessLevel(draft.level),
            license=fields.get("licence") if draft.level != "NON_PUBLIC" else None,
            backend={"type": fields.get("backend_type", "http"),
                     "address": fields.get("backend_address", "")},
            owner=fields.get("owner", "").strip() or None, policy=draft.body)
    except ValidationError as exc:
        errors.extend(_problems(exc))
    if errors or fields.get("step") != "save" or data is None:
        return await _form_page(request, fields=fields, draft=draft, errors=errors,
                                status=400 if errors else 200)
    try:
        dataset, offer = await services(request).catalog.add_dataset(data)
    except DataspaceError as error:
        return await _form_page(request, fields=fields, draft=draft,
                                errors=[error.detail or error.title], status=400)
    told = ("It is in the catalog; requests wait for the owner's approval on Requests."
            if draft.level == "RESTRICTED" else "It is in the catalog."
            if offer is not None else "It is not offered (red): only this connector knows it.")
    return redirect(request, dataset_path(dataset.id),
                    notice=f"Published “{dataset.title}”. {told}")


async def _dataset_and_offers(request: web.Request) -> tuple[Any, list[Any]]:
    dataset_id = request.match_info["dataset_id"]
    dataset = await services(request).catalog.get_dataset(dataset_id)
    offers = await services(request).catalog.list_offers(dataset_id=dataset_id, limit=50,
                                                         offset=0)
    return dataset, offers


def _with_words(request: web.Request, offers: list[Any]) -> list[dict[str, Any]]:
    did = plane(request).did
    return [{"offer": o, "words": explained(o.policy, assigner=did), "odrl": pretty(o.policy)}
            for o in offers]


@routes.get("/datasets/{dataset_id}")
@page("GET", "/datasets/{dataset_id}", "A dataset: its policy in plain words, edit, retire")
async def dataset_page(request: web.Request) -> web.StreamResponse:
    """Everyone reads it; managers get the form to change it."""
    dataset, offers = await _dataset_and_offers(request)
    fields = {"title": dataset.title, "description": dataset.description,
              "keywords": ", ".join(dataset.keywords), "owner": dataset.owner or "",
              "backend_type": dataset.backend.type, "backend_address": "", "id": dataset.id}
    fields |= form_of_policy(dataset.access_level.value, offers[0].policy if offers else None)
    if dataset.license:
        fields["licence"] = dataset.license
    return await _form_page(request, fields=fields, draft=None, errors=[], dataset=dataset,
                            offers=_with_words(request, offers))


@routes.post("/datasets/{dataset_id}")
@page("POST", "/datasets/{dataset_id}", "Preview or save a dataset's changes", roles=MANAGERS)
async def edit_dataset(request: web.Request) -> web.StreamResponse:
    """Only what changed is saved; a changed policy becomes the offers' new policy."""
    dataset, offers = await _dataset_and_offers(request)
    fields = dict(await form(request)) | {"id": dataset.id}
    draft = draft_policy(fields, assigner=plane(request).did)
    errors = [f"Policy: {e}" for e in draft.errors]
    await _check_owner(request, fields.get("owner", ""), errors)
    changes: dict[str, Any] = {
        "title": fields.get("title", ""), "description": fields.get("description", ""),
        "keywords": _keywords(fields.get("keywords", "")),
        "owner": fields.get("owner", "").strip() or None, "access_level": draft.level}
    if draft.level != "NON_PUBLIC":
        changes["license"] = fields.get("licence")
    if fields.get("backend_address", "").strip():
        changes["backend"] = {"type": fields.get("backend_type", "http"),
                              "address": fields["backend_address"].strip()}
    try:
        patch = DatasetPatch.model_validate(changes)
    except ValidationError as exc:
        errors.extend(_problems(exc))
    if errors or fields.get("step") != "save":
        return await _form_page(request, fields=fields, draft=draft, errors=errors,
                                dataset=dataset, offers=_with_words(request, offers),
                                status=400 if errors else 200)
    svc = services(request)
    try:
        update = patch.changes()
        current = offers[0].policy if offers else None
        if draft.body is not None and draft.body != current:
            policy = await svc.catalog.add_policy(PolicyIn(
                title=f"Offer policy of {patch.title or dataset.title}", policy=draft.body))
            update["policy_id"] = policy.id
        await svc.datasets.edit(dataset.id, update)
    except DataspaceError as error:
        return await _form_page(request, fields=fields, draft=draft,
                                errors=[error.detail or error.title], dataset=dataset,
                                offers=_with_words(request, offers), status=400)
    return redirect(request, dataset_path(dataset.id),
                    notice=f"Saved “{changes['title']}”. New requests get the policy shown "
                    "below; agreements already made keep theirs.")


@routes.post("/datasets/{dataset_id}/retire")
@page("POST", "/datasets/{dataset_id}/retire", "Retire a dataset", roles=MANAGERS)
async def retire_dataset(request: web.Request) -> web.StreamResponse:
    """No longer offered; its agreements go on until they are terminated."""
    dataset = await services(request).datasets.retire(request.match_info["dataset_id"])
    return redirect(request, dataset_path(dataset.id),
                    notice=f"Retired “{dataset.title}”: it is no longer offered. Its agreements "
                    "keep working until you terminate them on Agreements.")
