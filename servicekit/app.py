"""The application factory every service starts from.

:func:`create_service_app` gives an :class:`aiohttp.web.Application` with the
shared middlewares (request id and summary log line, metrics, problem+json
errors, body size limit), ``/healthz``, ``/readyz``, Prometheus ``/metrics``
and ``/openapi.json``. A service then adds its routes and its cleanup
contexts; :func:`database_context` and :func:`http_client_context` are the two
every service needs.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit import jobs
from servicekit.db import create_engine, migrate
from servicekit.http import HttpClientConfig, create_client_session
from servicekit.openapi import build_openapi, operation
from servicekit.settings import ServiceSettings
from servicekit.web import (
    body_limit_middleware,
    error_middleware,
    json_response,
    request_context_middleware,
)

__all__ = [
    "DB_ENGINE",
    "GUARDED_HTTP_CLIENT",
    "HTTP_CLIENT",
    "METRICS_REGISTRY",
    "READINESS_CHECKS",
    "SERVICE_INFO",
    "SETTINGS",
    "ReadinessCheck",
    "create_service_app",
    "database_context",
    "http_client_context",
]

ReadinessCheck = Callable[[web.Application], Awaitable[bool]]

SETTINGS = web.AppKey("settings", ServiceSettings)
DB_ENGINE = web.AppKey("db_engine", AsyncEngine)
HTTP_CLIENT = web.AppKey("http_client", aiohttp.ClientSession)
#: For URLs that come from other parties: refuses non-public addresses.
GUARDED_HTTP_CLIENT = web.AppKey("guarded_http_client", aiohttp.ClientSession)
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
READINESS_CHECKS = web.AppKey("readiness_checks", list[tuple[str, ReadinessCheck]])
#: What the service says about itself in ``service.json`` (filled during start-up:
#: ``name``, ``role``, ``base_url``, ``did``, ``admin_api_key`` and extras).
SERVICE_INFO = web.AppKey("service_info", dict[str, Any])
_OPENAPI_INFO = web.AppKey("openapi_info", dict[str, Any])
_OPENAPI_CACHE = web.AppKey("openapi_cache", dict[str, Any])


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    version: str,
    description: str = "",
    access_log: bool = True,
    middlewares: Sequence[Any] = (),
    per_request: bool = True,
    role: str | None = None,
) -> web.Application:
    """Build the base application of a service.

    ``title``/``version``/``description`` describe the API in OpenAPI.
    ``middlewares`` run inside the shared ones (after the request id is bound
    and errors are mapped). ``per_request=False`` leaves only the problem+json
    middleware in front (no request id, log line, HTTP metrics or early body
    check), for a data path that counts its requests itself. ``role`` is what
    ``service.json`` says the service is (default: the settings' role).
    """
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    shared = [
        request_context_middleware(service=settings.name, access_log=access_log,
                                   observe=_http_metrics(registry)),
        error_middleware,
        body_limit_middleware,
    ] if per_request else [error_middleware]
    app = web.Application(client_max_size=settings.max_body_bytes,
                          middlewares=[*shared, *middlewares])
    app[SETTINGS] = settings
    app[METRICS_REGISTRY] = registry
    app[READINESS_CHECKS] = []
    app[SERVICE_INFO] = {
        "name": settings.name,
        "role": role or settings.service_role,
        "base_url": settings.base_url,
    }
    app[_OPENAPI_INFO] = {"title": title, "version": version, "description": description}
    app[_OPENAPI_CACHE] = {}
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/openapi.json", _openapi)
    return app


def _http_metrics(registry: CollectorRegistry) -> Callable[[str, str, int, float], None]:
    """Count and time every request in ``registry``; the ``observe`` hook that does it."""
    requests_total = Counter(
        "http_requests_total",
        "HTTP requests served",
        ["method", "route", "status"],
        registry=registry,
    )
    request_seconds = Histogram(
        "http_request_duration_seconds",
        "Time to produce the response head",
        ["method", "route"],
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )

    def observe(method: str, route: str, status: int, seconds: float) -> None:
        requests_total.labels(method, route, str(status)).inc()
        request_seconds.labels(method, route).observe(seconds)

    return observe


@operation("Liveness: the process is up and its event loop answers", tags=["health"],
           responses={200: {"type": "object"}})
async def _healthz(_request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@operation("Readiness: every dependency the service needs answers", tags=["health"],
           responses={200: {"type": "object"}, 503: {"type": "object"}})
async def _readyz(request: web.Request) -> web.Response:
    failing: list[str] = []
    started = time.perf_counter()
    for name, check in request.app[READINESS_CHECKS]:
        try:
            ok = await check(request.app)
        except Exception:
            ok = False
        if not ok:
            failing.append(name)
    body = {
        "status": "ready" if not failing else "not-ready",
        "failing": failing,
        "checked_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    return json_response(body, status=200 if not failing else 503)


@operation("Prometheus metrics", tags=["health"], response_content_type=CONTENT_TYPE_LATEST,
           responses={200: "Metrics in the Prometheus text format"})
async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@operation("This API's OpenAPI 3.1 description", tags=["health"],
           responses={200: {"type": "object"}})
async def _openapi(request: web.Request) -> web.Response:
    app = request.app
    cache = app[_OPENAPI_CACHE]
    if not cache:
        info = app[_OPENAPI_INFO]
        cache.update(build_openapi(
            app,
            title=info["title"],
            version=info["version"],
            description=info["description"],
            servers=[app[SETTINGS].base_url],
        ))
    return json_response(cache)


def database_context(
    migrations: Path | None,
    *,
    metadata: MetaData | None = None,
    version_table: str = "alembic_version",
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that opens the engine, migrates it, and disposes it.

    servicekit's shared tables (the job queue) are migrated first, then the
    service's own ``migrations``. It also registers a ``database`` readiness
    check.
    """

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        schema = settings.database_schema
        engine = create_engine(settings.sqlalchemy_url, schema=schema)
        try:
            await migrate(engine, jobs.MIGRATIONS, version_table=jobs.VERSION_TABLE,
                          schema=schema)
            if migrations is not None:
                await migrate(
                    engine, migrations, metadata=metadata,
                    version_table=version_table, schema=schema,
                )
            app[DB_ENGINE] = engine
            app[READINESS_CHECKS].append(("database", _database_ready))
            yield
        finally:
            await engine.dispose()

    return context


async def _database_ready(app: web.Application) -> bool:
    async with app[DB_ENGINE].connect() as conn:
        await conn.execute(text("SELECT 1"))
    return True


async def http_client_context(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context that opens the shared outbound sessions and closes them.

    ``HTTP_CLIENT`` reaches any address (configured peers, backends);
    ``GUARDED_HTTP_CLIENT`` only public ones, plus loopback in ``--dev``.
    """
    settings = app[SETTINGS]
    config = HttpClientConfig(
        total_timeout=settings.http_timeout_seconds,
        read_timeout=settings.http_timeout_seconds,
    )
    app[HTTP_CLIENT] = create_client_session(config)
    app[GUARDED_HTTP_CLIENT] = create_client_session(
        config, guarded=True, allow_loopback=settings.dev
    )
    try:
        yield
    finally:
        await app[HTTP_CLIENT].close()
        await app[GUARDED_HTTP_CLIENT].close()
