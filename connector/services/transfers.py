"""Transfer processes, both roles: inbound DSP messages, owner actions, background decisions.

The provider checks a transfer request against the agreement (it exists, is
the caller's, its negotiation is finalized) and the format (HTTP pull), asks
the data plane to prepare, and by default starts the transfer at once: the
data plane mints the endpoint data reference, which travels in the
TransferStartMessage. Suspension, completion and termination are signalled
to the data plane after they commit. As in negotiations, every change is a
compare-and-set through :data:`~connector.domain.transfer.TRANSFER_TRANSITIONS`
and every outbound message goes through the job queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog

from connector.core import ControlPlane, Tx, new_pid
from connector.domain.caller import Caller
from connector.domain.negotiation import NegotiationState, Role
from connector.domain.transfer import (
    PULL_FORMAT,
    TRANSFER_ACTION_TARGET,
    TRANSFER_TRANSITIONS,
    Transfer,
    TransferAction,
    TransferEvent,
    TransferState,
)
from connector.errors import ProcessNotFound
from connector.protocol import messages
from connector.protocol.schemas import validate_message
from connector.services.addresses import check_callback, check_counterparty
from connector.services.negotiations import retrying
from connector.services.steps import Step, steps_from_payload, steps_to_payload
from connector.signaling import DataFlow, EndpointDataReference
from connector.store import catalog as catalog_store
from connector.store import processes
from connector.store.agreements import get_agreement
from servicekit.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from servicekit.jobs import Job

__all__ = ["STEPS_JOB", "TransferScript", "TransferService"]

STEPS_JOB = "connector.transfer.steps"
PROVIDER_PID = "{providerPid}"
CONSUMER_PID = "{consumerPid}"

_log = structlog.get_logger("connector.transfers")
_A = TransferAction
_S = TransferState


class TransferScript(Protocol):
    """Overrides the default decisions (the TCK's scripted counter-party behaviour)."""

    def transfer_steps(self, transfer: Transfer, event: str) -> list[Step] | None:
        """The steps for ``event``, or None to use the default decision."""
        ...


def _standing(caller: Caller) -> list[dict[str, Any]] | None:
    """What is kept of the caller's credentials with a transfer (``None``: nothing verified)."""
    return [item.to_json() for item in caller.standing] or None


def _reason_text(message: Mapping[str, Any]) -> str | None:
    reason = message.get("reason")
    return "; ".join(str(r) for r in reason) if isinstance(reason, list) else None


class TransferService:
    """All transfer process behaviour of one connector."""

    def __init__(self, plane: ControlPlane, script: TransferScript | None = None) -> None:
        self.plane = plane
        self.script = script
        plane.runner.register(STEPS_JOB, self._steps_job)

    # --- reading -------------------------------------------------------------------

    async def get(self, transfer_id: str) -> Transfer:
        """Our transfer ``transfer_id`` (owner view)."""
        async with self.plane.read() as conn:
            found = await processes.get_transfer(conn, transfer_id)
        if found is None:
            raise ProcessNotFound(f"no transfer {transfer_id}")
        return found

    @staticmethod
    def _owned(found: Transfer | None, caller: Caller, pid: str) -> Transfer:
        if found is None or found.counterparty_id != caller.id:
            raise ProcessNotFound(f"no transfer {pid} with you")
        return found

    async def get_for_caller(self, caller: Caller, pid: str) -> Transfer:
        """The transfer ``pid`` if ``caller`` is its counter-party, else 404."""
        async with self.plane.read() as conn:
            return self._owned(await processes.get_transfer(conn, pid), caller, pid)

    async def find(self, **filters: Any) -> list[Transfer]:
        """Transfers for the owner, newest first."""
        async with self.plane.read() as conn:
            return await processes.list_transfers(conn, **filters)

    async def edr(self, transfer_id: str) -> EndpointDataReference:
        """The endpoint data reference of a started pull transfer we consume."""
        transfer = await self.get(transfer_id)
        if transfer.role is not Role.CONSUMER:
            raise Conflict("only the consumer side holds an endpoint data reference",
                           code="edr-not-available")
        if transfer.state is not _S.STARTED or not transfer.data_address:
            raise Conflict(f"the transfer is {transfer.state}; the endpoint data reference "
                           "is available once it is STARTED", code="edr-not-available")
        edr = EndpointDataReference.from_data_address(transfer.id, transfer.data_address)
        if edr is None:
            raise Conflict("the provider sent no usable endpoint", code="edr-not-available")
        return edr

    async def _flow(self, transfer: Transfer) -> DataFlow:
        async with self.plane.read() as conn:
            agreement = await get_agreement(conn, transfer.agreement_id, role=Role.PROVIDER)
            dataset = await catalog_store.get_dataset(conn, transfer.dataset_id or "")
            negotiation = (await processes.get_negotiation(conn, agreement.negotiation_id)
                           if agreement is not None and agreement.negotiation_id else None)
        caller = (Caller.from_summary(negotiation.caller)
                  if negotiation is not None and negotiation.caller else None)
        return DataFlow(
            transfer_id=transfer.id,
            agreement_id=transfer.agreement_id,
            dataset_id=transfer.dataset_id or "",
            consumer_id=transfer.counterparty_id,
            format=transfer.format,
            agreement=agreement.policy if agreement is not None else {},
            backend=dataset.backend if dataset is not None else None,
            credentials=caller.credentials() if caller is not None else {},
            consumer_pid=transfer.consumer_pid,
        )

    # --- inbound -------------------------------------------------------------------

    async def on_request(self, caller: Caller, message: Mapping[str, Any]) -> tuple[
        Transfer, bool
    ]:
        """A TransferRequestMessage (we are the provider)."""
        callback = await check_callback(self.plane, message.get("callbackAddress"))
        agreement_id = str(message["agreementId"])
        transfer_format = str(message["format"])
        consumer_pid = str(message["consumerPid"])
        async with self.plane.read() as conn:
            agreement = await get_agreement(conn, agreement_id, role=Role.PROVIDER)
            negotiation = (
                await processes.get_negotiation(conn, agreement.negotiation_id)
                if agreement is not None and agreement.negotiation_id else None
            )
            existing = await processes.list_transfers(
                conn, role=Role.PROVIDER, consumer_pid=consumer_pid, counterparty_id=caller.id,
                limit=1,
            )
        if existing:
            return existing[0], False
        if agreement is None or agreement.assignee != caller.id:
            raise InvalidRequest(f"no agreement {agreement_id} with you",
                                 code="agreement-not-found")
        if negotiation is not None and negotiation.state is not NegotiationState.FINALIZED:
            raise InvalidRequest("the agreement's negotiation is not finalized",
                                 code="agreement-not-finalized")
        if transfer_format != PULL_FORMAT:
            raise InvalidRequest(f"format {transfer_format} is not supported; use {PULL_FORMAT}",
                                 code="format-unsupported")
        now = time.time()
        pid = new_pid()
        transfer = Transfer(
            id=pid, role=Role.PROVIDER,
            state=TRANSFER_TRANSITIONS.check(None, _S.REQUESTED),
            provider_pid=pid, consumer_pid=consumer_pid, agreement_id=agreement_id,
            dataset_id=agreement.dataset_id, counterparty_id=caller.id,
            counterparty_address=callback, format=transfer_format,
            data_address=message.get("dataAddress"), standing=_standing(caller),
            created_at=now, updated_at=now,
        )
        flow = await self._flow(transfer)
        await self.plane.signaling.prepare(flow)
        steps = self._steps(transfer, TransferEvent.REQUESTED)
        edr = None
        if steps and steps[0].delay == 0 and steps[0].action == _A.START:
            edr = await self.plane.signaling.start(flow)
        async with self.plane.transaction() as tx:
            await processes.insert_transfer(tx.conn, transfer)
            tx.record(pid, transfer.state.value)
            await self._take(tx, transfer, steps, edr=edr)
        _log.info("transfer_requested", transfer=pid, caller=caller.id, agreement=agreement_id)
        return transfer, True

    async def _inbound(
        self,
        caller: Caller,
        pid: str,
        message: Mapping[str, Any],
        *,
        target: TransferState,
        changes: Callable[[Transfer], dict[str, Any]] | None = None,
        event: TransferEvent | None = None,
    ) -> Transfer:
        async def attempt() -> Transfer:
            async with self.plane.transaction() as tx:
                current = self._owned(await processes.get_transfer(tx.conn, pid), caller, pid)
                update = self._pid_updates(current, message)
                if (
                    target is _S.STARTED
                    and current.role is Role.PROVIDER
                    and current.state is not _S.SUSPENDED
                ):
                    raise IllegalTransition(
                        "a consumer may only start (resume) a suspended transfer",
                        extra={"from": current.state.value, "to": target.value},
                    )
                TRANSFER_TRANSITIONS.check(current.state, target)
                if changes is not None:
                    update |= changes(current)
                updated = await processes.update_transfer(tx.conn, current, state=target,
                                                          **update)
                tx.record(pid, target.value)
                if current.role is Role.PROVIDER:
                    tx.after_commit.append(lambda: self._signal(updated))
                if event is not None:
                    await self._take(tx, updated, self._steps(updated, event))
                return updated

        updated = await retrying(attempt)
        _log.info("transfer_moved", transfer=pid, state=target.value, by="counter-party")
        return updated

    async def _signal(self, transfer: Transfer) -> None:
        signaling = self.plane.signaling
        if transfer.state is _S.STARTED:
            await signaling.start(await self._flow(transfer))
        elif transfer.state is _S.SUSPENDED:
            await signaling.suspend(transfer.id, transfer.error_reason)
        elif transfer.state in (_S.COMPLETED, _S.TERMINATED):
            await signaling.terminate(transfer.id, transfer.error_reason)

    @staticmethod
    def _pid_updates(current: Transfer, message: Mapping[str, Any]) -> dict[str, Any]:
        ours, theirs = (
            ("providerPid", "consumerPid") if current.role is Role.PROVIDER
            else ("consumerPid", "providerPid")
        )
        if message.get(ours) not in (None, current.id):
            raise InvalidRequest(f"{ours} does not match this transfer", code="pid-mismatch")
        known = current.consumer_pid if current.role is Role.PROVIDER else current.provider_pid
        given = message.get(theirs)
        if known and given not in (None, known):
            raise InvalidRequest(f"{theirs} does not match this transfer", code="pid-mismatch")
        if not known and isinstance(given, str) and given:
            return {"provider_pid": given} if theirs == "providerPid" else {"consumer_pid": given}
        return {}

    async def on_start(self, caller: Caller, pid: str, message: Mapping[str, Any]) -> Transfer:
        """TransferStartMessage: the provider started (or either side resumed) the transfer."""
        address = message.get("dataAddress")

        def changes(current: Transfer) -> dict[str, Any]:
            if current.role is Role.CONSUMER and isinstance(address, Mapping):
                return {"data_address": dict(address)}
            if current.role is Role.PROVIDER and caller.standing:
                return {"standing": _standing(caller)}  # the consumer resumes: as it is now
            return {}

        async with self.plane.read() as conn:
            current = self._owned(await processes.get_transfer(conn, pid), caller, pid)
        event = TransferEvent.STARTED if current.role is Role.CONSUMER else None
        return await self._inbound(caller, pid, message, target=_S.STARTED, changes=changes,
                                   event=event)

    async def on_completion(self, caller: Caller, pid: str,
                            message: Mapping[str, Any]) -> Transfer:
        """TransferCompletionMessage."""
        return await self._inbound(caller, pid, message, target=_S.COMPLETED)

    async def on_suspension(self, caller: Caller, pid: str,
                            message: Mapping[str, Any]) -> Transfer:
        """TransferSuspensionMessage."""
        return await self._inbound(
            caller, pid, message, target=_S.SUSPENDED,
            changes=lambda _c: {"error_code": message.get("code"),
                                "error_reason": _reason_text(message)},
        )

    async def on_termination(self, caller: Caller, pid: str,
                             message: Mapping[str, Any]) -> Transfer:
        """TransferTerminationMessage."""
        return await self._inbound(
            caller, pid, message, target=_S.TERMINATED,
            changes=lambda _c: {"error_code": message.get("code") or "terminated-by-peer",
                                "error_reason": _reason_text(message)
                                or "terminated by the counter-party"},
        )

    # --- owner and consumer-initiated --------------------------------------------------

    async def start(
        self,
        *,
        agreement_id: str,
        format: str = PULL_FORMAT,
        counterparty_address: str | None = None,
    ) -> Transfer:
        """Ask the provider to transfer under ``agreement_id`` (we are the consumer)."""
        async with self.plane.read() as conn:
            agreement = await get_agreement(conn, agreement_id, role=Role.CONSUMER)
        if agreement is None:
            raise NotFound(f"we hold no agreement {agreement_id}", code="agreement-not-found")
        if counterparty_address is not None:
            counterparty_address = await check_counterparty(self.plane, counterparty_address)
        address = (counterparty_address or agreement.counterparty_address or "").rstrip("/")
        if not address.startswith(("http://", "https://")):
            raise InvalidRequest("the provider's DSP address is unknown; give "
                                 "counterparty_address", code="counterparty-address-missing")
        pid = new_pid()
        message = messages.transfer_request(consumer_pid=pid, agreement_id=agreement_id,
                                            format=format, callback_address=self.plane.dsp_url)
        validate_message(message)
        now = time.time()
        transfer = Transfer(
            id=pid, role=Role.CONSUMER, state=TRANSFER_TRANSITIONS.check(None, _S.REQUESTED),
            provider_pid=None, consumer_pid=pid, agreement_id=agreement_id,
            dataset_id=agreement.dataset_id, counterparty_id=agreement.counterparty_id,
            counterparty_address=address, format=format, created_at=now, updated_at=now,
        )
        async with self.plane.transaction() as tx:
            await processes.insert_transfer(tx.conn, transfer)
            tx.record(pid, transfer.state.value)
            await tx.send(process_kind="transfer", process_id=pid,
                          url=f"{address}/transfers/request",
                          audience=agreement.counterparty_id, message=message)
            await self._take(tx, transfer, self._steps(transfer, TransferEvent.INITIATED))
        _log.info("transfer_started", transfer=pid, agreement=agreement_id)
        return transfer

    async def act(self, transfer_id: str, action: TransferAction, *, code: str | None = None,
                  reason: str | None = None, rest: list[Step] | None = None) -> Transfer:
        """Take ``action`` now (the owner's move, or a decided step)."""

        async def attempt() -> Transfer:
            async with self.plane.read() as conn:
                current = await processes.get_transfer(conn, transfer_id)
            if current is None:
                raise ProcessNotFound(f"no transfer {transfer_id}")
            if not current.can_take(action):
                raise IllegalTransition(
                    f"a {current.role.value} cannot {action.value} a transfer in "
                    f"{current.state}",
                    extra={"from": current.state.value, "action": action.value},
                )
            edr = None
            if action is _A.START and current.role is Role.PROVIDER:
                edr = await self.plane.signaling.start(await self._flow(current))
            async with self.plane.transaction() as tx:
                updated = await self._apply(tx, current, action, edr=edr, code=code,
                                            reason=reason)
                if rest:
                    await tx.enqueue(STEPS_JOB, {"id": transfer_id,
                                                 "steps": steps_to_payload(rest)},
                                     delay=rest[0].delay)
            return updated

        return await retrying(attempt)

    async def _apply(
        self,
        tx: Tx,
        current: Transfer,
        action: TransferAction,
        *,
        edr: EndpointDataReference | None,
        code: str | None,
        reason: str | None,
    ) -> Transfer:
        target = TRANSFER_ACTION_TARGET[action]
        changes: dict[str, Any] = {"state": target}
        provider_pid = current.provider_pid or PROVIDER_PID
        consumer_pid = current.consumer_pid or CONSUMER_PID
        path_pid = consumer_pid if current.role is Role.PROVIDER else provider_pid
        base = f"{current.counterparty_address}/transfers/{path_pid}"
        pids = {"provider_pid": provider_pid, "consumer_pid": consumer_pid}
        if action is _A.START:
            address = edr.to_data_address() if edr is not None else None
            message = messages.transfer_start(data_address=address, **pids)
            url = f"{base}/start"
        elif action is _A.SUSPEND:
            changes |= {"error_code": code, "error_reason": reason}
            message = messages.transfer_suspension(code=code, reason=reason, **pids)
            url = f"{base}/suspension"
        elif action is _A.COMPLETE:
            message = messages.transfer_completion(**pids)
            url = f"{base}/completion"
        else:
            changes |= {"error_code": code or "terminated",
                        "error_reason": reason or f"terminated by the {current.role.value}"}
            message = messages.transfer_termination(code=code, reason=reason, **pids)
            url = f"{base}/termination"
        updated = await processes.update_transfer(tx.conn, current, **changes)
        tx.record(current.id, target.value)
        if current.role is Role.PROVIDER and action is not _A.START:
            tx.after_commit.append(lambda: self._signal(updated))
        await tx.send(process_kind="transfer", process_id=current.id, url=url,
                      audience=current.counterparty_id, message=message)
        _log.info("transfer_moved", transfer=current.id, state=target.value,
                  action=action.value)
        return updated

    # --- decisions ---------------------------------------------------------------------

    def _steps(self, transfer: Transfer, event: TransferEvent) -> list[Step]:
        steps = None
        if self.script is not None:
            steps = self.script.transfer_steps(transfer, event.value)
        if steps is None:
            steps = self._default_steps(transfer, event)
        return steps

    async def _take(self, tx: Tx, current: Transfer, steps: list[Step], *,
                    edr: EndpointDataReference | None = None) -> None:
        """Take the first step now (unless it waits) and schedule the rest as jobs."""
        if not steps:
            return
        first, rest = steps[0], steps[1:]
        if first.delay > 0:
            await tx.enqueue(STEPS_JOB, {"id": current.id, "steps": steps_to_payload(steps)},
                             delay=first.delay)
            return
        action = TransferAction(first.action)
        if not current.can_take(action):
            _log.info("transfer_step_skipped", transfer=current.id, action=action.value,
                      state=current.state.value)
            return
        if action is _A.START and current.role is Role.PROVIDER and edr is None:
            edr = await self.plane.signaling.start(await self._flow(current))
        await self._apply(tx, current, action, edr=edr, code=None, reason=None)
        if rest:
            await tx.enqueue(STEPS_JOB, {"id": current.id, "steps": steps_to_payload(rest)},
                             delay=rest[0].delay)

    async def _steps_job(self, job: Job) -> None:
        """Scheduled steps (a scripted pause): take them now."""
        steps = steps_from_payload(job.payload["steps"])
        if not steps:
            return
        first = Step(steps[0].action)
        try:
            await self.act(str(job.payload["id"]), TransferAction(first.action),
                           rest=steps[1:])
        except IllegalTransition:
            _log.info("transfer_step_skipped", transfer=job.payload["id"],
                      action=first.action)

    @staticmethod
    def _default_steps(current: Transfer, event: TransferEvent) -> list[Step]:
        if event is TransferEvent.REQUESTED and current.role is Role.PROVIDER:
            return [Step(_A.START.value)]
        return []
