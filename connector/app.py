"""The connector's applications: DSP on the main port, the management API on its own port.

:func:`create_app` builds the main application (health, metrics, OpenAPI,
``/.well-known/dspace-version``, our DCP Credential Service under ``/dcp``
and the DSP sub-application under ``/dsp``, which answers errors in the DSP
error shapes) and the management application, and composes the process
from cleanup contexts, in order, each of which stops exactly what it
started (so a start-up that fails half-way undoes what had been started):

1. the database and 2. the HTTP clients (servicekit);
3. ``identity_context``: our key and DID, the DCP components, the auth seam;
4. ``control_plane_context``: the signaling seam (:data:`SIGNALING`: tokens
   only, or the enforcing data plane, built here), the control plane, the
   services, the job kinds of :func:`job_kinds`, TCK seeding;
5. ``data_plane_context`` (enforcing data plane only): start it on the
   control plane's job runner, ending transfers through the control plane;
6. ``management_site_context``: serve the management app on
   ``management_port`` (default port + 1);
7. ``job_runner_context``: run the jobs; 8. ``standing_check_context``
   (DCP only): re-check the consumers' credentials of live transfers.

Nothing administrative is routed on the DSP port.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import structlog
from aiohttp import web
from sqlalchemy.engine import make_url

from connector import __version__, pages
from connector.auth import AuthContext, AuthSeam, create_auth
from connector.core import ControlPlane
from connector.dataplane.app import migrate_data_plane, open_data_plane
from connector.dataplane.web import (
    DATA_PLANE,
    INTERNAL_KEYS,
    METRICS,
    DataPlaneMetrics,
    add_data_plane_routes,
)
from connector.domain.transfer import TransferAction
from connector.errors import render_dsp_error
from connector.keys import API_KEYS, CONTROL_PLANE, SERVICES, Services
from connector.routes import dcp as dcp_routes
from connector.routes import metadata
from connector.routes.dsp import catalog as dsp_catalog
from connector.routes.dsp import negotiations as dsp_negotiations
from connector.routes.dsp import tck as dsp_tck
from connector.routes.dsp import transfers as dsp_transfers
from connector.routes.management import agreements as mgmt_agreements
from connector.routes.management import catalog as mgmt_catalog
from connector.routes.management import console as mgmt_console
from connector.routes.management import credentials as mgmt_credentials
from connector.routes.management import datasets as mgmt_datasets
from connector.routes.management import member_catalog as mgmt_member_catalog
from connector.routes.management import members as mgmt_members
from connector.routes.management import negotiations as mgmt_negotiations
from connector.routes.management import transfers as mgmt_transfers
from connector.routes.management import wallet as mgmt_wallet
from connector.services.agreements import AgreementTermination
from connector.services.approvals import ApprovalViews
from connector.services.audit import AuditService
from connector.services.catalog import CatalogService
from connector.services.dashboard import DashboardService
from connector.services.datasets import DatasetEditor
from connector.services.delivery import Delivery, DspClient
from connector.services.holder import HolderService
from connector.services.member_catalogs import MEMBER_CATALOGS, MemberCatalogs
from connector.services.members import MembersService
from connector.services.membership import MembershipService
from connector.services.negotiations import NegotiationService
from connector.services.receipts import ReceiptService
from connector.services.standing import StandingCheck
from connector.services.transfers import TransferService
from connector.services.wallet import WALLET, WalletService
from connector.settings import ConnectorSettings
from connector.signaling import DataPlaneSignaling, InProcessSignaling
from connector.store import MIGRATIONS, VERSION_TABLE
from connector.store.tables import metadata as table_metadata
from connector.tck import TckScript, seed
from connector.trust import Trust, credential_service_entry
from identity.oid4vp import MembershipCheck, Oid4vpVerifier
from identity.service_identity import ServiceIdentity
from identity.signer import Signer
from identity.vp import PresentationVerifier
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
from servicekit.console.install import open_console, pending_signins
from servicekit.console.keys import CONSOLE, CONSOLE_CONFIG, ORGANISATION_SIGNIN
from servicekit.jobs import JobHandler
from servicekit.service_info import load_or_create_admin_key
from servicekit.web import ERROR_RENDERER

__all__ = ["MANAGEMENT_APP", "SIGNALING", "create_app", "create_management_app", "job_kinds"]

MANAGEMENT_APP = web.AppKey("management_app", web.Application)

_log = structlog.get_logger("connector")

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
        version=__version__,
        description="Administer datasets, policies and offers; follow and decide "
        "negotiations; start transfers as a consumer. Bearer admin API key.",
    )
    app.add_routes(mgmt_datasets.routes)  # before the catalog's /datasets/{id}
    app.add_routes(mgmt_catalog.routes)
    app.add_routes(mgmt_agreements.routes)
    app.add_routes(mgmt_console.routes)
    app.add_routes(mgmt_member_catalog.routes)  # before /api/v1/members/...
    app.add_routes(mgmt_members.routes)
    app.add_routes(mgmt_negotiations.routes)
    app.add_routes(mgmt_transfers.routes)
    app.add_routes(mgmt_credentials.routes)
    app.add_routes(mgmt_wallet.routes)
    pages.install(app, settings)
    metadata.add_management_root(app, settings)
    return app


def create_app(settings: ConnectorSettings) -> web.Application:
    """The connector: DSP on ``settings.port``, management on ``settings.management_port``."""
    app = create_service_app(
        settings,
        title="Connector (Dataspace Protocol 2025-1)",
        version=__version__,
        description="DSP 2025-1 HTTPS binding under /dsp: catalog, contract negotiation and "
        "transfer process, provider and consumer.",
    )
    app.add_routes(metadata.routes)
    metadata.add_protocol_root(app, settings)
    app.add_routes(dcp_routes.routes)
    app.add_subapp("/dsp", _dsp_app(settings))
    management = app[MANAGEMENT_APP] = create_management_app(settings)
    enforcing = settings.signaling == "data-plane"
    if enforcing:
        # the data path, refresh and receipt on the main port; decide and settle on the
        # management port, behind the internal key
        app[METRICS] = management[METRICS] = DataPlaneMetrics(app[METRICS_REGISTRY])
        add_data_plane_routes(app, settings.data_path, internal=False)
        add_data_plane_routes(management, settings.data_path, public=False)
    app.cleanup_ctx.extend([
        database_context(MIGRATIONS, metadata=table_metadata, version_table=VERSION_TABLE),
        http_client_context,
        identity_context,
        control_plane_context,
        *([data_plane_context] if enforcing else []),
        management_site_context,
        job_runner_context,
        *([standing_check_context] if settings.auth.mode == "dcp" else []),
    ])
    return app


# --- identity ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who this connector is and how it checks who others are."""

    did: str
    signer: Signer
    did_document: dict[str, Any] | None
    trust: Trust
    auth: AuthSeam


