"""How the connector's own app runs the data plane (``settings.signaling = "data-plane"``).

Importing this module registers the ``data-plane`` signaling implementation.
The connector's app then calls :func:`mount` while it builds its apps (the
data path, refresh and receipt on the main port, under the data-plane URL's
path; decide and settle on the management port, behind the internal key)
and :func:`start` once the control plane is up: the data plane runs its
usage-report jobs on the control plane's job runner (one runner per process,
so neither claims the other's jobs) and ends transfers through the control
plane (:class:`ControlPlaneTerminator`), which tells the consumer over DSP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CollectorRegistry

from connector.dataplane.app import migrate_data_plane, open_data_plane
from connector.dataplane.runtime import DataPlane
from connector.dataplane.signaling import EnforcingSignaling
from connector.dataplane.web import (
    DATA_PLANE,
    INTERNAL_KEYS,
    METRICS,
    DataPlaneMetrics,
    add_data_plane_routes,
)
from connector.domain.transfer import TransferAction
from connector.services.transfers import TransferService
from connector.settings import ConnectorSettings
from connector.signaling import DataPlaneSignaling, SignalingContext, register_signaling
from servicekit.auth import ApiKeyVerifier
from servicekit.jobs import JobRunner

__all__ = ["NAME", "ControlPlaneTerminator", "mount", "start"]

#: The value of ``settings.signaling`` that selects the enforcing data plane.
NAME = "data-plane"


class ControlPlaneTerminator:
    """Ends a transfer the way its owner would: DSP termination, then signaling."""

    def __init__(self, transfers: TransferService) -> None:
        self._transfers = transfers

    async def terminate_transfer(self, transfer_id: str, *, code: str, reason: str) -> None:
        """Terminate ``transfer_id`` through the control plane."""
        await self._transfers.act(transfer_id, TransferAction.TERMINATE, code=code,
                                  reason=reason)


async def _create(context: SignalingContext) -> DataPlaneSignaling:
    settings = cast(ConnectorSettings, context.settings)
    await migrate_data_plane(context.engine, settings.database_schema)
    plane = open_data_plane(settings, context.engine, context.signer)
    return plane.signaling


register_signaling(NAME, _create)


def mount(app: web.Application, management: web.Application,
          settings: ConnectorSettings, registry: CollectorRegistry) -> None:  # fmt: skip
    """Add the data plane's routes to the connector's apps (when it is selected)."""
    if settings.signaling != NAME:
        return
    path = urlsplit(settings.public_data_plane_url).path or "/data"
    metrics = DataPlaneMetrics(registry)
    app[METRICS] = metrics
    management[METRICS] = metrics
    add_data_plane_routes(app, path, internal=False)
    add_data_plane_routes(management, path, public=False)


async def start(app: web.Application, management: web.Application,
                signaling: DataPlaneSignaling, *, transfers: TransferService,
                runner: JobRunner, internal_keys: ApiKeyVerifier) -> Callable[[], Awaitable[None]]:
    """Start the data plane behind ``signaling`` (if it is ours); returns how to stop it."""
    if not isinstance(signaling, EnforcingSignaling) or signaling.plane is None:
        async def nothing() -> None:
            return None

        return nothing
    plane: DataPlane = signaling.plane
    plane.attach(runner=runner, terminator=ControlPlaneTerminator(transfers))
    await plane.start()
    app[DATA_PLANE] = plane
    management[DATA_PLANE] = plane
    management[INTERNAL_KEYS] = internal_keys
    return plane.stop
