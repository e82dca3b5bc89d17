"""The typed application keys of the trust anchor, declared in one place."""

from __future__ import annotations

from aiohttp import web

from identity.resolver import DidResolver
from identity.self_issued import SelfIssuedTokenVerifier
from identity.service_identity import ServiceIdentity
from identity.vc_verify import CredentialVerifier
from identity.vp import PresentationVerifier
from servicekit.auth import ApiKeyVerifier
from servicekit.jobs import JobRunner
from trust_anchor.issuance import Issuer
from trust_anchor.onboarding import Onboarding
from trust_anchor.registry import Registry
from trust_anchor.settings import TrustAnchorSettings

__all__ = [
    "ADMIN_KEYS",
    "CREDENTIAL_VERIFIER",
    "IDENTITY",
    "ISSUER",
    "JOB_RUNNER",
    "ONBOARDING",
    "PRESENTATION_VERIFIER",
    "REGISTRY",
    "RESOLVER",
    "SELF_ISSUED_VERIFIER",
    "TA_SETTINGS",
]

TA_SETTINGS = web.AppKey("ta_settings", TrustAnchorSettings)
IDENTITY = web.AppKey("identity", ServiceIdentity)
RESOLVER = web.AppKey("resolver", DidResolver)
CREDENTIAL_VERIFIER = web.AppKey("credential_verifier", CredentialVerifier)
PRESENTATION_VERIFIER = web.AppKey("presentation_verifier", PresentationVerifier)
ISSUER = web.AppKey("issuer", Issuer)
REGISTRY = web.AppKey("registry", Registry)
ONBOARDING = web.AppKey("onboarding", Onboarding)
ADMIN_KEYS = web.AppKey("admin_keys", ApiKeyVerifier)
SELF_ISSUED_VERIFIER = web.AppKey("self_issued_verifier", SelfIssuedTokenVerifier)
JOB_RUNNER = web.AppKey("job_runner", JobRunner)
