"""Data-plane signaling: the one interface between the control plane and the data plane.

The control plane decides (who may transfer what under which agreement); the
data plane moves bytes and enforces the agreement per request. They meet
here, as Eclipse EDC's data-plane signaling does:

* :meth:`DataPlaneSignaling.prepare` — a transfer was requested; get ready.
* :meth:`DataPlaneSignaling.start` — start (or resume) the flow; for a pull
  transfer this returns the :class:`EndpointDataReference` the consumer
  uses (data-plane URL and a short-lived access token).
* :meth:`DataPlaneSignaling.suspend` / :meth:`DataPlaneSignaling.terminate`
  — stop serving the flow (for now / for good).

:class:`InProcessSignaling` is the minimal implementation: it signs the
access token with the connector's key (:mod:`identity`) and points at the
configured data-plane URL; it keeps which flows are live in memory. The data
plane replaces it (token verification, policy enforcement, streaming proxy);
``settings.signaling`` picks one of the two (the table in :mod:`connector.app`).
``start`` is called outside any database transaction.

:class:`Terminator` is the one call the other way: what the data plane may ask
of the control plane (end a transfer over DSP).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from connector.domain.catalog import Backend, rfc3339
from connector.protocol.messages import data_address
from identity.signer import Signer
from servicekit.clock import Clock, system_clock

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "HTTP_ENDPOINT_TYPE",
    "DataFlow",
    "DataPlaneSignaling",
    "EndpointDataReference",
    "InProcessSignaling",
    "Terminator",
]

#: The DSP endpoint type of an HTTP data address.
HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"
#: The JWT ``typ`` of data-plane access tokens (RFC 9068).
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a JWT type, not a secret


@dataclass(frozen=True, slots=True)
class DataFlow:
    """What the data plane needs to serve one transfer."""

    transfer_id: str
    agreement_id: str
    dataset_id: str
    consumer_id: str
    format: str
    agreement: Mapping[str, Any] = field(default_factory=dict)
    backend: Backend | None = None
    #: The consumer's verified credentials (type → credentialSubjects) as the
    #: control plane verified them over DCP when the contract was made; the
    #: data plane evaluates ``dst:credentialType`` / ``dst:claim`` against them.
    credentials: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    #: The consumer's own id of the transfer process (its consumerPid), so what the
    #: data plane says about the transfer (a usage receipt) names the id the consumer knows.
    consumer_pid: str | None = None


class EndpointDataReference(BaseModel):
    """Where and how the consumer pulls: the data-plane endpoint and its access token."""

    model_config = ConfigDict(frozen=True)

    transfer_id: str
    endpoint: str
    endpoint_type: str = HTTP_ENDPOINT_TYPE
    auth_type: str = "bearer"
    token: str
    expires_at: float

    def to_data_address(self) -> dict[str, Any]:
        """The DSP ``DataAddress`` of a TransferStartMessage."""
        return data_address(
            endpoint_type=self.endpoint_type,
            endpoint=self.endpoint,
            properties=[
                ("authorization", self.token),
                ("authType", self.auth_type),
                ("expiresAt", rfc3339(self.expires_at)),
                ("transferProcessId", self.transfer_id),
            ],
        )

    @classmethod
    def from_data_address(cls, transfer_id: str, address: Mapping[str, Any]) -> (
        EndpointDataReference | None
    ):
        """Read a DSP ``DataAddress`` back (None without an endpoint and token)."""
        properties = {
            str(p.get("name")): str(p.get("value"))
            for p in address.get("endpointProperties") or []
            if isinstance(p, Mapping)
        }
        endpoint = address.get("endpoint")
        token = properties.get("authorization")
        if not isinstance(endpoint, str) or not token:
            return None
        expires = 0.0
        if "expiresAt" in properties:
            try:
                expires = datetime.fromisoformat(
                    properties["expiresAt"].replace("Z", "+00:00")
                ).timestamp()
            except ValueError:
                expires = 0.0
        return cls(
            transfer_id=transfer_id,
            endpoint=endpoint,
            endpoint_type=str(address.get("endpointType", HTTP_ENDPOINT_TYPE)),
            auth_type=properties.get("authType", "bearer"),
            token=token,
            expires_at=expires,
        )


@runtime_checkable
class DataPlaneSignaling(Protocol):
    """The control plane's view of a data plane."""

    async def prepare(self, flow: DataFlow) -> None:
        """A transfer was requested: make ready to serve it."""
        ...

    async def start(self, flow: DataFlow) -> EndpointDataReference | None:
        """Start or resume serving ``flow``; a pull transfer returns its EDR."""
        ...

    async def suspend(self, transfer_id: str, reason: str | None = None) -> None:
        """Stop serving the flow until it is started again."""
        ...

    async def terminate(self, transfer_id: str, reason: str | None = None) -> None:
        """Stop serving the flow for good (completed or terminated)."""
        ...


