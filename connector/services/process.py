"""What negotiations and transfers share: one generic process service.

:class:`ProcessService` reads a process kind's action table
(:class:`~connector.domain.process.ProcessTable`) and does, for either kind:

* lookup: the owner's view (:meth:`~ProcessService.get`, :meth:`~ProcessService.find`)
  and the counter-party's (:meth:`~ProcessService.get_for_caller`, 404 unless the
  caller is the process's counter-party);
* inbound messages (:meth:`~ProcessService._inbound`): check the pids, the
  transition, store the change as a compare-and-set, then react;
* the owner's actions (:meth:`~ProcessService.act`) and decided steps
  (:meth:`~ProcessService._take`): move the process to the action's target
  state and queue the action's message to the counter-party's path, in the
  same transaction;
* retries when a concurrent change made a read stale (:func:`retrying`), and
  the job that takes scheduled steps.

A kind adds what is its own through a few hooks: the payload of its
messages (:meth:`~ProcessService._payload`), what to prepare before a
transaction (:meth:`~ProcessService._prepare`) and what happens after a move
(:meth:`~ProcessService._moved`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar, cast

import structlog

from connector.core import ControlPlane, Tx
from connector.domain.caller import Caller
from connector.domain.negotiation import Negotiation
from connector.domain.process import ProcessTable, Role
from connector.domain.transfer import Transfer
from connector.errors import ProcessNotFound
from connector.protocol import messages
from connector.services.lookup import one
from connector.services.steps import WAIT, Step, steps_from_payload, steps_to_payload
from connector.store.processes import Rows, StaleProcess
from servicekit.errors import IllegalTransition, InvalidRequest
from servicekit.jobs import Job, JobHandler

__all__ = ["CONSUMER_PID", "PROVIDER_PID", "ProcessService", "retrying"]

#: Placeholders for a peer pid not known yet; filled in when the message is sent.
PROVIDER_PID = "{providerPid}"
CONSUMER_PID = "{consumerPid}"

T = TypeVar("T")
P = TypeVar("P", Negotiation, Transfer)
S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)

#: What an inbound message changes on top of its state, from the current record.
Changes = Callable[[P], dict[str, Any]]


async def retrying(attempt: Callable[[], Awaitable[T]], tries: int = 4) -> T:
    """Run ``attempt`` again when a concurrent change made its read stale."""
    for _ in range(tries - 1):
        try:
            return await attempt()
        except StaleProcess:
            continue
    return await attempt()


class ProcessService(Generic[P, S, A]):
    """Lookup, ownership, inbound messages, actions, retries and steps of one process kind."""

    kind: ClassVar[ProcessTable[Any, Any]]
    rows: ClassVar[Rows[Any]]
    steps_job: ClassVar[str]
    #: Whether a step may be ``wait`` (leave the next move to the owner).
    waits: ClassVar[bool] = False

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self._log = structlog.get_logger(f"connector.{self.kind.path}")

    def jobs(self) -> dict[str, JobHandler]:
        """The job kind this service runs (its processes' steps), for the app's job table."""
        return {self.steps_job: self._steps_job}

    # --- lookup ----------------------------------------------------------------------

    async def get(self, process_id: str) -> P:
        """Our process ``process_id`` (owner view)."""
        found: P = await one(self.plane, lambda conn: self.rows.get(conn, process_id),
                             ProcessNotFound(f"no {self.kind.name} {process_id}"))
        return found

    async def get_for_caller(self, caller: Caller, pid: str) -> P:
        """The process ``pid`` if ``caller`` is its counter-party, else 404."""
        async with self.plane.read() as conn:
            return self._owned(await self.rows.get(conn, pid), caller, pid)

    def _owned(self, found: P | None, caller: Caller, pid: str) -> P:
        if found is None or found.counterparty_id != caller.id:
            raise ProcessNotFound(f"no {self.kind.name} {pid} with you")
        return found

    async def find(self, **filters: Any) -> list[P]:
        """Processes for the owner, newest first."""
        async with self.plane.read() as conn:
            found: list[P] = await self.rows.list(conn, **filters)
        return found

    async def _open(self, tx: Tx, process: P, *, send: dict[str, Any] | None = None) -> None:
        """Store a new process (in ``tx``); ``send``: our request that opens it at the peer."""
        await self.rows.insert(tx.conn, process)
        tx.record(process.id, process.state.value)
        if send is not None:
            await tx.send(process_kind=self.kind.name, process_id=process.id,
                          url=f"{process.counterparty_address}/{self.kind.path}/request",
                          audience=process.counterparty_id, message=send)

    # --- inbound ---------------------------------------------------------------------

    async def _inbound(
        self,
        caller: Caller,
        pid: str,
        message: Mapping[str, Any],
        target: S,
        *,
        role: Role | None = None,
        changes: Changes[P] | None = None,
        before: Callable[[Tx, P], Awaitable[None]] | None = None,
        then: Callable[[Tx, P, P], Awaitable[None]] | None = None,
    ) -> P:
        """The counter-party moved process ``pid`` to ``target``: store it, then react.

        ``role``: the role we must play in it; ``changes``: what the message
        changes besides the state; ``before``: writes that go with the move;
        ``then``: what follows (given the record before and after), in the
        same transaction.
        """

        async def attempt() -> P:
            async with self.plane.transaction() as tx:
                current = self._owned(await self.rows.get(tx.conn, pid), caller, pid)
                if role is not None and current.role is not role:
                    raise ProcessNotFound(
                        f"{self.kind.name} {pid} is not one where we are the {role.value}")
                update = self._pid_updates(current, message)
                self._check_inbound(current, target)
                if changes is not None:
                    update |= changes(current)
                if before is not None:
                    await before(tx, current)
                updated: P = await self.rows.update(tx.conn, current, state=target,
                                                    **self.kind.cleared, **update)
                tx.record(pid, target.value)
                self._moved(tx, updated, None)
                if then is not None:
                    await then(tx, current, updated)
                return updated

        updated = await retrying(attempt)
        self._log.info(f"{self.kind.name}_moved", **{self.kind.name: pid},
                       state=target.value, by="counter-party")
        return updated

    async def on_termination(self, caller: Caller, pid: str, message: Mapping[str, Any]) -> P:
        """The counter-party's termination message (either role)."""
        reason = message.get("reason")
        text = "; ".join(str(r) for r in reason) if isinstance(reason, list) else None
        return await self._inbound(
            caller, pid, message, self.kind.terminated,
            changes=lambda _c: {"error_code": message.get("code") or "terminated-by-peer",
                                "error_reason": text or "terminated by the counter-party"},
        )

    def _check_inbound(self, current: P, target: S) -> None:
        """Refuse a move the counter-party may not make (the state machine's rule)."""
        self.kind.transitions.check(current.state, target)

    def _pid_updates(self, current: P, message: Mapping[str, Any]) -> dict[str, Any]:
        """Check the message's pids against ours; learn the peer's pid if we lacked it."""
        ours, theirs = (
            ("providerPid", "consumerPid") if current.role is Role.PROVIDER
            else ("consumerPid", "providerPid")
        )
        name = self.kind.name
        if message.get(ours) not in (None, current.id):
            raise InvalidRequest(f"{ours} does not match this {name}", code="pid-mismatch")
        known = current.consumer_pid if current.role is Role.PROVIDER else current.provider_pid
        given = message.get(theirs)
        if known and given not in (None, known):
            raise InvalidRequest(f"{theirs} does not match this {name}", code="pid-mismatch")
        if not known and isinstance(given, str) and given:
            return {"provider_pid": given} if theirs == "providerPid" else {"consumer_pid": given}
        return {}

    # --- actions ---------------------------------------------------------------------

    async def act(self, process_id: str, action: A, *, rest: list[Step] | None = None,
                  **options: Any) -> P:
        """Take ``action`` now (the owner's move, or a scheduled step), then ``rest`` later."""

        async def attempt() -> P:
            current = await self.get(process_id)
            if not self._allowed(current, action):
                raise IllegalTransition(
                    f"a {current.role.value} cannot {action.value} a {self.kind.name} in "
                    f"{current.state}",
                    extra={"from": current.state.value, "action": action.value},
                )
            prepared = await self._prepare(current, action, options)
            async with self.plane.transaction() as tx:
                updated = await self._apply(tx, current, action, **prepared)
                if rest:
                    await self._schedule(tx, process_id, rest)
            return updated

        return await retrying(attempt)

    @staticmethod
    def _allowed(current: P, action: A) -> bool:
        """Whether ``current`` lets us take ``action`` now (the record's own rule)."""
        return bool(cast(Any, current).can_take(action))

    async def _apply(self, tx: Tx, current: P, action: A, *, code: str | None = None,
                     reason: str | None = None, **options: Any) -> P:
        """Move the process as ``action`` says and queue its message, in ``tx``."""
        move = self.kind.moves[action]
        provider_pid = current.provider_pid or PROVIDER_PID
        consumer_pid = current.consumer_pid or CONSUMER_PID
        changes: dict[str, Any] = {"state": move.target, **self.kind.cleared}
        members: dict[str, Any] = {}
        if move.event_type is not None:
            members["eventType"] = move.event_type
        if move.reason:
            members |= {"code": code, "reason": reason}
            if self.kind.transitions.is_terminal(move.target):
                code = code or "terminated"
                reason = reason or f"terminated by the {current.role.value}"
            changes |= {"error_code": code, "error_reason": reason}
        payload, more = await self._payload(tx, current, action, options)
        message = messages.process_message(move.message, provider_pid=provider_pid,
                                           consumer_pid=consumer_pid, **members, **payload)
        updated: P = await self.rows.update(tx.conn, current, **changes, **more)
        tx.record(current.id, move.target.value)
        self._moved(tx, updated, action)
        peer_pid = consumer_pid if current.role is Role.PROVIDER else provider_pid
        await tx.send(process_kind=self.kind.name, process_id=current.id,
                      url=self.kind.peer_url(current.counterparty_address, peer_pid, action),
                      audience=current.counterparty_id, message=message)
        self._log.info(f"{self.kind.name}_moved", **{self.kind.name: current.id},
                       state=move.target.value, action=action.value)
        return updated

    async def _prepare(self, current: P, action: A,
                       options: dict[str, Any]) -> dict[str, Any]:
        """What ``action`` needs before its transaction opens (the options as given)."""
        return options

    async def _payload(self, tx: Tx, current: P, action: A,
                       options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The message members of ``action`` beyond the table's, and what it changes."""
        return {}, {}

    def _moved(self, tx: Tx, updated: P, action: A | None) -> None:
        """Hook: our ``action`` (None: the counter-party) moved the process, in ``tx``."""

    # --- steps -----------------------------------------------------------------------

    async def _take(self, tx: Tx, current: P, steps: list[Step], **options: Any) -> None:
        """Take the first step now (unless it waits) and schedule the rest as jobs."""
        if not steps:
            return
        first, rest = steps[0], steps[1:]
        if first.delay > 0:
            await self._schedule(tx, current.id, steps)
            return
        if self.waits and first.action == WAIT:
            await self.rows.update(tx.conn, current, awaiting="owner")
        else:
            action = self.kind.actions(first.action)
            if not self._allowed(current, action):
                self._log.info(f"{self.kind.name}_step_skipped", **{self.kind.name: current.id},
                               action=action.value, state=current.state.value)
                return
            prepared = await self._prepare(current, action, options)
            await self._apply(tx, current, action, **prepared)
        if rest:
            await self._schedule(tx, current.id, rest)

    async def _schedule(self, tx: Tx, process_id: str, steps: list[Step]) -> None:
        await tx.enqueue(self.steps_job, {"id": process_id, "steps": steps_to_payload(steps)},
                         delay=steps[0].delay)

    async def _steps_job(self, job: Job) -> None:
        """Scheduled steps (a scripted pause): take them now."""
        steps = steps_from_payload(job.payload["steps"])
        if steps:
            steps[0] = Step(steps[0].action)

        async def attempt() -> None:
            async with self.plane.transaction() as tx:
                current = await self.rows.get(tx.conn, str(job.payload["id"]))
                if current is None or self.kind.transitions.is_terminal(current.state):
                    return
                await self._take(tx, current, steps)

        await retrying(attempt)
