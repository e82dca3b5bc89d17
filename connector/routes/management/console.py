"""Management: the dashboard's figures and the data plane's audit log (read, verify, CSV)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from connector.routes.management.common import admin, services
from connector.services.audit import DECISIONS, AuditFilter
from connector.services.dashboard import MAX_DAYS
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation, query_strings
from servicekit.paging import PAGING, paging
from servicekit.web import stream_download

__all__ = ["routes"]

routes = web.RouteTableDef()

_DASHBOARD = {"type": "object", "properties": {
    "datasets": {"type": "object", "description": "count, retired, active"},
    "requests_waiting": {"type": "integer"},
    "agreements_live": {"type": "integer"},
    "transfers_active": {"type": "integer"},
    "calls_today": {"type": "integer", "description": "Data-plane uses since 00:00 UTC."},
    "data_plane": {"type": "boolean", "description": "Whether usage is metered here."},
    "usage": {"type": "object", "description": "days, from, to, dates, datasets: "
              "[{dataset_id, days: [{date, requests, bytes}]}] (one entry per date)."}}}
_AUDIT_PAGE = {"type": "object", "properties": {
    "items": {"type": "array", "items": {"type": "object"}},
    "next_before": {"type": ["integer", "null"], "description": "Pass as before for the "
                    "next (older) page."}}}
_VERIFY = {"type": "object", "properties": {
    "ok": {"type": "boolean"}, "count": {"type": "integer"},
    "checkpoints": {"type": "integer"}, "signatures_checked": {"type": "boolean"},
    "first_broken": {"type": ["integer", "null"]},
    "problems": {"type": "array", "items": {"type": "string"}}}}
_FILTERS = query_strings(
    "transfer_id", "agreement_id", "dataset_id", "decision", "since", "until",
    decision="permit, deny or unbilled",
    since="From this time (RFC 3339 or epoch seconds).",
    until="Before this time (RFC 3339 or epoch seconds).")


def _int(request: web.Request, name: str, default: int | None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer", code="filter-invalid") from None


def _time(request: web.Request, name: str) -> float | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name} must be RFC 3339 or epoch seconds",
                             code="filter-invalid") from None
    if parsed.tzinfo is None:
        raise InvalidRequest(f"{name} needs a time zone (e.g. Z)", code="filter-invalid")
    return parsed.timestamp()


def _audit_filter(request: web.Request) -> AuditFilter:
    decision = request.query.get("decision")
    if decision is not None and decision not in DECISIONS:
        raise InvalidRequest(f"decision is one of {', '.join(DECISIONS)}",
                             code="filter-invalid")
    return AuditFilter(
        transfer_id=request.query.get("transfer_id"),
        agreement_id=request.query.get("agreement_id"),
        dataset_id=request.query.get("dataset_id"),
        decision=decision, since=_time(request, "since"), until=_time(request, "until"))


@routes.get("/api/v1/dashboard")
@admin
@operation("The dashboard's figures and usage per dataset per day", tags=["dashboard"],
           responses={200: _DASHBOARD}, security="bearer",
           parameters=query_strings("days", days=f"Usage history in days (1..{MAX_DAYS}, "
                                                 "default 14)."))
async def dashboard(request: web.Request) -> web.Response:
    """Datasets, waiting requests, live agreements, active transfers, calls today, usage."""
    days = _int(request, "days", 14)
    if days is None or not 1 <= days <= MAX_DAYS:
        raise InvalidRequest(f"days must be 1..{MAX_DAYS}", code="filter-invalid")
    return web.json_response(await services(request).dashboard.figures(days=days))


@routes.get("/api/v1/audit")
@admin
@operation("The data plane's audit log, newest first", tags=["audit"],
           responses={200: _AUDIT_PAGE}, security="bearer",
           parameters=[*_FILTERS, *query_strings("before", before="Records with a lower "
                                                 "seq (the next_before of a page)."),
                       PAGING[0]])
async def audit_log(request: web.Request) -> web.Response:
    """Each record: seq, time, decision, ids, consumer, method, path, purpose, code, hash."""
    limit, _offset = paging(request)
    items, next_before = await services(request).audit.page(
        _audit_filter(request), before=_int(request, "before", None), limit=limit)
    return web.json_response({"items": items, "next_before": next_before})


@routes.get("/api/v1/audit/verify")
@admin
@operation("Verify the audit log's hash chain and signed checkpoints", tags=["audit"],
           responses={200: _VERIFY}, security="bearer")
async def verify_audit(request: web.Request) -> web.Response:
    """ok, how many records, and the first broken record (null when none)."""
    return web.json_response(await services(request).audit.verify())


@routes.get("/api/v1/audit.csv")
@admin
@operation("The audit log as CSV (the same filters)", tags=["audit"],
           responses={200: {"type": "string"}}, security="bearer", parameters=_FILTERS)
async def audit_csv(request: web.Request) -> web.StreamResponse:
    """One line per record, newest first, after a header line."""
    chunks = services(request).audit.csv_chunks(_audit_filter(request))
    return await stream_download(request, chunks, content_type="text/csv; charset=utf-8",
                                 filename="audit.csv")