IDENTITY = web.AppKey("connector_identity", Identity)


async def identity_context(app: web.Application) -> AsyncIterator[None]:
    """Our key and DID, the DCP components and the auth seam (closed on the way out)."""
    settings = cast(ConnectorSettings, app[SETTINGS])
    keys = ServiceIdentity.for_service(
        settings, key_name="connector", method=settings.did_method or "web",
        services=[{"id": "#dsp", "type": "DataService",
                   "serviceEndpoint": settings.base_url + "/.well-known/dspace-version"},
                  credential_service_entry(settings.base_url)],
    )
    did = settings.did or keys.did
    signer = keys.signer if settings.did is None else Signer.for_did(keys.key, did)
    document = keys.document if settings.did is None else None
    trust = Trust.build(settings, signer=signer, engine=app[DB_ENGINE],
                        session=app[GUARDED_HTTP_CLIENT], did_document=document)
    try:
        auth = await create_auth(AuthContext(
            settings=settings, did=did, signer=signer, engine=app[DB_ENGINE],
            http=app[HTTP_CLIENT], guarded_http=app[GUARDED_HTTP_CLIENT], trust=trust,
        ))
        app[IDENTITY] = Identity(did=did, signer=signer, did_document=document, trust=trust,
                                 auth=auth)
        try:
            yield
        finally:
            if auth.close is not None:
                await auth.close()
    finally:
        await trust.close()


