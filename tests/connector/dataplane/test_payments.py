"""A ``payAmount`` constraint through the data plane: refused until enough is paid.

The payment state is the outer world (a payment provider, the marketplace's
orders), so it is the one thing faked: a table of what was paid per
agreement, read by the data plane at every decision that needs it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from aiohttp.test_utils import TestServer

from connector.dataplane.flows import Flow
from connector.dataplane.store.tables import audit
from connector.domain.catalog import Backend
from policies.presets import PlanTerms
from tests.conftest import Database
from tests.connector.dataplane.harness import SEEN, SMALL_BODY, bearer, fetch, serve_data_plane
from tests.factories import agreement, data_flow, data_plane_settings


class PaymentProvider:
    """What was paid under each agreement (amount, currency), and who asked."""

    def __init__(self) -> None:
        self.paid: dict[str, tuple[Decimal, str]] = {}
        self.asked: list[str] = []

    def __call__(self, flow: Flow) -> tuple[Decimal, str] | None:
        self.asked.append(flow.agreement_id)
        return self.paid.get(flow.agreement_id)


def at_least(amount: str, currency: str) -> PlanTerms:
    """Use once at least ``amount`` ``currency`` is paid."""
    return PlanTerms(constraints=({
        "leftOperand": "payAmount", "operator": "gteq",
        "rightOperand": {"@value": amount, "@type": "xsd:decimal"}, "unit": currency},))


async def test_pay_amount_is_enforced_per_request(
    database: Database, tmp_path: Path, api: Backend, backend: TestServer
) -> None:
    payments = PaymentProvider()
    running = await serve_data_plane(data_plane_settings(database, tmp_path), payments=payments)
    try:
        policy = agreement(at_least("5.00", "EUR"))
        paid_for = str(policy["@id"])
        edr = await running.plane.signaling.start(data_flow(policy, api))
        unpaid = agreement(at_least("5.00", "EUR"))
        other = await running.plane.signaling.start(data_flow(unpaid, api))
        async with aiohttp.ClientSession() as http:
            # nothing paid yet
            async with http.get(running.url, headers=bearer(edr)) as response:
                assert response.status == 403
                assert response.content_type == "application/problem+json"
                problem = await response.json()
            assert problem["code"] == "policy-denied"
            # too little, then the right amount in another currency
            for paid in ((Decimal("4.99"), "EUR"), (Decimal("5.00"), "NOK")):
                payments.paid[paid_for] = paid
                assert (await fetch(http, running.url, bearer(edr)))[0] == 403, paid
            assert backend.app[SEEN] == []
            # enough, in the constraint's currency: served, and only under that agreement
            payments.paid[paid_for] = (Decimal("5.00"), "EUR")
            assert await fetch(http, running.url, bearer(edr)) == (200, SMALL_BODY)
            payments.paid[paid_for] = (Decimal("12.50"), "EUR")
            assert await fetch(http, running.url, bearer(edr)) == (200, SMALL_BODY)
            assert (await fetch(http, running.url, bearer(other)))[0] == 403
        assert len(backend.app[SEEN]) == 2
        assert set(payments.asked) == {paid_for, str(unpaid["@id"])}
        await running.plane.flush()
        async with running.plane.db.connect() as conn:
            bodies = (await conn.execute(sa.select(audit.c.body).where(
                audit.c.transfer_id == edr.transfer_id).order_by(audit.c.seq))).scalars().all()
        assert [json.loads(b)["decision"] for b in bodies] == ["deny"] * 3 + ["permit"] * 2
    finally:
        await running.server.close()
