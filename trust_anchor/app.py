"""The trust anchor application: ``create_app(settings)``.

State lives under the typed keys below; the database engine, the outbound
HTTP clients, the service identity and the verifiers are acquired in cleanup
contexts so teardown only runs for what started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

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
    create_service_app,
    database_context,
    http_client_context,
)
from servicekit.auth import ApiKeyVerifier, hash_api_key
from servicekit.jobs import JobRunner
from servicekit.service_info import load_or_create_admin_key
from trust_anchor import __version__
from trust_anchor.dcp_issuance import DELIVER_JOB, DcpIssuance
from trust_anchor.issuance import Issuer, utcnow
from trust_anchor.onboarding import Onboarding
from trust_anchor.registry import Registry
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
from trust_anchor.settings import TrustAnchorSettings
from trust_anchor.state import (
    ADMIN_KEYS,
    CREDENTIAL_VERIFIER,
    IDENTITY,
    ISSUER,
    JOB_RUNNER,
    ONBOARDING,
    PRESENTATION_VERIFIER,
    REGISTRY,
    RESOLVER,
    SELF_ISSUED_VERIFIER,
    TA_SETTINGS,
)
from trust_anchor.store import MIGRATIONS, VERSION_TABLE
from trust_anchor.store.registry import add_api_key, api_key_hashes

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
    app[TA_SETTINGS] = settings
    app.cleanup_ctx.append(database_context(MIGRATIONS, version_table=VERSION_TABLE))
    app.cleanup_ctx.append(http_client_context)
    app.cleanup_ctx.append(_trust_context)
    for module in (wellknown, applications, registry, status, credentials, accredited, dcp,
                   admin, operator, home):
        module.setup(app)
    oid4vci.setup(app)
    return app


async def _trust_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[TA_SETTINGS]
    engine = app[DB_ENGINE]
    identity = ServiceIdentity.load_or_create(
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
    resolver = DidResolver(session=app[GUARDED_HTTP_CLIENT], allow_loopback=settings.dev)
    status_checker = StatusListChecker(session=app[GUARDED_HTTP_CLIENT],
                                       allow_loopback=settings.dev,
                                       ttl=float(settings.status_list_max_age))
    verifier = CredentialVerifier(resolver, cache=TokenCache(), status_checker=status_checker)
    issuer = Issuer(identity, settings.base_url, status_max_age=settings.status_list_max_age,
                    clock=utcnow)
    registry_ = Registry(issuer, settings)
    proofs = SelfIssuedTokenVerifier(resolver, InMemoryReplayStore(), audience=identity.did)
    app[IDENTITY] = identity
    app[RESOLVER] = resolver
    app[CREDENTIAL_VERIFIER] = verifier
    app[PRESENTATION_VERIFIER] = PresentationVerifier(verifier)
    app[ISSUER] = issuer
    app[REGISTRY] = registry_
    app[SELF_ISSUED_VERIFIER] = proofs
    app[ONBOARDING] = Onboarding(engine, settings, issuer, registry_, proofs)

    admin_key = settings.admin_api_key or load_or_create_admin_key(settings.data_dir)
    async with engine.begin() as conn:
        await registry_.ensure_root(conn)
        await add_api_key(conn, hash_api_key(admin_key), "bootstrap", utcnow())
        hashes = await api_key_hashes(conn)
    app[ADMIN_KEYS] = ApiKeyVerifier(hashes)
    info = app[SERVICE_INFO]
    info.update({"did": identity.did, "admin_api_key": admin_key,
                 "openapi": f"{settings.base_url}/openapi.json",
                 "operator_page": f"{settings.base_url}/operator"})
    dcp = DcpIssuance(engine, settings, issuer, resolver, app[GUARDED_HTTP_CLIENT])
    runner = JobRunner(engine, {DELIVER_JOB: dcp.deliver})
    app[JOB_RUNNER] = runner
    await runner.start()
    try:
        yield
    finally:
        await runner.stop()
        await status_checker.close()
