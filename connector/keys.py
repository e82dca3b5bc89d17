"""The typed application keys of the connector's apps, declared in one place."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from connector.core import ControlPlane
from connector.services.agreements import AgreementTermination
from connector.services.approvals import ApprovalViews
from connector.services.audit import AuditService
from connector.services.catalog import CatalogService
from connector.services.dashboard import DashboardService
from connector.services.datasets import DatasetEditor
from connector.services.delivery import DspClient
from connector.services.holder import HolderService
from connector.services.members import MembersService
from connector.services.membership import MembershipService
from connector.services.negotiations import NegotiationService
from connector.services.receipts import ReceiptService
from connector.services.transfers import TransferService
from servicekit.auth import ApiKeyVerifier

__all__ = ["API_KEYS", "CONTROL_PLANE", "SERVICES", "Services"]


@dataclass(frozen=True)
class Services:
    """What route handlers call."""

    catalog: CatalogService
    negotiations: NegotiationService
    transfers: TransferService
    client: DspClient
    holder: HolderService
    membership: MembershipService
    datasets: DatasetEditor
    approvals: ApprovalViews
    agreements: AgreementTermination
    dashboard: DashboardService
    audit: AuditService
    members: MembersService
    receipts: ReceiptService


CONTROL_PLANE = web.AppKey("control_plane", ControlPlane)
SERVICES = web.AppKey("services", Services)
API_KEYS = web.AppKey("api_keys", ApiKeyVerifier)
