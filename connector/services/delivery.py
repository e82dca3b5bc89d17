"""Talking to peers: queued DSP messages (delivered by jobs) and direct catalog requests.

A queued message is sent only after every earlier message of its process
was delivered, so a peer sees "offer, then termination" in that order even
when both were queued together. Process ids a message needs but we did not
know when it was queued (the provider's pid before its answer arrived) are
filled in at send time. Every message is validated against its DSP schema
before it leaves, and the answer to a request (ContractNegotiation,
TransferProcess) is validated before we trust it.

Outcomes: 2xx is delivered; a timeout, connection error, 408, 429 or 5xx is
retried with back-off; any other 4xx means the peer refuses the message, so
retrying cannot help: the message fails and the process is terminated here
(unless the peer's state shows the message had arrived before: a repeat of
an at-least-once delivery). The same happens when the retries run out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
import structlog

from connector.core import SEND_JOB, ControlPlane
from connector.domain.negotiation import NEGOTIATIONS
from connector.domain.policy import required_credentials
from connector.domain.process import ProcessTable
from connector.domain.transfer import TRANSFERS
from connector.errors import PeerError
from connector.protocol.schemas import validator
from connector.services.addresses import check_counterparty
from connector.store import outbox, processes
from connector.store.agreements import get_agreement
from servicekit.errors import DataspaceError, peer_refused
from servicekit.jobs import FailureHandler, Job, JobHandler

__all__ = ["Delivery", "DspClient", "outbound_scopes"]

_log = structlog.get_logger("connector.delivery")
_PLACEHOLDERS = ("{providerPid}", "{consumerPid}")
_RETRY_STATUSES = frozenset({408, 425, 429})
_RETRY_DELAY = 0.02
#: The state a message moves the peer's process into (events: their eventType).
_LANDS_IN = {
    "ContractOfferMessage": "OFFERED",
    "ContractAgreementMessage": "AGREED",
    "ContractAgreementVerificationMessage": "VERIFIED",
    "ContractNegotiationTerminationMessage": "TERMINATED",
    "TransferStartMessage": "STARTED",
    "TransferSuspensionMessage": "SUSPENDED",
    "TransferCompletionMessage": "COMPLETED",
    "TransferTerminationMessage": "TERMINATED",
}
#: Each process kind's action table and rows, by the outbox's ``process_kind``.
_KINDS: dict[str, ProcessTable[Any, Any]] = {NEGOTIATIONS.name: NEGOTIATIONS,
                                             TRANSFERS.name: TRANSFERS}
_ROWS: dict[str, processes.Rows[Any]] = {"negotiation": processes.NEGOTIATION_ROWS,
                                         "transfer": processes.TRANSFER_ROWS}
#: How far along the happy path a negotiation state is.
_RANK = {"REQUESTED": 1, "OFFERED": 1, "ACCEPTED": 2, "AGREED": 3, "VERIFIED": 4,
         "FINALIZED": 5}


def outbound_scopes(configured: list[str], message: Mapping[str, Any] | None) -> list[str]:
    """What the peer may read from our Credential Service while handling ``message``.

    The configured scopes, plus, for a contract request, the credential
    types its offer's policy names (the provider asks for exactly those).
    """
    scopes = list(configured)
    offer = message.get("offer") if message is not None else None
    if message is not None and message.get("@type") == "ContractRequestMessage" and isinstance(
        offer, Mapping
    ):
        target = offer.get("target")
        scopes.extend(sorted(required_credentials(
            str(offer.get("@id") or "urn:offer"), offer,
            target=target if isinstance(target, str) else None)))
    return scopes


def _fill(text: str, provider_pid: str | None, consumer_pid: str | None) -> str:
    if provider_pid:
        text = text.replace("{providerPid}", provider_pid)
    if consumer_pid:
        text = text.replace("{consumerPid}", consumer_pid)
    return text


class DspClient:
    """Direct DSP requests to a peer (the catalog), with our outbound token."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    async def _call(self, method: str, url: str, audience: str,
                    body: Mapping[str, Any] | None) -> tuple[int, Any, aiohttp.ClientResponse]:
        token = await self.plane.auth.tokens.token_for(
            audience, outbound_scopes(self.plane.settings.auth.scopes, body))
        headers = {"Authorization": token, "Accept": "application/json"}
        data = None
        if body is not None:
            validator().validate(body)
            headers["Content-Type"] = "application/json"
            data = orjson.dumps(body)
        try:
            async with self.plane.http.request(method, url, data=data, headers=headers) as resp:
                raw = await resp.read()
                try:
                    payload = orjson.loads(raw) if raw else None
                except orjson.JSONDecodeError:
                    payload = None
                return resp.status, payload, resp
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PeerError(f"the peer at {url} did not answer: {type(exc).__name__}",
                            code="peer-unreachable") from None

    async def catalog(self, address: str, *, audience: str,
                      continuation: str | None = None) -> tuple[dict[str, Any], str | None]:
        """One catalog page from the provider at ``address`` and the next page's URL."""
        from connector.protocol.messages import DSP_CONTEXT

        address = await check_counterparty(self.plane, address)
        if continuation is not None:
            await check_counterparty(self.plane, continuation, name="continuation")
        url = continuation or f"{address}/catalog/request"
        request = {"@context": list(DSP_CONTEXT), "@type": "CatalogRequestMessage", "filter": []}
        status, payload, response = await self._call("POST", url, audience, request)
        if status != 200 or not isinstance(payload, dict):
            raise peer_refused(status, payload, f"the catalog request failed with HTTP {status}",
                               code="catalog-request-failed")
        validator().validate_catalog(payload)
        next_url = None
        for link in response.headers.getall("Link", []):
            for part in link.split(","):
                if 'rel="next"' in part and "<" in part and ">" in part:
                    next_url = part[part.index("<") + 1:part.index(">")]
        return payload, next_url

    async def dataset(self, address: str, dataset_id: str, *, audience: str) -> dict[str, Any]:
        """One dataset (with the offers we may request) from the provider at ``address``."""
        from urllib.parse import quote

        address = await check_counterparty(self.plane, address)
        url = f"{address}/catalog/datasets/{quote(dataset_id, safe='')}"
        status, payload, _response = await self._call("GET", url, audience, None)
        if status != 200 or not isinstance(payload, dict):
            raise peer_refused(status, payload, f"the dataset request failed with HTTP {status}",
                               code="dataset-request-failed")
        validator().validate(payload, "Dataset")
        return payload


