"""The marketplace application: ``create_app(settings)``.

The routes of each ``routes/<resource>.py`` module (the TM Forum APIs in a
sub-app under ``/tmf-api`` that answers errors in the TMF ``Error`` shape),
then the process composed from cleanup contexts, in order, each undoing
exactly what it started:

1. the database (migrations run) and 2. the HTTP clients (servicekit);
3. ``identity_context``: our key and DID, the DID resolver, the verifiers and
   the trust anchor's trusted-issuers registry;
4. ``services_context``: the services (:class:`~marketplace.keys.Services`),
   the table of job kinds (:func:`job_kinds`) and the operator's API key;
5. ``job_runner_context``: run the jobs.
6. ``member_context``: the marketplace is a member too: it applies at the trust
   anchor until it holds its MembershipCredential, and harvests the providers'
   DSP catalogs every ``harvest_seconds``.
7. ``console_context`` and ``portal_context``: the portal's sign-in (servicekit's
   console on our database) and, with a trust anchor, members signing in with their
   MembershipCredential over OpenID4VP (:mod:`marketplace.pages`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.cache import TokenCache
from identity.credential_issuer import CredentialIssuer
from identity.dcp import DcpHolder, DcpTokenProvider, DcpVerifier
from identity.did_web import did_web_from_url
from identity.oid4vp import MembershipCheck, Oid4vpVerifier
from identity.onboarding import TrustAnchorClient
from identity.replay import InMemoryReplayStore
from identity.resolver import DidResolver
from identity.self_issued import SelfIssuedTokenVerifier
from identity.service_identity import ServiceIdentity
from identity.status_check import StatusListChecker
from identity.trusted_issuers import TrustedIssuers
from identity.vc_verify import CredentialVerifier
from identity.vp import PresentationVerifier
from marketplace import __version__, pages
from marketplace.keys import API_KEYS, CLOCK, IDENTITY, SERVICES, Services
from marketplace.payments import CardProvider, InvoiceProvider, build_provider
from marketplace.routes import billing as billing_routes
from marketplace.routes import (
    catalog,
    dcp,
    federation,
    holder,
    home,
    inventory,
    membership,
    ordering,
    payments,
    search,
    status,
    wellknown,
)
from marketplace.routes import usage as usage_routes
from marketplace.routes.tmf import render_tmf_error
from marketplace.services.billing import Billing
from marketplace.services.callers import Callers
from marketplace.services.catalog import CatalogService
from marketplace.services.federation import Federation
from marketplace.services.holder import Holder
from marketplace.services.inventory import RENEW_JOB, Context, Inventory, start_periodic
from marketplace.services.membership import Membership
from marketplace.services.order_payments import SWEEP_JOB, Payments
from marketplace.services.ordering import Orders
from marketplace.services.purchases import ISSUER_SERVICE_PATH, Purchases
from marketplace.services.search import Search as SearchService
from marketplace.services.usage import UsageService
from marketplace.settings import MarketplaceSettings
from marketplace.store import MIGRATIONS, VERSION_TABLE
from marketplace.store.purchases import PURCHASE_CREDENTIALS
from servicekit.app import (
    DB_ENGINE,
    GUARDED_HTTP_CLIENT,
    HTTP_CLIENT,
    SERVICE_INFO,
    SETTINGS,
    create_service_app,
    database_context,
    http_client_context,
)
from servicekit.auth import ApiKeyVerifier, hash_api_key
from servicekit.clock import Clock, system_clock
from servicekit.console.install import console_context, pending_signins
from servicekit.console.keys import CONSOLE, ORGANISATION_SIGNIN
from servicekit.jobs import JobHandler, JobRunner
from servicekit.service_info import load_or_create_admin_key
from servicekit.web import ERROR_RENDERER

__all__ = ["create_app", "job_kinds"]


def create_app(settings: MarketplaceSettings, *, clock: Clock = system_clock) -> web.Application:
    """Build the marketplace application (``clock``: the time the use cases read)."""
    app = create_service_app(
        settings,
        title="Marketplace",
        version=__version__,
        description=(
            "Data products with pricing plans, orders, payments, purchase credentials and "
            "usage billing, under the TM Forum Open API paths (TMF620, TMF622, TMF637, "
            "TMF635, TMF678)."
        ),
    )
    for module in (wellknown, status, dcp, holder, membership, federation, search):
        app.add_routes(module.routes)
    app.add_routes(payments.routes)
    app.add_routes(billing_routes.payout_routes)
    app[CLOCK] = clock
    home.add_root(app, settings)
    pages.install(app, settings)
    app.add_subapp("/tmf-api", _tmf_app())
    app.cleanup_ctx.extend([
        database_context(MIGRATIONS, version_table=VERSION_TABLE),
        http_client_context,
        identity_context,
        services_context,
        job_runner_context,
        member_context,
        console_context,
        portal_context,
    ])
    return app


def _tmf_app() -> web.Application:
    """The TM Forum APIs under ``/tmf-api``: errors in the TMF ``Error`` shape."""
    sub = web.Application()
    sub[ERROR_RENDERER] = render_tmf_error
    sub.add_routes(catalog.routes)
    sub.add_routes(usage_routes.routes)
    sub.add_routes(billing_routes.routes)
    sub.add_routes(ordering.routes)
    sub.add_routes(inventory.routes)
    return sub


# --- identity ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Trust:
    """How the marketplace checks who others are and what they present."""

    resolver: DidResolver
    credentials: CredentialVerifier
    presentations: PresentationVerifier
    #: The trust anchor's trusted-issuers registry (None without a trust anchor).
    registry: TrustedIssuers | None
    #: Members' DCP tokens and presentations (None without a trust anchor).
    members: DcpVerifier | None
    #: Where the marketplace applies for its own membership (None without a trust anchor).
    trust_anchor: TrustAnchorClient | None
    #: Our Credential Service's logic (we are a member: providers read our credentials).
    holder: DcpHolder
    #: Our outbound DCP tokens (to providers' connectors).
    tokens: DcpTokenProvider


TRUST = web.AppKey("marketplace_trust", Trust)
_JOB_RUNNER = web.AppKey("marketplace_job_runner", JobRunner)


async def identity_context(app: web.Application) -> AsyncIterator[None]:
    """Our key, DID and DID document; the resolver and verifiers (closed on the way out)."""
    settings = cast(MarketplaceSettings, app[SETTINGS])
    identity = ServiceIdentity.for_service(
        settings, key_name="marketplace", method=settings.did_method,
        scrypt_n=settings.key_scrypt_n,
        services=[{"id": "#marketplace", "type": "DataMarketplace",
                   "serviceEndpoint": f"{settings.base_url}/tmf-api"},
                  {"id": "#issuer-service", "type": "IssuerService",
                   "serviceEndpoint": f"{settings.base_url}{ISSUER_SERVICE_PATH}"},
                  holder.credential_service_entry(settings.base_url)],
    )
    session = app[GUARDED_HTTP_CLIENT]
    resolver = DidResolver(session=session, allow_loopback=settings.dev)
    resolver.preload(identity.did, identity.document)
    refresh = settings.status_refresh_seconds
    status_checker = StatusListChecker(session=session, allow_loopback=settings.dev, ttl=refresh)
    verifier = CredentialVerifier(resolver, cache=TokenCache(), status_checker=status_checker,
                                  max_cache_seconds=refresh)
    presentations = PresentationVerifier(verifier)
    registry: TrustedIssuers | None = None
    members: DcpVerifier | None = None
    trust_anchor: TrustAnchorClient | None = None
    if settings.trust_anchor_url is not None:
        ta_url = settings.trust_anchor_url.rstrip("/")
        ta_did = settings.trust_anchor_did or did_web_from_url(ta_url)
        registry = TrustedIssuers(session, ta_url, verifier, ta_did, ttl=refresh)
        trust_anchor = TrustAnchorClient(session, ta_url, ta_did)
        members = DcpVerifier(
            identity.signer, resolver, verifier, presentations, registry,
            InMemoryReplayStore(), session, allow_loopback=settings.dev,
            cache_ttl=settings.member_cache_seconds,
            query_timeout=settings.http_timeout_seconds,
        )
    app[IDENTITY] = identity
    app[TRUST] = Trust(
        resolver=resolver, credentials=verifier, presentations=presentations,
        registry=registry, members=members, trust_anchor=trust_anchor,
        holder=DcpHolder(identity.signer, resolver, InMemoryReplayStore(),
                         credential_verifier=verifier),
        tokens=DcpTokenProvider(identity.signer))
    try:
        yield
    finally:
        await status_checker.close()
        await resolver.close()


# --- the services ------------------------------------------------------------------------


def job_kinds(services: Services) -> dict[str, JobHandler]:
    """Every job kind the runner runs, and its handler."""
    return {**services.purchases.jobs(), **services.inventory.jobs(), **services.payments.jobs(),
            **services.billing.jobs()}


async def services_context(app: web.Application) -> AsyncIterator[None]:
    """The services, the operator's key, what ``service.json`` says."""
    settings = cast(MarketplaceSettings, app[SETTINGS])
    engine, identity, trust = app[DB_ENGINE], app[IDENTITY], app[TRUST]
    admin_key = settings.admin_api_key or load_or_create_admin_key(settings.data_dir)
    api_keys = ApiKeyVerifier([hash_api_key(admin_key)])
    runner = JobRunner(engine, {})
    issuer = CredentialIssuer(identity, settings.base_url, PURCHASE_CREDENTIALS,
                              status_max_age=settings.status_list_max_age)
    purchases = Purchases(
        engine, issuer, trust.resolver, app[GUARDED_HTTP_CLIENT],
        SelfIssuedTokenVerifier(trust.resolver, InMemoryReplayStore(), audience=identity.did),
        runner, dev=settings.dev)
    member = _member_services(app, settings, engine)
    orders, inventory_service, payments_service = _order_services(app, settings, runner,
                                                                  purchases)
    billing_context = Context(engine, settings.base_url, app[CLOCK], runner.wake)
    billing = Billing(billing_context, identity.did, settings.operator_fee_percent,
                      settings.billing_run_hours)
    inventory_service.renewal_hooks.append(billing.record_renewal)
    search_service = SearchService(engine)
    services = Services(callers=Callers(api_keys, trust.members), purchases=purchases,
                        usage=UsageService(billing_context, trust.resolver), billing=billing,
                        orders=orders, inventory=inventory_service, payments=payments_service,
                        holder=member[0], membership=member[1], federation=member[2],
                        search=search_service,
                        catalog=CatalogService(
                            engine, settings.base_url,
                            # without a trust anchor we hold no DCP credentials to ask with
                            datasets=member[2] if settings.trust_anchor_url else None,
                            search=search_service))
    for kind, handler in job_kinds(services).items():
        runner.register(kind, handler)
    app[API_KEYS] = api_keys
    app[SERVICES] = services
    app[_JOB_RUNNER] = runner
    app[SERVICE_INFO].update({"did": identity.did, "admin_api_key": admin_key,
                              "openapi": f"{settings.base_url}/openapi.json",
                              "tmf_api": f"{settings.base_url}/tmf-api"})
    yield