# --- the control plane -------------------------------------------------------------------


async def _in_process(app: web.Application, identity: Identity) -> DataPlaneSignaling:
    settings = cast(ConnectorSettings, app[SETTINGS])
    return InProcessSignaling(identity.signer, data_plane_url=settings.public_data_plane_url,
                              token_seconds=settings.edr_token_seconds)


async def _enforcing(app: web.Application, identity: Identity) -> DataPlaneSignaling:
    settings = cast(ConnectorSettings, app[SETTINGS])
    await migrate_data_plane(app[DB_ENGINE], settings.database_schema)
    plane = open_data_plane(settings, app[DB_ENGINE], identity.signer)
    app[DATA_PLANE] = app[MANAGEMENT_APP][DATA_PLANE] = plane
    return plane.signaling


#: ``settings.signaling`` -> how the control plane's signaling seam is made.
SIGNALING: dict[str, Callable[[web.Application, Identity], Awaitable[DataPlaneSignaling]]] = {
    "in-process": _in_process,
    "data-plane": _enforcing,
}


def job_kinds(
    app: web.Application, services: Services, delivery: Delivery
) -> dict[str, JobHandler]:
    """Every job kind the control plane's runner runs, and its handler."""
    kinds: dict[str, JobHandler] = {
        **delivery.jobs(),  # sending queued DSP messages
        **services.negotiations.jobs(),  # a negotiation's next steps
        **services.transfers.jobs(),  # a transfer's next steps
    }
    if DATA_PLANE in app:
        kinds.update(app[DATA_PLANE].jobs())  # usage reports and usage notices
    return kinds


async def control_plane_context(app: web.Application) -> AsyncIterator[None]:
    """The control plane and its services; the management app's keys."""
    settings = cast(ConnectorSettings, app[SETTINGS])
    identity = app[IDENTITY]
    plane = ControlPlane(
        settings=settings, engine=app[DB_ENGINE], did=identity.did, signer=identity.signer,
        auth=identity.auth, signaling=await SIGNALING[settings.signaling](app, identity),
        http=app[GUARDED_HTTP_CLIENT], did_document=identity.did_document,
    )
    script = TckScript() if settings.tck.enabled else None
    catalog = CatalogService(plane)
    holder = HolderService(plane, identity.trust)
    transfers = TransferService(plane, script)
    services = Services(
        catalog=catalog,
        negotiations=NegotiationService(plane, catalog, script),
        transfers=transfers,
        client=DspClient(plane),
        holder=holder,
        membership=MembershipService(plane, identity.trust, holder),
        datasets=DatasetEditor(plane, catalog),
        approvals=ApprovalViews(plane),
        agreements=AgreementTermination(plane, transfers),
        dashboard=DashboardService(plane),
        audit=AuditService(plane),
        members=MembersService(identity.trust),
        receipts=ReceiptService(plane, transfers, identity.trust),
    )
    delivery = Delivery(plane)
    for kind, handler in job_kinds(app, services, delivery).items():
        plane.runner.register(kind, handler)
    plane.failure_handlers.update(delivery.failure_handlers())
    management = app[MANAGEMENT_APP]
    app[CONTROL_PLANE] = management[CONTROL_PLANE] = plane
    app[SERVICES] = management[SERVICES] = services
    admin_key = load_or_create_admin_key(settings.data_dir)
    management[API_KEYS] = ApiKeyVerifier([hash_api_key(admin_key)])
    management[CONSOLE] = open_console(app[DB_ENGINE], management[CONSOLE_CONFIG],
                                       settings.console, dev=settings.dev)
    management[pages.OWN_DID] = identity.did
    _wallet_and_signin(app, settings, identity, services)
    app[SERVICE_INFO].update(_service_info(settings, identity.did, admin_key))
    if settings.tck.enabled:
        await seed(plane)
    yield