class Delivery:
    """The job that sends queued DSP messages."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    def jobs(self) -> dict[str, JobHandler]:
        """The job kind this runs (sending a queued DSP message), for the app's job table."""
        return {SEND_JOB: self._send_job}

    def failure_handlers(self) -> dict[str, FailureHandler]:
        """What to do when a send has failed for good: the process learns of it."""
        return {SEND_JOB: self._send_failed}

    async def _send_job(self, job: Job) -> None:
        ready = await self._ready(int(job.payload["outbox_id"]))
        if ready is None:
            return
        queued, process = ready
        prepared = await self._prepared(queued, process)
        if prepared is None:
            return
        url, body = prepared
        status, raw = await self._post(url, body, queued.audience)
        if 200 <= status < 300:
            await self._delivered(queued, body, raw)
            return
        if status >= 500 or status in _RETRY_STATUSES:
            raise PeerError(f"{url} answered HTTP {status}", code="peer-error")
        if status in (401, 403):
            # Not a repeat: the peer does not accept who we are (or our credentials).
            await self._give_up(queued, f"the peer refused us with HTTP {status}: "
                                        f"{raw[:300].decode(errors='replace')}")
            return
        if await self._landed(body, process, queued.audience):
            await self._delivered(queued, body, b"")
            return
        await self._give_up(queued, f"the peer refused the message with HTTP {status}: "
                                    f"{raw[:300].decode(errors='replace')}")

    async def _ready(self, message_id: int) -> tuple[outbox.OutboxMessage, Any] | None:
        """The message and its process, when it is its turn (else it waits or is dropped)."""
        async with self.plane.read() as conn:
            queued = await outbox.get_message(conn, message_id)
            if queued is None or queued.status != "pending":
                return None
            waiting = await outbox.earlier_undelivered(conn, queued)
            process = None if waiting else await _ROWS[queued.process_kind].get(
                conn, queued.process_id)
        if waiting:
            async with self.plane.transaction() as tx:
                await tx.enqueue(SEND_JOB, {"outbox_id": message_id}, delay=_RETRY_DELAY)
            return None
        if process is None:
            await self._give_up(queued, "the process no longer exists", terminate=False)
            return None
        return queued, process

    async def _prepared(self, queued: outbox.OutboxMessage,
                        process: Any) -> tuple[str, dict[str, Any]] | None:
        """The URL and body with the pids filled in, validated (None: given up)."""
        url = _fill(queued.url, process.provider_pid, process.consumer_pid)
        body = dict(queued.message)
        for key, value in (("providerPid", process.provider_pid),
                           ("consumerPid", process.consumer_pid)):
            if body.get(key) in _PLACEHOLDERS and value:
                body[key] = value
        if any(p in url for p in _PLACEHOLDERS) or any(
            body.get(k) in _PLACEHOLDERS for k in ("providerPid", "consumerPid")
        ):
            await self._give_up(queued, "the peer's process id never became known")
            return None
        try:
            validator().validate(body)
        except DataspaceError as exc:
            await self._give_up(queued, f"our message is not valid DSP: {exc.detail}")
            return None
        return url, body

    async def _scopes(self, body: Mapping[str, Any]) -> list[str]:
        """What the peer may read while handling ``body``: :func:`outbound_scopes`, and for a
        transfer request what the agreement's policy names (the provider asks for those,
        and watches them while the transfer runs)."""
        scopes = outbound_scopes(self.plane.settings.auth.scopes, body)
        agreement_id = body.get("agreementId")
        if body.get("@type") == "TransferRequestMessage" and isinstance(agreement_id, str):
            async with self.plane.read() as conn:
                agreement = await get_agreement(conn, agreement_id)
            if agreement is not None:
                scopes.extend(sorted(required_credentials(
                    agreement.id, agreement.policy, target=agreement.dataset_id)))
        return scopes

    async def _post(self, url: str, body: Mapping[str, Any], audience: str) -> tuple[int, bytes]:
        token = await self.plane.auth.tokens.token_for(audience, await self._scopes(body))
        headers = {"Authorization": token, "Content-Type": "application/json"}
        try:
            async with self.plane.http.post(url, data=orjson.dumps(body),
                                            headers=headers) as resp:
                return resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PeerError(f"{url} unreachable: {type(exc).__name__}",
                            code="peer-unreachable") from None

    async def _landed(self, body: Mapping[str, Any], process: Any, audience: str) -> bool:
        """Whether a refused message had in fact been received before (a redelivery).

        Delivery is at least once: an attempt can reach the peer and still
        count as failed (a timeout, a crash before the bookkeeping), and the
        peer rightly refuses the repeat as an illegal transition. Asking the
        peer for its state tells a repeat from a real refusal.
        """
        kind = str(body.get("@type"))
        target = body.get("eventType") or _LANDS_IN.get(kind)
        if target is None:
            return False
        negotiation = kind.startswith("Contract")
        peer_pid = process.consumer_pid if process.role.value == "provider" \
            else process.provider_pid
        url = (f"{process.counterparty_address}/"
               f"{'negotiations' if negotiation else 'transfers'}/{peer_pid}")
        # A fresh token: the one the refused message carried is single-use (DCP).
        token = await self.plane.auth.tokens.token_for(audience, self.plane.settings.auth.scopes)
        try:
            async with self.plane.http.get(url, headers={"Authorization": token}) as resp:
                if resp.status != 200:
                    return False
                answer = orjson.loads(await resp.read())
            validator().validate(answer, "ContractNegotiation" if negotiation
                                 else "TransferProcess")
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError, DataspaceError):
            return False
        state = str(answer.get("state"))
        if state == target:
            return True
        if negotiation and "TERMINATED" not in (state, target):
            return _RANK.get(state, 0) >= _RANK.get(str(target), 99)
        return False

    async def _delivered(self, queued: outbox.OutboxMessage, body: Mapping[str, Any],
                         raw: bytes) -> None:
        learned: dict[str, str] = {}
        kind = body.get("@type")
        if kind in ("ContractRequestMessage", "TransferRequestMessage") and not body.get(
            "providerPid"
        ):
            answer_type = ("ContractNegotiation" if kind == "ContractRequestMessage"
                           else "TransferProcess")
            try:
                answer = orjson.loads(raw)
                validator().validate(answer, answer_type)
                learned["provider_pid"] = str(answer["providerPid"])
            except (orjson.JSONDecodeError, DataspaceError, KeyError, TypeError):
                await self._give_up(queued, f"the peer's answer is not a valid {answer_type}")
                return
        async with self.plane.transaction() as tx:
            await outbox.mark_delivered(tx.conn, queued.id)
            if learned:
                await self._learn_provider_pid(tx.conn, queued, learned["provider_pid"])
        _log.debug("dsp_message_delivered", process=queued.process_id, type=kind)

    async def _learn_provider_pid(self, conn: Any, queued: outbox.OutboxMessage,
                                  provider_pid: str) -> None:
        rows = _ROWS[queued.process_kind]
        for _ in range(4):
            current = await rows.get(conn, queued.process_id)
            if current is None or current.provider_pid:
                return
            try:
                await rows.update(conn, current, provider_pid=provider_pid)
                return
            except processes.StaleProcess:
                continue

    async def _send_failed(self, job: Job, error: str) -> None:
        async with self.plane.read() as conn:
            queued = await outbox.get_message(conn, int(job.payload["outbox_id"]))
        if queued is not None and queued.status == "pending":
            await self._give_up(queued, f"delivery failed after retries: {error}")

    async def _give_up(self, queued: outbox.OutboxMessage, reason: str, *,
                       terminate: bool = True) -> None:
        """Mark the message failed and terminate its process here (states diverged)."""
        _log.warning("dsp_message_failed", process=queued.process_id, url=queued.url,
                     reason=reason[:300])
        terminated = None
        for _ in range(4):
            try:
                async with self.plane.transaction() as tx:
                    await outbox.mark_failed(tx.conn, queued.id, reason)
                    if terminate:
                        terminated = await self._terminate_local(tx.conn, queued, reason)
                break
            except processes.StaleProcess:
                continue
        if terminated is not None and terminated.role.value == "provider" and (
            queued.process_kind == "transfer"
        ):
            await self.plane.signaling.terminate(terminated.id, reason)

    @staticmethod
    async def _terminate_local(conn: Any, queued: outbox.OutboxMessage, reason: str) -> Any:
        rows, kind = _ROWS[queued.process_kind], _KINDS[queued.process_kind]
        current = await rows.get(conn, queued.process_id)
        if current is None or not kind.transitions.can(current.state, kind.terminated):
            return None
        return await rows.update(conn, current, state=kind.terminated, **kind.cleared,
                                 error_code="delivery-failed", error_reason=reason[:2000])