def _member_services(app: web.Application, settings: MarketplaceSettings, engine: AsyncEngine
                     ) -> tuple[Holder, Membership | None, Federation]:
    """The marketplace as a member: its holder, its membership, its reading of catalogs."""
    trust, identity, session = app[TRUST], app[IDENTITY], app[GUARDED_HTTP_CLIENT]
    holder_service = Holder(engine, trust.holder, trust.credentials)
    membership_service = None
    if trust.trust_anchor is not None:
        membership_service = Membership(
            engine, identity.signer, session, trust.resolver, holder_service,
            trust.trust_anchor, settings.membership, dev=settings.dev)
    federation_service = Federation(
        engine, session, trust.resolver, trust.tokens, settings.trust_anchor_url,
        interval=settings.harvest_seconds, dev=settings.dev)
    return holder_service, membership_service, federation_service


async def member_context(app: web.Application) -> AsyncIterator[None]:
    """Become a member (apply, collect) and harvest the providers' catalogs, in the background."""
    services = app[SERVICES]
    stopping = asyncio.Event()
    tasks = []
    if services.membership is not None:
        tasks.append(asyncio.create_task(services.membership.run(stopping), name="membership"))
    if services.federation.trust_anchor_url is not None and services.federation.interval > 0:
        tasks.append(asyncio.create_task(services.federation.run(stopping), name="harvest"))
    try:
        yield
    finally:
        stopping.set()
        await asyncio.gather(*tasks)


