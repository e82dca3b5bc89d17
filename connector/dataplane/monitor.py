"""The policy monitor: long-lived transfers are re-checked when their policy can change its mind.

A compiled policy's :class:`~policies.Plan` says when a decision can flip
(``time_boundaries``) and when every permission's time window has closed
(``valid_until``). The monitor sleeps until the next such instant (at most
``monitor_seconds``), and terminates every live transfer whose agreement no
longer permits anything: through the control plane, which sends the DSP
TransferTerminationMessage and then signals the data plane, when it was
handed a :class:`~connector.signaling.Terminator`; otherwise by stopping the
flow in the data plane itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

from connector.dataplane.flows import Flow, FlowRegistry, FlowState
from connector.signaling import Terminator
from servicekit.clock import Clock, system_clock

__all__ = ["PolicyMonitor"]

_log = structlog.get_logger("connector.dataplane")


class PolicyMonitor:
    """Terminates live transfers whose agreement has stopped permitting use."""

    def __init__(
        self,
        flows: FlowRegistry,
        *,
        stop_flow: Callable[[str, str], Awaitable[None]],
        clock: Clock = system_clock,
        max_sleep: float = 5.0,
    ) -> None:
        self._flows = flows
        self._stop_flow = stop_flow
        self._clock = clock
        self._max_sleep = max_sleep
        self.terminator: Terminator | None = None
        self._done: set[tuple[str, int]] = set()
        self._wake = asyncio.Event()
        flows.listeners.append(lambda _flow: self._wake.set())

    def expired(self, flow: Flow, now: float) -> bool:
        """True when no permission of the flow's agreement can hold at ``now`` or later."""
        if flow.compiled is None:
            return False
        until = flow.compiled.plan.valid_until
        return until is not None and now >= until.timestamp()

    async def check(self) -> list[str]:
        """Terminate every live flow whose agreement has run out; the ids terminated."""
        now = self._clock()
        ended = []
        for flow in list(self._flows.flows.values()):
            key = (flow.transfer_id, flow.generation)
            if flow.state is not FlowState.LIVE or key in self._done or not self.expired(flow, now):
                continue
            self._done.add(key)
            reason = "the agreement's time window has closed"
            try:
                if self.terminator is not None:
                    await self.terminator.terminate_transfer(
                        flow.transfer_id, code="agreement-expired", reason=reason)
                else:
                    await self._stop_flow(flow.transfer_id, reason)
            except Exception:
                # another replica may have terminated it first; the next check retries if not
                self._done.discard(key)
                _log.warning("transfer_termination_failed", transfer=flow.transfer_id,
                             exc_info=True)
                continue
            _log.info("transfer_terminated_by_policy", transfer=flow.transfer_id,
                      agreement=flow.agreement_id)
            ended.append(flow.transfer_id)
        return ended

    def next_check_in(self) -> float:
        """Seconds until the next instant some live flow's decision can change."""
        now = self._clock()
        when = now + self._max_sleep
        moment = datetime.fromtimestamp(now, UTC)
        for flow in self._flows.flows.values():
            if flow.state is FlowState.LIVE and flow.compiled is not None:
                boundary = flow.compiled.plan.next_boundary(moment)
                if boundary is not None:
                    when = min(when, boundary.timestamp())
        return max(0.01, when - now)

    async def run(self, stopping: asyncio.Event) -> None:
        """The monitor loop (a background task) until ``stopping`` is set."""
        while not stopping.is_set():
            try:
                await self.check()
            except Exception:
                _log.exception("policy_monitor_failed")
            self._wake.clear()
            wake = asyncio.ensure_future(self._wake.wait())
            stop = asyncio.ensure_future(stopping.wait())
            try:
                await asyncio.wait({wake, stop}, timeout=self.next_check_in(),
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                wake.cancel()
                stop.cancel()