def _wallet_and_signin(app: web.Application, settings: ConnectorSettings, identity: Identity,
                       services: Services) -> None:
    """The organisation's wallet (sign in elsewhere), members' catalogs, and our console's
    sign-in with the organisation's credential (when a trust anchor says whom to trust)."""
    management = app[MANAGEMENT_APP]
    trust = identity.trust
    me = ServiceIdentity(signer=identity.signer, did=identity.did,
                         document=dict(identity.did_document or {}))
    management[WALLET] = WalletService(
        services.holder, services.members, me, session=trust.session, resolver=trust.resolver,
        allow_loopback=settings.dev, clock=time.time)
    management[MEMBER_CATALOGS] = MemberCatalogs(app[CONTROL_PLANE], services.client,
                                                 services.members, trust.resolver)
    if trust.registry is not None:
        management[ORGANISATION_SIGNIN] = Oid4vpVerifier(
            identity=me, check=MembershipCheck(PresentationVerifier(trust.credentials),
                                               trust.registry),
            store=pending_signins(management[CONSOLE]),
            clock=management[CONSOLE].now)


class _TransferTerminator:
    """Ends a transfer the way its owner would: DSP termination, then signaling."""

    def __init__(self, transfers: TransferService) -> None:
        self._transfers = transfers

    async def terminate_transfer(self, transfer_id: str, *, code: str, reason: str) -> None:
        await self._transfers.act(transfer_id, TransferAction.TERMINATE, code=code,
                                  reason=reason)


async def data_plane_context(app: web.Application) -> AsyncIterator[None]:
    """Run the enforcing data plane on the control plane's job runner; stop it after."""
    plane = app[DATA_PLANE]
    await plane.start(runner=app[CONTROL_PLANE].runner,
                      terminator=_TransferTerminator(app[SERVICES].transfers))
    management = app[MANAGEMENT_APP]
    management[INTERNAL_KEYS] = management[API_KEYS]
    try:
        yield
    finally:
        await plane.stop()


# --- serving and running -----------------------------------------------------------------


async def management_site_context(app: web.Application) -> AsyncIterator[None]:
    """Serve the management app on its own port (``management_url`` in service.json)."""
    settings = cast(ConnectorSettings, app[SETTINGS])
    runner = web.AppRunner(app[MANAGEMENT_APP], access_log=None, handle_signals=False)
    await runner.setup()
    try:
        host = settings.management_host or settings.host
        site = web.TCPSite(runner, host, settings.management_port or 0, reuse_port=True)
        await site.start()
        port = _bound_port(runner, settings.management_port or 0)
        shown_host = host if host not in ("0.0.0.0", "::") else "127.0.0.1"
        app[SERVICE_INFO]["management_url"] = f"http://{shown_host}:{port}"
        yield
    finally:
        await runner.cleanup()


async def job_runner_context(app: web.Application) -> AsyncIterator[None]:
    """Run the control plane's jobs (DSP deliveries, process steps, data-plane reports)."""
    settings = cast(ConnectorSettings, app[SETTINGS])
    plane = app[CONTROL_PLANE]
    await plane.runner.start()
    _log.info("connector_ready", did=plane.did, dsp=plane.dsp_url,
              management=app[SERVICE_INFO]["management_url"], tck=settings.tck.enabled,
              auth=settings.auth.mode)
    try:
        yield
    finally:
        await plane.runner.stop()


async def standing_check_context(app: web.Application) -> AsyncIterator[None]:
    """Re-check, every so often, the credentials of the consumers of our live transfers."""
    dcp = cast(ConnectorSettings, app[SETTINGS]).auth.dcp
    check = StandingCheck(app[SERVICES].transfers, app[IDENTITY].trust,
                          interval=dcp.standing_check_seconds or dcp.status_list_ttl)
    stopping = asyncio.Event()
    checking = asyncio.create_task(check.run(stopping), name="standing-check")
    try:
        yield
    finally:
        stopping.set()
        await checking


def _service_info(settings: ConnectorSettings, did: str, admin_key: str) -> dict[str, Any]:
    return {
        "role": settings.role,
        "did": did,
        "admin_api_key": admin_key,
        "dsp_url": settings.dsp_url,
        # Where our state is (for offline tools, e.g. `connector audit verify`); never
        # the password, which stays in the settings (environment or Secret).
        "database": {
            "url": make_url(settings.sqlalchemy_url).set(password=None)
            .render_as_string(hide_password=False),
            "schema": settings.database_schema,
        },
    }


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured
