"""Build the DSP 2025-1 messages we send, in the plain JSON form.

Each builder returns a dict with the 2025-1 ``@context`` and ``@type``; the
caller validates it (:func:`connector.protocol.schemas.validate_message`)
before it leaves the process. Policies (offers, agreements) are passed in as
the compact ODRL JSON the DSP context reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "DSP_CONTEXT",
    "DSP_CONTEXT_URL",
    "DSP_VERSION",
    "catalog_error",
    "contract_negotiation",
    "contract_request",
    "data_address",
    "negotiation_error",
    "offer_message",
    "process_message",
    "transfer_error",
    "transfer_process",
    "transfer_request",
]

DSP_VERSION = "2025-1"
DSP_CONTEXT_URL = "https://w3id.org/dspace/2025/1/context.jsonld"
DSP_CONTEXT: list[str] = [DSP_CONTEXT_URL]


def _message(message_type: str, **members: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"@context": list(DSP_CONTEXT), "@type": message_type}
    body.update({k: v for k, v in members.items() if v is not None})
    return body


def _reasons(reason: str | Sequence[str] | None) -> list[str] | None:
    if reason is None:
        return None
    if isinstance(reason, str):
        return [reason] if reason else None
    items = [r for r in reason if r]
    return items or None


def process_message(
    message_type: str, *, provider_pid: str | None, consumer_pid: str | None, **members: Any
) -> dict[str, Any]:
    """A message of a negotiation or transfer: its pids plus ``members``.

    ``reason`` (a string or strings) becomes the list DSP carries; members
    (and pids) that are None are left out.
    """
    if "reason" in members:
        members["reason"] = _reasons(members["reason"])
    return _message(message_type, providerPid=provider_pid, consumerPid=consumer_pid, **members)


# --- catalog ------------------------------------------------------------------


def catalog_error(code: str, reason: str | Sequence[str] | None) -> dict[str, Any]:
    """A ``CatalogError`` body."""
    return _message("CatalogError", code=code, reason=_reasons(reason))


# --- contract negotiation -----------------------------------------------------


def contract_negotiation(provider_pid: str, consumer_pid: str, state: str) -> dict[str, Any]:
    """The ``ContractNegotiation`` a party answers with."""
    return process_message("ContractNegotiation", provider_pid=provider_pid,
                           consumer_pid=consumer_pid, state=state)


def contract_request(
    *,
    consumer_pid: str,
    offer: Mapping[str, Any],
    provider_pid: str | None = None,
    callback_address: str | None = None,
) -> dict[str, Any]:
    """A ``ContractRequestMessage``: the initial one has a callback, a counter one a providerPid."""
    return process_message("ContractRequestMessage",
                           provider_pid=provider_pid, consumer_pid=consumer_pid,
                           offer=dict(offer), callbackAddress=callback_address)


def offer_message(
    *,
    provider_pid: str,
    offer: Mapping[str, Any],
    consumer_pid: str | None = None,
    callback_address: str | None = None,
) -> dict[str, Any]:
    """A ``ContractOfferMessage`` (initial offers carry a callback address instead)."""
    return process_message("ContractOfferMessage",
                           provider_pid=provider_pid, consumer_pid=consumer_pid,
                           offer=dict(offer), callbackAddress=callback_address)


def negotiation_error(
    *, provider_pid: str, consumer_pid: str, code: str, reason: str | Sequence[str] | None
) -> dict[str, Any]:
    """A ``ContractNegotiationError`` body."""
    return process_message("ContractNegotiationError",
                           provider_pid=provider_pid, consumer_pid=consumer_pid,
                           code=code, reason=reason)


# --- transfer process ---------------------------------------------------------


def transfer_process(provider_pid: str, consumer_pid: str, state: str) -> dict[str, Any]:
    """The ``TransferProcess`` a party answers with."""
    return process_message("TransferProcess", provider_pid=provider_pid,
                           consumer_pid=consumer_pid, state=state)


def data_address(
    *, endpoint_type: str, endpoint: str | None, properties: Iterable[tuple[str, str]] = ()
) -> dict[str, Any]:
    """A ``DataAddress`` with ``EndpointProperty`` entries."""
    address: dict[str, Any] = {"@type": "DataAddress", "endpointType": endpoint_type}
    if endpoint is not None:
        address["endpoint"] = endpoint
    entries = [
        {"@type": "EndpointProperty", "name": name, "value": value} for name, value in properties
    ]
    if entries:
        address["endpointProperties"] = entries
    return address


def transfer_request(
    *,
    consumer_pid: str,
    agreement_id: str,
    format: str,
    callback_address: str,
    data_address: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``TransferRequestMessage`` (a push transfer names the consumer's ``dataAddress``)."""
    return _message(
        "TransferRequestMessage",
        consumerPid=consumer_pid,
        agreementId=agreement_id,
        format=format,
        dataAddress=dict(data_address) if data_address is not None else None,
        callbackAddress=callback_address,
    )


def transfer_error(
    *, provider_pid: str, consumer_pid: str, code: str, reason: str | Sequence[str] | None
) -> dict[str, Any]:
    """A ``TransferError`` body."""
    return process_message("TransferError",
                           provider_pid=provider_pid, consumer_pid=consumer_pid,
                           code=code, reason=reason)