class InProcessSignaling:
    """Issues access tokens with our key and records live flows in memory.

    The token is a JWT (``typ`` ``at+jwt``) signed by the connector: ``iss``
    our DID, ``sub`` the consumer, ``aud`` the data-plane URL, ``exp`` short,
    plus ``transfer_id``, ``agreement_id`` and ``dataset_id`` claims the data
    plane binds each request to.
    """

    def __init__(
        self,
        signer: Signer,
        *,
        data_plane_url: str,
        token_seconds: float = 300.0,
        clock: Clock = system_clock,
    ) -> None:
        self._signer = signer
        self._url = data_plane_url.rstrip("/")
        self._token_seconds = token_seconds
        self._clock = clock
        self.live: dict[str, DataFlow] = {}
        self.prepared: dict[str, DataFlow] = {}
        self.stopped: dict[str, str] = {}

    async def prepare(self, flow: DataFlow) -> None:
        """Remember the flow."""
        self.prepared[flow.transfer_id] = flow

    async def start(self, flow: DataFlow) -> EndpointDataReference:
        """Mark the flow live and mint its access token."""
        now = self._clock()
        expires = now + self._token_seconds
        token = self._signer.sign_jwt(
            {
                "iss": self._signer.did,
                "sub": flow.consumer_id,
                "aud": self._url,
                "iat": int(now),
                "exp": int(expires),
                "jti": secrets.token_urlsafe(16),
                "transfer_id": flow.transfer_id,
                "agreement_id": flow.agreement_id,
                "dataset_id": flow.dataset_id,
            },
            typ=ACCESS_TOKEN_TYPE,
        )
        self.live[flow.transfer_id] = flow
        self.stopped.pop(flow.transfer_id, None)
        return EndpointDataReference(
            transfer_id=flow.transfer_id, endpoint=self._url, token=token, expires_at=expires
        )

    async def suspend(self, transfer_id: str, reason: str | None = None) -> None:
        """Stop serving until started again."""
        self.live.pop(transfer_id, None)
        self.stopped[transfer_id] = "suspended"

    async def terminate(self, transfer_id: str, reason: str | None = None) -> None:
        """Stop serving for good."""
        self.live.pop(transfer_id, None)
        self.prepared.pop(transfer_id, None)
        self.stopped[transfer_id] = "terminated"

    def is_live(self, transfer_id: str) -> bool:
        """True while the flow may be served."""
        return transfer_id in self.live


class Terminator(Protocol):
    """What the control plane offers the data plane: end a transfer over DSP.

    The data plane's policy monitor calls it when an agreement has run out:
    the control plane sends the DSP TransferTerminationMessage, then signals
    the data plane (:meth:`DataPlaneSignaling.terminate`).
    """

    async def terminate_transfer(self, transfer_id: str, *, code: str, reason: str) -> None:
        """Terminate ``transfer_id`` over DSP, then signal the data plane."""
        ...
