"""TCK scenarios as tables: each one a label, the TCK's id and the steps the two sides take.

A scenario opens a process (the peer requests, or triggers the connector to
request), then plays its steps in order against a :class:`Play`:

* :func:`got` — the connector sends the peer this message (with these members),
* :func:`sent` — the peer sends the connector one of its messages and gets ``expect``,
* :func:`state` — the connector's state of the process becomes this,
* :func:`both` — the connector's and the peer's state of the process are both this.

Member checks name the process's pids and the scenario's id with the
:data:`PPID`, :data:`CPID` and :data:`ID` markers, and nested members with
dotted keys (``offer.target``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.connector.conformance.peer import PARTICIPANT, TOKEN, Peer, new_pid

__all__ = [
    "CPID",
    "ID",
    "PPID",
    "TRANSFER_COMPLETION",
    "TRANSFER_SENDERS",
    "TRANSFER_SUSPENSION",
    "TRANSFER_TERMINATION",
    "Play",
    "Scenario",
    "Sender",
    "both",
    "connector_requests",
    "got",
    "peer_requests",
    "sent",
    "state",
]

#: Markers for the values a scenario knows only as it runs.
PPID, CPID, ID = "<providerPid>", "<consumerPid>", "<id>"


@dataclass(frozen=True)
class Sender:
    """A message the peer sends: the path under the process, its type, its default members."""

    path: str
    message_type: str
    members: Callable[[Play], dict[str, Any]] = lambda _play: {}


@dataclass
class Play:
    """One scenario as it runs: the peer, the process's pids, and whose pid is whose."""

    peer: Peer
    kind: str
    id: str
    consumer_pid: str
    provider_pid: str
    peer_is_consumer: bool
    senders: Mapping[str, Sender] = field(default_factory=dict)

    @property
    def mine(self) -> str:
        """The peer's own pid of the process."""
        return self.consumer_pid if self.peer_is_consumer else self.provider_pid

    @property
    def theirs(self) -> str:
        """The connector's pid of the process."""
        return self.provider_pid if self.peer_is_consumer else self.consumer_pid

    def value(self, wanted: Any) -> Any:
        """``wanted`` with the markers replaced by this run's values."""
        return {PPID: self.provider_pid, CPID: self.consumer_pid, ID: self.id}.get(
            wanted, wanted) if isinstance(wanted, str) else wanted


Step = Callable[[Play], Awaitable[Any]]


@dataclass(frozen=True)
class Scenario:
    """A TCK scenario: ``label`` (``CN:01-01``), what happens, the TCK's id, the steps."""

    label: str
    title: str
    id: str
    steps: Sequence[Step]

    def __str__(self) -> str:
        return self.label

    async def play(self, play: Play) -> None:
        """Take every step in order."""
        for step in self.steps:
            await step(play)


def _member(body: Mapping[str, Any], dotted: str) -> Any:
    value: Any = body
    for key in dotted.split("."):
        value = value[key]
    return value


def got(message_type: str, **checks: Any) -> Step:
    """The connector sends ``message_type`` for the process, with members equal to ``checks``.

    Dotted keys are passed as ``**{"offer.target": ID}``.
    """

    async def step(play: Play) -> dict[str, Any]:
        message = await play.peer.expect(message_type, consumerPid=play.consumer_pid)
        for dotted, wanted in checks.items():
            assert _member(message, dotted) == play.value(wanted), (message_type, dotted)
        return message

    return step


def sent(name: str, *, expect: int = 200, **members: Any) -> Step:
    """The peer sends its ``name`` message (its members plus ``members``); ``expect`` the status."""

    async def step(play: Play) -> None:
        sender = play.senders[name]
        body = play.peer.message(sender.message_type, providerPid=play.provider_pid,
                                 consumerPid=play.consumer_pid,
                                 **(sender.members(play) | members))
        await play.peer.send(f"/{play.kind}/{play.theirs}{sender.path}", body, expect=expect,
                             mine=play.mine)

    return step


def state(wanted: str) -> Step:
    """The connector's state of the process becomes ``wanted``."""

    async def step(play: Play) -> None:
        await play.peer.connector_state(play.kind, play.theirs, {wanted})

    return step


def both(wanted: str) -> Step:
    """The connector's and the peer's state of the process are both ``wanted``."""

    async def step(play: Play) -> None:
        assert await play.peer.connector_state(play.kind, play.theirs, {wanted}) == wanted
        assert play.peer.states[play.mine] == wanted

    return step


async def peer_requests(peer: Peer, kind: str, id: str, message_type: str,
                        senders: Mapping[str, Sender], **members: Any) -> Play:
    """The peer (consumer) opens a process; the connector answers 201 REQUESTED."""
    consumer_pid = new_pid()
    answer = await peer.send(
        f"/{kind}/request",
        peer.message(message_type, consumerPid=consumer_pid, **members,
                     callbackAddress=peer.url),
        expect=201, mine=consumer_pid,
    )
    assert answer["consumerPid"] == consumer_pid
    assert answer["state"] == "REQUESTED"
    return Play(peer, kind, id, consumer_pid, str(answer["providerPid"]),
                peer_is_consumer=True, senders=senders)


async def connector_requests(peer: Peer, kind: str, id: str, message_type: str,
                             senders: Mapping[str, Sender],
                             **trigger: str) -> tuple[Play, dict[str, Any]]:
    """The peer (provider) triggers the connector through TCK mode; its request arrives.

    Returns the play and the connector's request message, once the
    connector's own state is REQUESTED.
    """
    assert peer.http is not None
    trigger = {"providerId": PARTICIPANT, **trigger, "connectorAddress": peer.url}
    async with peer.http.post(f"{peer.target}/tck/{kind}", json=trigger,
                              headers={"Authorization": TOKEN}) as resp:
        assert resp.status == 200, await resp.text()
        consumer_pid = str((await resp.json())["consumerPid"])
    request = await peer.expect(message_type, consumerPid=consumer_pid)
    await peer.connector_state(kind, consumer_pid, {"REQUESTED"})
    return Play(peer, kind, id, consumer_pid, peer.provider_pids[consumer_pid],
                peer_is_consumer=False, senders=senders), request


#: The transfer messages the peer sends in either role (as provider, it may add more).
TRANSFER_SENDERS = {
    "start": Sender("/start", "TransferStartMessage"),
    "complete": Sender("/completion", "TransferCompletionMessage"),
    "suspend": Sender("/suspension", "TransferSuspensionMessage"),
    "terminate": Sender("/termination", "TransferTerminationMessage"),
}
#: The connector ends, completes or suspends the transfer (in either role).
TRANSFER_TERMINATION = got("TransferTerminationMessage")
TRANSFER_COMPLETION = got("TransferCompletionMessage")
TRANSFER_SUSPENSION = got("TransferSuspensionMessage")
