"""The connector's applications: DSP on the main port, the management API on its own port.

:func:`create_app` builds the main application (health, metrics, OpenAPI,
``/.well-known/dspace-version``, our DCP Credential Service under ``/dcp``
and the DSP sub-application under ``/dsp``, which answers errors in the DSP
error shapes) and the management application. The ``control_plane_context``
cleanup context opens the control plane once the database and HTTP clients
are up: our identity and DCP components, the auth and signaling seams, the
services, the job runner, TCK seeding, and the management site, which it
serves on ``management_port`` (default port + 1).
Nothing administrative is routed on the DSP port.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import AsyncIterator
from typing import cast

import structlog
from aiohttp import web
from sqlalchemy.engine import make_url

from connector.auth import AuthContext, create_auth
from connector.core import ControlPlane
from connector.dataplane import wiring as data_plane
from connector.errors import render_dsp_error
from connector.keys import API_KEYS, CONTROL_PLANE, SERVICES, Services
from connector.routes import dcp as dcp_routes
from connector.routes import metadata
from connector.routes.dsp import catalog as dsp_catalog
from connector.routes.dsp import negotiations as dsp_negotiations
from connector.routes.dsp import tck as dsp_tck
from connector.routes.dsp import transfers as dsp_transfers
from connector.routes.management import catalog as mgmt_catalog
from connector.routes.management import credentials as mgmt_credentials
from connector.routes.management import negotiations as mgmt_negotiations
from connector.routes.management import transfers as mgmt_transfers
from connector.services.catalog import CatalogService
from connector.services.delivery import Delivery, DspClient
from connector.services.holder import HolderService
from connector.services.membership import MembershipService
from connector.services.negotiations import NegotiationService
from connector.services.standing import StandingCheck
from connector.services.transfers import TransferService
from connector.settings import ConnectorSettings
from connector.signaling import SignalingContext, create_signaling
from connector.store import MIGRATIONS, VERSION_TABLE
from connector.store.tables import metadata as table_metadata
from connector.tck import TckScript, seed
from connector.trust import Trust, credential_service_entry
from identity.service_identity import ServiceIdentity
from identity.signer import Signer
from servicekit.app import (
    DB_ENGINE,
    GUARDED_HTTP_CLIENT,
    HTTP_CLIENT,
    METRICS_REGISTRY,
    SERVICE_INFO,
    SETTINGS,
    create_service_app,
    database_context,
    http_client_context,
)
from servicekit.auth import ApiKeyVerifier, hash_api_key
from servicekit.service_info import load_or_create_admin_key
from servicekit.web import ERROR_RENDERER

__all__ = ["MANAGEMENT_APP", "create_app", "create_management_app"]

MANAGEMENT_APP = web.AppKey("management_app", web.Application)
_MANAGEMENT_RUNNER = web.AppKey("management_runner", web.AppRunner)

_log = structlog.get_logger("connector")

try:
    VERSION = importlib.metadata.version("dataspace-toolkit")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
    VERSION = "0.0.0"


def _dsp_app(settings: ConnectorSettings) -> web.Application:
    dsp = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[web.normalize_path_middleware(append_slash=False, remove_slash=True)],
    )
    dsp[ERROR_RENDERER] = render_dsp_error
    dsp.add_routes(dsp_catalog.routes)
    dsp.add_routes(dsp_negotiations.routes)
    dsp.add_routes(dsp_transfers.routes)
    if settings.tck.enabled:
        dsp.add_routes(dsp_tck.routes)
    return dsp


def create_management_app(settings: ConnectorSettings) -> web.Application:
    """The owner's API: datasets, policies, offers, negotiations, agreements, transfers."""
    local = settings.model_copy(update={
        "port": settings.management_port or 0,
        "host": settings.management_host or settings.host,
        "public_url": None,
    })
    app = create_service_app(
        local,
        title="Connector management API",
        version=VERSION,
        description="Administer datasets, policies and offers; follow and decide "
        "negotiations; start transfers as a consumer. Bearer admin API key.",
    )
    app.add_routes(mgmt_catalog.routes)
    app.add_routes(mgmt_negotiations.routes)
    app.add_routes(mgmt_transfers.routes)
    app.add_routes(mgmt_credentials.routes)
    metadata.add_management_root(app, settings)
    return app


def create_app(settings: ConnectorSettings) -> web.Application:
    """The connector: DSP on ``settings.port``, management on ``settings.management_port``."""
    app = create_service_app(
        settings,
        title="Connector (Dataspace Protocol 2025-1)",
        version=VERSION,
        description="DSP 2025-1 HTTPS binding under /dsp: catalog, contract negotiation and "
        "transfer process, provider and consumer.",
    )
    app.add_routes(metadata.routes)
    metadata.add_protocol_root(app, settings)
    app.add_routes(dcp_routes.routes)
    app.add_subapp("/dsp", _dsp_app(settings))
    app[MANAGEMENT_APP] = create_management_app(settings)
    data_plane.mount(app, app[MANAGEMENT_APP], settings, app[METRICS_REGISTRY])
    app.cleanup_ctx.append(
        database_context(MIGRATIONS, metadata=table_metadata, version_table=VERSION_TABLE)
    )
    app.cleanup_ctx.append(http_client_context)
    app.cleanup_ctx.append(control_plane_context)
    return app


