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
from collections.abc import Mapping
from typing import Any

from connector.core import ControlPlane, Tx, new_pid
from connector.domain.caller import Caller
from connector.domain.negotiation import NegotiationState, Role
from connector.domain.policy import required_credentials
from connector.domain.transfer import (
    PULL_FORMAT,
    TRANSFER_TRANSITIONS,
    TRANSFERS,
    Transfer,
    TransferAction,
    TransferEvent,
    TransferState,
)
from connector.protocol import messages
from connector.protocol.schemas import validate_message
from connector.services.addresses import check_callback, check_counterparty
from connector.services.decisions import TransferScript, transfer_steps
from connector.services.process import ProcessService
from connector.services.steps import Step, steps_from_payload
from connector.signaling import DataFlow, EndpointDataReference
from connector.store import catalog as catalog_store
from connector.store import processes
from connector.store.agreements import get_agreement
from servicekit.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from servicekit.jobs import Job

__all__ = ["STEPS_JOB", "TransferScript", "TransferService"]

STEPS_JOB = "connector.transfer.steps"

_A = TransferAction
_S = TransferState


def _standing(caller: Caller) -> list[dict[str, Any]] | None:
    """What is kept of the caller's credentials with a transfer (``None``: nothing verified)."""
    return [item.to_json() for item in caller.standing] or None


def _reason_text(message: Mapping[str, Any]) -> str | None:
    reason = message.get("reason")
    return "; ".join(str(r) for r in reason) if isinstance(reason, list) else None


class TransferService(ProcessService[Transfer, TransferState, TransferAction]):
    """All transfer process behaviour of one connector."""

    kind = TRANSFERS
    rows = processes.TRANSFER_ROWS
    steps_job = STEPS_JOB

    def __init__(self, plane: ControlPlane, script: TransferScript | None = None) -> None:
        super().__init__(plane)
        self.script = script

    # --- reading -------------------------------------------------------------------

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
            negotiation = (await processes.NEGOTIATION_ROWS.get(conn, agreement.negotiation_id)
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

    async def credentials_for_agreement(self, agreement_id: str | None) -> frozenset[str]:
        """The credential types a transfer under our agreement needs proven: what its policy
        names (a purchase credential, say), so the standing check watches them too."""
        if not agreement_id:
            return frozenset()
        async with self.plane.read() as conn:
            agreement = await get_agreement(conn, agreement_id, role=Role.PROVIDER)
        if agreement is None:
            return frozenset()  # refused later, as for anyone
        return required_credentials(agreement.id, agreement.policy, target=agreement.dataset_id)

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
                await processes.NEGOTIATION_ROWS.get(conn, agreement.negotiation_id)
                if agreement is not None and agreement.negotiation_id else None
            )
            existing = await processes.TRANSFER_ROWS.list(
                conn, role=Role.PROVIDER, consumer_pid=consumer_pid, counterparty_id=caller.id,
                limit=1,
            )
        if existing:
            return existing[0], False
        if agreement is None or agreement.assignee != caller.id:
            raise InvalidRequest(f"no agreement {agreement_id} with you",
                                 code="agreement-not-found")
        if agreement.terminated_at is not None:
            raise InvalidRequest(f"agreement {agreement_id} was terminated",
                                 code="agreement-terminated")
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
        steps = transfer_steps(self.script, transfer, TransferEvent.REQUESTED)
        edr = None
        if steps and steps[0].delay == 0 and steps[0].action == _A.START:
            edr = await self.plane.signaling.start(flow)
        async with self.plane.transaction() as tx:
            await self._open(tx, transfer)
            await self._take(tx, transfer, steps, edr=edr)
        self._log.info("transfer_requested", transfer=pid, caller=caller.id, agreement=agreement_id)
        return transfer, True

    def _check_inbound(self, current: Transfer, target: TransferState) -> None:
        if target is _S.STARTED and current.role is Role.PROVIDER and (
            current.state is not _S.SUSPENDED
        ):
            raise IllegalTransition(
                "a consumer may only start (resume) a suspended transfer",
                extra={"from": current.state.value, "to": target.value},
            )
        super()._check_inbound(current, target)

    def _moved(self, tx: Tx, updated: Transfer, action: TransferAction | None) -> None:
        """As provider, tell the data plane once the move commits (our start told it already)."""
        if updated.role is Role.PROVIDER and action is not _A.START:
            tx.after_commit.append(lambda: self._signal(updated))

    async def _signal(self, transfer: Transfer) -> None:
        signaling = self.plane.signaling
        if transfer.state is _S.STARTED:
            await signaling.start(await self._flow(transfer))
        elif transfer.state is _S.SUSPENDED:
            await signaling.suspend(transfer.id, transfer.error_reason)
        elif transfer.state in (_S.COMPLETED, _S.TERMINATED):
            await signaling.terminate(transfer.id, transfer.error_reason)

    async def on_start(self, caller: Caller, pid: str, message: Mapping[str, Any]) -> Transfer:
        """TransferStartMessage: the provider started (or either side resumed) the transfer."""
        address = message.get("dataAddress")

        def changes(current: Transfer) -> dict[str, Any]:
            if current.role is Role.CONSUMER and isinstance(address, Mapping):
                return {"data_address": dict(address)}
            if current.role is Role.PROVIDER and caller.standing:
                return {"standing": _standing(caller)}  # the consumer resumes: as it is now
            return {}

        async def then(tx: Tx, _current: Transfer, updated: Transfer) -> None:
            await self._take(tx, updated,
                             transfer_steps(self.script, updated, TransferEvent.STARTED))

        current = await self.get_for_caller(caller, pid)
        return await self._inbound(caller, pid, message, _S.STARTED, changes=changes,
                                   then=then if current.role is Role.CONSUMER else None)

    async def on_completion(self, caller: Caller, pid: str,
                            message: Mapping[str, Any]) -> Transfer:
        """TransferCompletionMessage."""
        return await self._inbound(caller, pid, message, _S.COMPLETED)

    async def on_suspension(self, caller: Caller, pid: str,
                            message: Mapping[str, Any]) -> Transfer:
        """TransferSuspensionMessage."""
        return await self._inbound(
            caller, pid, message, _S.SUSPENDED,
            changes=lambda _c: {"error_code": message.get("code"),
                                "error_reason": _reason_text(message)},
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
        if agreement.terminated_at is not None:
            raise Conflict(f"agreement {agreement_id} was terminated",
                           code="agreement-terminated")
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
            await self._open(tx, transfer, send=message)
            await self._take(tx, transfer,
                             transfer_steps(self.script, transfer, TransferEvent.INITIATED))
        self._log.info("transfer_started", transfer=pid, agreement=agreement_id)
        return transfer

    async def _prepare(self, current: Transfer, action: TransferAction,
                       options: dict[str, Any]) -> dict[str, Any]:
        """A provider's start asks the data plane for the endpoint first."""
        if action is _A.START and current.role is Role.PROVIDER and options.get("edr") is None:
            options["edr"] = await self.plane.signaling.start(await self._flow(current))
        return options

    async def _payload(self, tx: Tx, current: Transfer, action: TransferAction,
                       options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A start carries the endpoint data reference (pull) as its data address."""
        edr: EndpointDataReference | None = options.get("edr")
        if action is _A.START and edr is not None:
            return {"dataAddress": edr.to_data_address()}, {}
        return {}, {}

    # --- decisions ---------------------------------------------------------------------

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
            self._log.info("transfer_step_skipped", transfer=job.payload["id"],
                           action=first.action)
