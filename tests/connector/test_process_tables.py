"""The action tables and the DSP endpoint tables agree: every message we send has a door.

Each row of a process kind's action table names the message an action sends
and the path it goes to under the counter-party's process URL. The DSP
binding serves that path with exactly that message type, so a row whose path
or message drifted from the endpoint table would send messages no connector
accepts.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from connector.domain.negotiation import NEGOTIATIONS, Negotiation, NegotiationAction, Role
from connector.domain.process import ProcessTable
from connector.domain.transfer import TRANSFERS
from connector.routes.dsp import negotiations, transfers

_APIS = {"negotiations": negotiations.API, "transfers": transfers.API}


@pytest.mark.parametrize("table", [NEGOTIATIONS, TRANSFERS], ids=lambda t: t.name)
def test_every_action_is_sent_to_the_endpoint_that_takes_its_message(
    table: ProcessTable[Any, Any],
) -> None:
    served = {(e.method, e.path): e.message for e in _APIS[table.path].endpoints}
    for action, move in table.moves.items():
        path = table.peer_url("", "{pid}", action)
        assert served.get(("POST", path)) == move.message, (
            f"{table.name} {action}: {path} does not take a {move.message}")


def test_the_route_tables_are_what_the_app_serves() -> None:
    app = web.Application()
    for api in _APIS.values():
        app.add_routes(negotiations.routes if api is negotiations.API else transfers.routes)
    routes = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.method != "HEAD"}
    assert routes == {(e.method, e.path) for api in _APIS.values() for e in api.endpoints}


@pytest.mark.parametrize("table", [NEGOTIATIONS, TRANSFERS], ids=lambda t: t.name)
def test_every_state_but_the_first_is_reached_by_an_action(
    table: ProcessTable[Any, Any],
) -> None:
    reached = {move.target for move in table.moves.values()}
    initial_only = {s for s in table.transitions.initial if not any(
        table.transitions.can(other, s) for other in type(s))}
    assert reached | initial_only == set(type(next(iter(reached))))


def test_the_table_decides_who_may_act() -> None:
    provider = Negotiation(id="p", role=Role.PROVIDER, state="REQUESTED", provider_pid="p",
                           consumer_pid="c", counterparty_id="x", counterparty_address="http://x",
                           created_at=0, updated_at=0)
    consumer = provider.model_copy(update={"role": Role.CONSUMER, "state": "OFFERED"})
    assert provider.can_take(NegotiationAction.AGREE)
    assert not provider.can_take(NegotiationAction.ACCEPT)  # the consumer's move
    assert consumer.can_take(NegotiationAction.ACCEPT)
    assert not consumer.can_take(NegotiationAction.OFFER)  # the provider's move
    assert provider.can_take(NegotiationAction.TERMINATE)
    assert consumer.can_take(NegotiationAction.TERMINATE)