async def portal_context(app: web.Application) -> AsyncIterator[None]:
    """Members sign in to the portal with their MembershipCredential (OpenID4VP), checked as
    their DCP calls are: the presentation verifier and the trust anchor's registry."""
    trust = app[TRUST]
    if trust.registry is not None:
        app[ORGANISATION_SIGNIN] = Oid4vpVerifier(
            identity=app[IDENTITY], check=MembershipCheck(trust.presentations, trust.registry),
            store=pending_signins(app[CONSOLE]), clock=app[CONSOLE].now)
    yield


def _order_services(app: web.Application, settings: MarketplaceSettings, runner: JobRunner,
                    purchases: Purchases) -> tuple[Orders, Inventory, Payments]:
    """Orders, the inventory and payments, on the configured payment provider."""
    clock = app[CLOCK]
    context = Context(app[DB_ENGINE], settings.base_url, clock, runner.wake)
    inventory_service = Inventory(context, purchases)
    provider = build_provider(settings.payments, app[HTTP_CLIENT], clock)
    invoice = (provider if isinstance(provider, InvoiceProvider)
               else InvoiceProvider(settings.payments, clock))
    orders = Orders(context, inventory_service, provider)
    card = provider if isinstance(provider, CardProvider) else None
    return orders, inventory_service, Payments(context, orders, invoice, card)


async def job_runner_context(app: web.Application) -> AsyncIterator[None]:
    """Run the jobs."""
    runner = app[_JOB_RUNNER]
    await start_periodic(app[DB_ENGINE], (RENEW_JOB, SWEEP_JOB))
    await app[SERVICES].billing.start()
    await runner.start()
    try:
        yield
    finally:
        await runner.stop()
