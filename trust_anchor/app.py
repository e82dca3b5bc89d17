"""The trust anchor application: ``create_app(settings)``.

The routes of each ``routes/<resource>.py`` module (OID4VCI in a sub-app
under ``/oid4vci`` that answers errors in the OAuth shape), then the process
composed from cleanup contexts, in order, each undoing exactly what it
started:

1. the database (migrations run) and 2. the HTTP clients (servicekit);
3. ``identity_context``: our key and DID, the DID resolver and the verifiers;
4. ``services_context``: the services (:class:`~trust_anchor.keys.Services`),
   the table of job kinds (:func:`job_kinds`), the RootTAO registry entry and
   the operator's API keys;
5. ``organisation_signin_context``: members sign in to the operator console
   (:mod:`trust_anchor.pages`, opened on the database by ``console_context``)
   with their MembershipCredential;
6. ``job_runner_context``: run the jobs.

State lives under the typed keys of :mod:`trust_anchor.keys`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from servicekit.console.install import console_context
from servicekit.console.keys import CONSOLE, ORGANISATION_SIGNIN
from servicekit.jobs import JobHandler, JobRunner
from servicekit.service_info import load_or_create_admin_key
from servicekit.web import ERROR_RENDERER
from trust_anchor import __version__, pages
from trust_anchor.keys import API_KEYS, IDENTITY, SERVICES, Services
from trust_anchor.routes import (
    accredited,
    admin,
    applications,
    credentials,
    dcp,
    home,
    members,
    oid4vci,
    overview,
    registry,
    status,
    wellknown,
)
from trust_anchor.services.dcp import DcpIssuance
from trust_anchor.services.issuance import Issuance
from trust_anchor.services.issuer import Issuer
from trust_anchor.services.oid4vci import Oid4vci
from trust_anchor.services.onboarding import Onboarding
from trust_anchor.services.operators import operator_keys
from trust_anchor.services.registry import Registry
from trust_anchor.services.vc_api import VcApi
from trust_anchor.settings import TrustAnchorSettings
from trust_anchor.store import MIGRATIONS, VERSION_TABLE

__all__ = ["create_app", "job_kinds"]


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
                   admin, members, overview):
        app.add_routes(module.routes)
    # The operator console under /operator (JSON API for its accounts under /admin).
    pages.install(app, settings)
    home.add_root(app, settings)
    app.add_subapp("/oid4vci", _oid4vci_app())
    app.cleanup_ctx.extend([
        database_context(MIGRATIONS, version_table=VERSION_TABLE),
        console_context,
        http_client_context,
        identity_context,
        services_context,
        organisation_signin_context,
        job_runner_context,
    ])
    return app


def _oid4vci_app() -> web.Application:
    """OID4VCI under ``/oid4vci``: errors in the OAuth shape wallets act on."""
    sub = web.Application()
    sub[ERROR_RENDERER] = oid4vci.render_oauth
    sub.add_routes(oid4vci.routes)
    return sub


# --- identity ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Trust:
    """How the trust anchor checks who others are and what they present."""

    resolver: DidResolver
    credentials: CredentialVerifier
    presentations: PresentationVerifier
    #: Self-issued ID tokens addressed to us (applicants, holders, accredited issuers).
    callers: SelfIssuedTokenVerifier


_TRUST = web.AppKey("trust_anchor_trust", Trust)
_JOB_RUNNER = web.AppKey("trust_anchor_job_runner", JobRunner)


async def identity_context(app: web.Application) -> AsyncIterator[None]:
    """Our key, DID and DID document; the resolver and verifiers (closed on the way out)."""
    settings = cast(TrustAnchorSettings, app[SETTINGS])
    identity = ServiceIdentity.for_service(
        settings, key_name="trust-anchor", method=settings.did_method,
        scrypt_n=settings.key_scrypt_n,
        services=[
            {"id": "#issuer-service", "type": "IssuerService",
             "serviceEndpoint": settings.base_url},
            {"id": "#oid4vci", "type": "OID4VCI", "serviceEndpoint": settings.base_url},
            {"id": "#trusted-issuers-registry", "type": "TrustedIssuersRegistry",
             "serviceEndpoint": f"{settings.base_url}/v4/issuers"},
        ],
    )
    resolver = DidResolver(session=app[GUARDED_HTTP_CLIENT], allow_loopback=settings.dev)
    status_checker = StatusListChecker(session=app[GUARDED_HTTP_CLIENT],
                                       allow_loopback=settings.dev,
                                       ttl=float(settings.status_list_max_age))
    verifier = CredentialVerifier(resolver, cache=TokenCache(), status_checker=status_checker)
    app[IDENTITY] = identity
    app[_TRUST] = Trust(
        resolver=resolver, credentials=verifier, presentations=PresentationVerifier(verifier),
        callers=SelfIssuedTokenVerifier(resolver, InMemoryReplayStore(), audience=identity.did),
    )
    try:
        yield
    finally:
        await status_checker.close()


# --- the services ------------------------------------------------------------------------


def job_kinds(services: Services) -> dict[str, JobHandler]:
    """Every job kind the runner runs, and its handler."""
    return {
        **services.dcp.jobs(),  # issuing and delivering a DCP credential request
    }


async def services_context(app: web.Application) -> AsyncIterator[None]:
    """The services, the RootTAO entry, the operator's keys, what ``service.json`` says."""
    settings = cast(TrustAnchorSettings, app[SETTINGS])
    engine, identity, trust = app[DB_ENGINE], app[IDENTITY], app[_TRUST]
    issuer = Issuer(identity, settings.base_url, status_max_age=settings.status_list_max_age)
    registry_ = Registry(engine, issuer, settings)
    runner = JobRunner(engine, {})
    services = Services(
        onboarding=Onboarding(engine, settings, issuer, registry_, trust.callers),
        registry=registry_,
        issuance=Issuance(engine, settings, issuer, trust.callers),
        oid4vci=Oid4vci(engine, settings, issuer, trust.resolver),
        dcp=DcpIssuance(engine, settings, issuer, trust.resolver, app[GUARDED_HTTP_CLIENT],
                        callers=trust.callers, runner=runner),
        vc_api=VcApi(engine, settings, issuer, trust.credentials, trust.presentations),
    )
    for kind, handler in job_kinds(services).items():
        runner.register(kind, handler)
    await registry_.ensure_root()
    admin_key = settings.admin_api_key or load_or_create_admin_key(settings.data_dir)
    app[API_KEYS] = await operator_keys(engine, admin_key, issuer.now())
    app[SERVICES] = services
    app[_JOB_RUNNER] = runner
    app[SERVICE_INFO].update({"did": identity.did, "admin_api_key": admin_key,
                              "openapi": f"{settings.base_url}/openapi.json",
                              "operator_page": f"{settings.base_url}/operator"})
    yield


async def organisation_signin_context(app: web.Application) -> AsyncIterator[None]:
    """Members sign in to the operator console with their MembershipCredential."""
    from trust_anchor.pages.signin import organisation_signin

    app[ORGANISATION_SIGNIN] = organisation_signin(
        identity=app[IDENTITY], presentations=app[_TRUST].presentations,
        session=app[GUARDED_HTTP_CLIENT], registry=app[SERVICES].registry,
        settings=cast(TrustAnchorSettings, app[SETTINGS]), console=app[CONSOLE])
    yield


async def job_runner_context(app: web.Application) -> AsyncIterator[None]:
    """Run the jobs (DCP deliveries)."""
    runner = app[_JOB_RUNNER]
    await runner.start()
    try:
        yield
    finally:
        await runner.stop()
