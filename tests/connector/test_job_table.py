"""The connector's runner runs exactly the job kinds its app's table lists."""

from __future__ import annotations

from pathlib import Path

from connector.app import job_kinds
from connector.core import SEND_JOB
from connector.keys import SERVICES
from connector.services.delivery import Delivery
from connector.services.negotiations import NegotiationService
from connector.services.transfers import TransferService
from tests.conftest import Database
from tests.connector.harness import start_connector
from tests.factories import connector_settings


async def test_the_job_table_names_every_kind_the_runner_runs(
    tmp_path: Path, database: Database
) -> None:
    connector = await start_connector(connector_settings("halden", tmp_path, database))
    try:
        services = connector.app[SERVICES]
        registered = set(connector.plane.runner._handlers)
        table = job_kinds(connector.app, services, Delivery(connector.plane))
        assert registered == set(table)
        assert {SEND_JOB, NegotiationService.steps_job, TransferService.steps_job} <= registered
        assert SEND_JOB in connector.plane.failure_handlers
    finally:
        await connector.stop()