async def control_plane_context(app: web.Application) -> AsyncIterator[None]:
    """Open the control plane, serve the management API, run the job runner."""
    settings = cast(ConnectorSettings, app[SETTINGS])
    identity = ServiceIdentity.load_or_create(
        settings.data_dir / "keys",
        base_url=settings.base_url,
        passphrase=settings.key_passphrase,
        dev=settings.dev,
        method=settings.did_method or "web",
        key_name="connector",
        services=[{"id": "#dsp", "type": "DataService",
                   "serviceEndpoint": settings.base_url + "/.well-known/dspace-version"},
                  credential_service_entry(settings.base_url)],
    )
    did = settings.did or identity.did
    signer = identity.signer if settings.did is None else Signer.for_did(identity.key, did)
    trust = Trust.build(
        settings, signer=signer, engine=app[DB_ENGINE], session=app[GUARDED_HTTP_CLIENT],
        did_document=identity.document if settings.did is None else None,
    )
    auth = await create_auth(AuthContext(
        settings=settings, did=did, signer=signer, engine=app[DB_ENGINE],
        http=app[HTTP_CLIENT], guarded_http=app[GUARDED_HTTP_CLIENT], trust=trust,
    ))
    plane = ControlPlane(
        settings=settings, engine=app[DB_ENGINE], did=did, signer=signer, auth=auth,
        signaling=await create_signaling(settings.signaling, SignalingContext(
            settings=settings, signer=signer, engine=app[DB_ENGINE], http=app[HTTP_CLIENT])),
        http=app[GUARDED_HTTP_CLIENT],
        did_document=identity.document if settings.did is None else None,
    )
    script = TckScript() if settings.tck.enabled else None
    catalog = CatalogService(plane)
    holder = HolderService(plane, trust)
    services = Services(
        catalog=catalog,
        negotiations=NegotiationService(plane, catalog, script),
        transfers=TransferService(plane, script),
        client=DspClient(plane),
        holder=holder,
        membership=MembershipService(plane, trust, holder),
    )
    Delivery(plane)
    app[CONTROL_PLANE] = plane
    app[SERVICES] = services
    if settings.tck.enabled:
        await seed(plane)

    admin_key = load_or_create_admin_key(settings.data_dir)
    management = app[MANAGEMENT_APP]
    management[CONTROL_PLANE] = plane
    management[SERVICES] = services
    management[API_KEYS] = ApiKeyVerifier([hash_api_key(admin_key)])
    stop_data_plane = await data_plane.start(
        app, management, plane.signaling, transfers=services.transfers, runner=plane.runner,
        internal_keys=management[API_KEYS])
    runner = web.AppRunner(management, access_log=None, handle_signals=False)
    await runner.setup()
    host = settings.management_host or settings.host
    site = web.TCPSite(runner, host, settings.management_port or 0, reuse_port=True)
    await site.start()
    port = _bound_port(runner, settings.management_port or 0)
    shown_host = host if host not in ("0.0.0.0", "::") else "127.0.0.1"
    plane.management_url = f"http://{shown_host}:{port}"
    app[SERVICE_INFO].update({
        "role": settings.role,
        "did": did,
        "admin_api_key": admin_key,
        "management_url": plane.management_url,
        "dsp_url": plane.dsp_url,
        # Where our state is (for offline tools, e.g. `connector audit verify`); never
        # the password, which stays in the settings (environment or Secret).
        "database": {
            "url": make_url(settings.sqlalchemy_url).set(password=None)
            .render_as_string(hide_password=False),
            "schema": settings.database_schema,
        },
    })
    await plane.runner.start()
    stopping = asyncio.Event()
    checking = None
    if settings.auth.mode == "dcp":
        dcp = settings.auth.dcp
        check = StandingCheck(services.transfers, trust,
                              interval=dcp.standing_check_seconds or dcp.status_list_ttl)
        checking = asyncio.create_task(check.run(stopping), name="standing-check")
    _log.info("connector_ready", did=did, dsp=plane.dsp_url, management=plane.management_url,
              tck=settings.tck.enabled, auth=settings.auth.mode)
    try:
        yield
    finally:
        stopping.set()
        if checking is not None:
            await checking
        await plane.runner.stop()
        await stop_data_plane()
        await runner.cleanup()
        if auth.close is not None:
            await auth.close()
        await trust.close()


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured


