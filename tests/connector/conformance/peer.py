"""A DSP counter-party for the conformance suite: it plays the TCK's side over HTTP.

The peer is an aiohttp server on 127.0.0.1. As a consumer it receives the
connector's offers, agreements, events and transfer messages at its callback
address; as a provider it answers the connector's contract and transfer
requests. Every message it receives and every answer it gets is validated
against the official DSP 2025-1 schemas in ``../shared/specs``; violations
are collected in :attr:`Peer.violations`, which each test asserts empty.
The peer keeps its own view of each process's state, as the TCK does.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import unused_port

from connector.protocol.schemas import SchemaValidator

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
PARTICIPANT = "TCK_PARTICIPANT"
TOKEN = "tck-token"

_NEXT_STATE = {
    "ContractRequestMessage": "REQUESTED",
    "ContractOfferMessage": "OFFERED",
    "ContractAgreementMessage": "AGREED",
    "ContractAgreementVerificationMessage": "VERIFIED",
    "ContractNegotiationTerminationMessage": "TERMINATED",
    "TransferRequestMessage": "REQUESTED",
    "TransferStartMessage": "STARTED",
    "TransferSuspensionMessage": "SUSPENDED",
    "TransferCompletionMessage": "COMPLETED",
    "TransferTerminationMessage": "TERMINATED",
}
_ANSWERS = {
    "ContractRequestMessage": "ContractNegotiation",
    "TransferRequestMessage": "TransferProcess",
}


def new_pid() -> str:
    """A fresh process id of the peer."""
    return f"urn:uuid:{uuid.uuid4()}"


@dataclass
class Received:
    """One message the connector sent the peer."""

    path: str
    body: dict[str, Any]
    authorization: str | None


class Peer:
    """The counter-party: records, validates and answers DSP messages."""

    def __init__(self, schemas: Path) -> None:
        self.schemas = SchemaValidator(schemas)
        self.received: list[Received] = []
        self.violations: list[str] = []
        self.states: dict[str, str] = {}
        #: The pid the peer gave each process it provides, by the connector's consumerPid.
        self.provider_pids: dict[str, str] = {}
        self._arrived = asyncio.Condition()
        self.port = unused_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._runner: web.AppRunner | None = None
        self.http: aiohttp.ClientSession | None = None
        self.target = ""

    # --- lifecycle -------------------------------------------------------------

    async def start(self, target: str) -> None:
        """Serve on the peer's port; ``target`` is the connector's DSP URL."""
        self.target = target.rstrip("/")
        app = web.Application()
        app.router.add_post("/negotiations/request", self._provider_negotiation)
        app.router.add_post("/transfers/request", self._provider_transfer)
        app.router.add_post("/negotiations/{pid}/{tail:.*}", self._message)
        app.router.add_post("/transfers/{pid}/{tail:.*}", self._message)
        app.router.add_get("/negotiations/{pid}", self._state)
        app.router.add_get("/transfers/{pid}", self._state)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.http = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Stop serving."""
        if self.http is not None:
            await self.http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def reset(self) -> None:
        """Forget the previous test's messages."""
        self.received.clear()
        self.violations.clear()

    # --- receiving ---------------------------------------------------------------

    def _validate(self, body: Any, what: str, message_type: str | None = None) -> None:
        for error in self.schemas.errors(body, message_type):
            self.violations.append(f"{what}: {error['path']}: {error['message']}")

    async def _record(self, request: web.Request) -> dict[str, Any]:
        body = await request.json()
        self._validate(body, f"received {request.path}")
        if request.headers.get("Authorization") != TOKEN:
            self.violations.append(f"{request.path}: wrong Authorization header")
        async with self._arrived:
            self.received.append(Received(request.path, body,
                                          request.headers.get("Authorization")))
            self._arrived.notify_all()
        return dict(body)

    async def _message(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        pid = request.match_info["pid"]
        mine = body.get("consumerPid") if pid == body.get("consumerPid") else body.get(
            "providerPid")
        if pid not in (body.get("consumerPid"), body.get("providerPid")):
            self.violations.append(f"{request.path}: path pid is in neither pid of the body")
        self._advance(str(mine), body)
        return web.Response(status=200)

    def _advance(self, pid: str, body: dict[str, Any]) -> None:
        kind = body.get("@type", "")
        if kind == "ContractNegotiationEventMessage":
            self.states[pid] = str(body.get("eventType"))
        elif kind in _NEXT_STATE:
            self.states[pid] = _NEXT_STATE[kind]

    async def _provider_negotiation(self, request: web.Request) -> web.Response:
        return await self._provided(request, "ContractNegotiation")

    async def _provider_transfer(self, request: web.Request) -> web.Response:
        return await self._provided(request, "TransferProcess")

    async def _provided(self, request: web.Request, answer_type: str) -> web.Response:
        """The peer as provider: a new process of its own, REQUESTED, answered 201."""
        body = await self._record(request)
        provider_pid = new_pid()
        self.states[provider_pid] = "REQUESTED"
        self.provider_pids[str(body.get("consumerPid"))] = provider_pid
        return web.json_response({"@context": CONTEXT, "@type": answer_type,
                                  "providerPid": provider_pid,
                                  "consumerPid": body.get("consumerPid"),
                                  "state": "REQUESTED"}, status=201)

    async def _state(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        return web.json_response({"state": self.states.get(pid, "UNKNOWN")})

    async def expect(self, message_type: str, *, timeout: float = 5.0,
                     **pids: str) -> dict[str, Any]:
        """The next message of ``message_type`` for the given pids (waits up to ``timeout``)."""

        def match(item: Received) -> bool:
            return item.body.get("@type") == message_type and all(
                item.body.get(key) == value for key, value in pids.items()
            )

        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: any(match(i) for i in self.received)), timeout
            )
            for index, item in enumerate(self.received):
                if match(item):
                    del self.received[index]
                    return item.body
        raise AssertionError("unreachable")

    async def quiet(self, seconds: float = 0.3, **pids: str) -> list[dict[str, Any]]:
        """Messages for ``pids`` that arrive within ``seconds`` (expected: none)."""
        await asyncio.sleep(seconds)
        return [i.body for i in self.received
                if all(i.body.get(k) == v for k, v in pids.items())]

    # --- sending -----------------------------------------------------------------

    async def send(self, path: str, body: dict[str, Any], *, expect: int,
                   mine: str | None = None) -> dict[str, Any]:
        """POST ``body`` to the connector's ``path``; check the status and the answer's schema.

        ``mine`` is the peer's own pid of the process: on success the peer's
        view of its state follows the message it sent.
        """
        assert self.http is not None
        self._validate(body, f"sent {path}")
        seen = len(self.received)
        async with self.http.post(self.target + path, json=body,
                                  headers={"Authorization": TOKEN}) as resp:
            answer = await resp.json()
            assert resp.status == expect, (path, resp.status, answer)
        if expect >= 400:
            error_type = {"negotiations": "ContractNegotiationError",
                          "transfers": "TransferError"}.get(path.split("/")[1], "CatalogError")
            self._validate(answer, f"error from {path}", error_type)
        elif body.get("@type") in _ANSWERS:
            self._validate(answer, f"answer from {path}", _ANSWERS[str(body["@type"])])
        else:
            self._validate(answer, f"answer from {path}")
        # The connector may already have sent its next message (e.g. a termination)
        # before answering ours: then that message, not ours, set our state.
        overtaken = mine is not None and any(
            mine in (r.body.get("consumerPid"), r.body.get("providerPid"))
            for r in self.received[seen:])
        if 200 <= expect < 300 and mine is not None and not overtaken:
            self._advance(mine, body)
        return dict(answer)

    async def get(self, path: str, *, expect: int = 200) -> dict[str, Any]:
        """GET the connector's ``path``; check the status and schema."""
        assert self.http is not None
        async with self.http.get(self.target + path, headers={"Authorization": TOKEN}) as resp:
            answer = await resp.json()
            assert resp.status == expect, (path, resp.status, answer)
        self._validate(answer, f"answer from {path}")
        return dict(answer)

    async def connector_state(self, kind: str, pid: str, states: set[str],
                              timeout: float = 5.0) -> str:
        """Poll the connector's DSP state of ``pid`` until it is one of ``states``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            state = (await self.get(f"/{kind}/{pid}"))["state"]
            if state in states:
                return str(state)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{kind}/{pid} is {state}, expected {states}")
            await asyncio.sleep(0.01)

    # --- messages the peer sends -------------------------------------------------------

    @staticmethod
    def message(message_type: str, **members: Any) -> dict[str, Any]:
        """A DSP message in the plain JSON form."""
        return {"@context": CONTEXT, "@type": message_type, **members}
