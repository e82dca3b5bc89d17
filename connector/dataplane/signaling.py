"""The data plane's side of data-plane signaling (:class:`connector.signaling.DataPlaneSignaling`).

``prepare`` records the flow; ``start`` makes it live (or live again) and
mints the endpoint data reference; ``suspend`` and ``terminate`` stop it and
bump its token generation, so every token issued before stops working. Each
change returns only once every live worker has applied it (see
:mod:`connector.dataplane.flows`), so "suspended" means suspended everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from connector.dataplane.flows import FlowRegistry, FlowState, policy_version
from connector.dataplane.tokens import AccessTokens
from connector.signaling import DataFlow, EndpointDataReference
from policies.values import parse_datetime

__all__ = ["EnforcingSignaling"]

#: Where a flow without a backend points: every request answers 502.
_NO_BACKEND = '{"type":"http","address":"unconfigured:","properties":{}}'


def _agreed_at(agreement: Mapping[str, Any]) -> float:
    stamp = agreement.get("timestamp")
    if isinstance(stamp, Mapping):
        stamp = stamp.get("@value")
    if isinstance(stamp, str):
        try:
            return parse_datetime(stamp).timestamp()
        except ValueError:
            pass
    return time.time()


class EnforcingSignaling:
    """Signaling that the data plane serves: flows in the store, tokens from our key."""

    def __init__(self, flows: FlowRegistry, tokens: AccessTokens, *, endpoint: str,
                 ack_timeout: float) -> None:  # fmt: skip
        self._flows = flows
        self._tokens = tokens
        #: The data plane this signaling belongs to (set by :class:`DataPlane`).
        self.plane: Any = None
        self.endpoint = endpoint
        self._ack_timeout = ack_timeout

    @staticmethod
    def _values(flow: DataFlow) -> dict[str, Any]:
        policy = dict(flow.agreement)
        return {
            "agreement_id": flow.agreement_id,
            "dataset_id": flow.dataset_id,
            "consumer_id": flow.consumer_id,
            "policy": orjson.dumps(policy).decode(),
            "policy_version": policy_version(policy),
            "backend": flow.backend.model_dump_json() if flow.backend else _NO_BACKEND,
            "agreed_at": _agreed_at(policy),
            "credentials": orjson.dumps(
                {k: [dict(s) for s in v] for k, v in flow.credentials.items()}).decode(),
            "consumer_pid": flow.consumer_pid,
        }

    async def prepare(self, flow: DataFlow) -> None:
        """Record the flow (not served until started)."""
        async with self._flows.engine.connect() as conn:
            if await self._flows.get_row(conn, flow.transfer_id) is not None:
                return
        await self._flows.save(flow.transfer_id, state=FlowState.PREPARED,
                               create=self._values(flow))

    async def start(self, flow: DataFlow) -> EndpointDataReference:
        """Serve the flow and hand out its endpoint data reference."""
        epoch = await self._flows.save(flow.transfer_id, state=FlowState.LIVE,
                                       create=self._values(flow))
        assert epoch is not None
        await self._flows.wait_applied(epoch, within=self._ack_timeout)
        async with self._flows.engine.connect() as conn:
            row = await self._flows.get_row(conn, flow.transfer_id)
        assert row is not None
        token, expires = self._tokens.issue(
            transfer_id=flow.transfer_id, agreement_id=flow.agreement_id,
            dataset_id=flow.dataset_id, consumer_id=flow.consumer_id,
            generation=int(row["generation"]))
        return EndpointDataReference(transfer_id=flow.transfer_id, endpoint=self.endpoint,
                                     token=token, expires_at=expires)

    async def suspend(self, transfer_id: str, reason: str | None = None) -> None:
        """Stop serving until started again; every token issued so far stops working."""
        await self._stop(transfer_id, FlowState.SUSPENDED, reason)

    async def terminate(self, transfer_id: str, reason: str | None = None) -> None:
        """Stop serving for good."""
        await self._stop(transfer_id, FlowState.TERMINATED, reason)

    async def _stop(self, transfer_id: str, state: FlowState, reason: str | None) -> None:
        epoch = await self._flows.save(transfer_id, state=state, bump_generation=True,
                                       reason=reason)
        if epoch is not None:
            await self._flows.wait_applied(epoch, within=self._ack_timeout)
