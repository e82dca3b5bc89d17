"""The trust anchor application: ``create_app(settings)``.

The routes of each ``routes/<resource>.py`` module (OID4VCI in a sub-app
under ``/oid4vci`` that answers errors in the OAuth shape), then the cleanup
contexts: the database engine (migrations run), the outbound HTTP clients,
and :func:`trust_context`, which builds the identity, the verifiers and the
services (:class:`~trust_anchor.keys.Services`) and runs the job runner with
the table of job kinds (:func:`jobs`). State lives under the typed keys of
:mod:`trust_anchor.keys`; teardown only runs for what started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

from aiohttp import web

from identity.cache import TokenCache
from identity.replay import InMemoryReplayStore
from identity.resolver import DidResolver
from identity.self_issued import SelfIssuedTokenVerifier
from identity.service_identity import ServiceIdentity
from identity.status_check import StatusListChecker
from identity.vc_verify import CredentialVerifier
from identity.vp import PresentationVerifier
from servicekit.app import (
    DB_ENGINE,
    GUARDED_HTTP_CLIENT,
    SERVICE_INFO,
    SETTINGS,
    create_service_app,
    database_context,
    http_client_context,
)
from servicekit.jobs import JobHandler, JobRunner
from servicekit.service_info import load_or_create_admin_key
from servicekit.web import ERROR_RENDERER
from trust_anchor import __version__
from trust_anchor.keys import API_KEYS, IDENTITY, SERVICES, Services
from trust_anchor.routes import (
    accredited,
    admin,
    applications,
    credentials,
    dcp,
    home,
    oid4vci,
    operator,
    registry,
    status,
    wellknown,
)
from trust_anchor.services.dcp import DELIVER_JOB, DcpIssuance
from trust_anchor.services.issuance import Issuance
from trust_anchor.services.issuer import Issuer, utcnow
from trust_anchor.services.oid4vci import Oid4vci
from trust_anchor.services.onboarding import Onboarding
from trust_anchor.services.operators import operator_keys
from trust_anchor.services.registry import Registry
from trust_anchor.services.vc_api import VcApi
from trust_anchor.settings import TrustAnchorSettings
from trust_anchor.store import MIGRATIONS, VERSION_TABLE

__all__ = ["create_app"]


def create_app(settings: TrustAnchorSettings) -> web.Application:
    """Build the trust anchor application."""
    app = create_service_app(
        settings,
        title="Trust anchor",
        version=__version__,
        description=(
            "Onboarding, credential issuance (OID4VCI, DCP, VC-API), the trusted-issuers "
            "registry (EBSI TIR v4), the participant list and Bitstring status lists."
        ),
    )
    for module in (wellknown, applications, registry, status, credentials, accredited, dcp,
                   admin, operator):
        app.add_routes(module.routes)
    home.add_root(app, settings)
    app.add_subapp("/oid4vci", _oid4vci_app())
    app.cleanup_ctx.append(database_context(MIGRATIONS, version_table=VERSION_TABLE))
    app.cleanup_ctx.append(http_client_context)
    app.cleanup_ctx.append(trust_context)
    return app


def _oid4vci_app() -> web.Application:
    """OID4VCI under ``/oid4vci``: errors in the OAuth shape wallets act on."""
    sub = web.Application()
    sub[ERROR_RENDERER] = oid4vci.render_oauth
    sub.add_routes(oid4vci.routes)
    return sub


def jobs(services: Services) -> dict[str, JobHandler]:
    """The table of job kinds: what the background runner does for each."""
    return {DELIVER_JOB: services.dcp.deliver}


def _identity(settings: TrustAnchorSettings) -> ServiceIdentity:
    return ServiceIdentity.load_or_create(
        settings.data_dir / "keys",
        base_url=settings.base_url,
        passphrase=settings.key_passphrase,
        dev=settings.dev,
        method=settings.did_method,
        key_name="trust-anchor",
        scrypt_n=settings.key_scrypt_n,
        services=[
            {"id": "#issuer-service", "type": "IssuerService",
             "serviceEndpoint": settings.base_url},
            {"id": "#oid4vci", "type": "OID4VCI", "serviceEndpoint": settings.base_url},
            {"id": "#trusted-issuers-registry", "type": "TrustedIssuersRegistry",
             "serviceEndpoint": f"{settings.base_url}/v4/issuers"},
        ],
    )


async def trust_context(app: web.Application) -> AsyncIterator[None]:
    """Open the identity, the verifiers and the services; run the job runner."""
    settings = cast(TrustAnchorSettings, app[SETTINGS])
    engine = app[DB_ENGINE]
    identity = _identity(settings)
    resolver = DidResolver(session=app[GUARDED_HTTP_CLIENT], allow_loopback=settings.dev)
    status_checker = StatusListChecker(session=app[GUARDED_HTTP_CLIENT],
                                       allow_loopback=settings.dev,
                                       ttl=float(settings.status_list_max_age))
    verifier = CredentialVerifier(resolver, cache=TokenCache(), status_checker=status_checker)
    issuer = Issuer(identity, settings.base_url, status_max_age=settings.status_list_max_age,
                    clock=utcnow)
    registry_ = Registry(engine, issuer, settings)
    callers = SelfIssuedTokenVerifier(resolver, InMemoryReplayStore(), audience=identity.did)
    runner = JobRunner(engine, {})
    services = Services(
        onboarding=Onboarding(engine, settings, issuer, registry_, callers),
        registry=registry_,
        issuance=Issuance(engine, settings, issuer, callers),
        oid4vci=Oid4vci(engine, settings, issuer, resolver),
        dcp=DcpIssuance(engine, settings, issuer, resolver, app[GUARDED_HTTP_CLIENT],
                        callers=callers, runner=runner),
        vc_api=VcApi(engine, settings, issuer, verifier, PresentationVerifier(verifier)),
    )
    for kind, handler in jobs(services).items():
        runner.register(kind, handler)
    app[IDENTITY] = identity
    app[SERVICES] = services

    admin_key = settings.admin_api_key or load_or_create_admin_key(settings.data_dir)
    await registry_.ensure_root()
    app[API_KEYS] = await operator_keys(engine, admin_key, utcnow())
    app[SERVICE_INFO].update({"did": identity.did, "admin_api_key": admin_key,
                              "openapi": f"{settings.base_url}/openapi.json",
                              "operator_page": f"{settings.base_url}/operator"})
    await runner.start()
    try:
        yield
    finally:
        await runner.stop()
        await status_checker.close()
