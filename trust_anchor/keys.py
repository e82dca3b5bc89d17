"""The typed application keys of the trust anchor, declared in one place.

The settings are servicekit's ``SETTINGS`` key (set by ``create_service_app``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from identity.service_identity import ServiceIdentity
from servicekit.auth import ApiKeyVerifier
from trust_anchor.services.dcp import DcpIssuance
from trust_anchor.services.issuance import Issuance
from trust_anchor.services.oid4vci import Oid4vci
from trust_anchor.services.onboarding import Onboarding
from trust_anchor.services.registry import Registry
from trust_anchor.services.vc_api import VcApi

__all__ = ["API_KEYS", "IDENTITY", "SERVICES", "Services"]


@dataclass(frozen=True)
class Services:
    """What route handlers call."""

    onboarding: Onboarding
    registry: Registry
    issuance: Issuance
    oid4vci: Oid4vci
    dcp: DcpIssuance
    vc_api: VcApi


SERVICES = web.AppKey("services", Services)
#: The operator's API keys.
API_KEYS = web.AppKey("api_keys", ApiKeyVerifier)
#: The trust anchor's own DID, keys and DID document.
IDENTITY = web.AppKey("identity", ServiceIdentity)
