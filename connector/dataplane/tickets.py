"""Tickets that travel: a permitted request decided over HTTP, settled later by any worker."""

from __future__ import annotations

import binascii

import orjson

from connector.dataplane.counters import CounterSpec
from connector.dataplane.decision import Ticket
from identity.encoding import b64url_decode, b64url_encode
from servicekit.errors import InvalidRequest

__all__ = ["decode_ticket", "encode_ticket"]


def encode_ticket(ticket: Ticket) -> str:
    """The ticket as an opaque base64url string."""
    counter = ticket.counter
    return b64url_encode(orjson.dumps({
        "t": ticket.transfer_id, "a": ticket.agreement_id, "c": ticket.consumer_id,
        "b": ticket.billable, "s": ticket.slot, "u": ticket.use,
        "k": [counter.agreement_id, counter.window_start, counter.limit] if counter else None,
    }))


def decode_ticket(text: str) -> Ticket:
    """A ticket from :func:`encode_ticket` (``InvalidRequest`` if it is not one)."""
    try:
        data = orjson.loads(b64url_decode(text))
        counter = CounterSpec(str(data["k"][0]), float(data["k"][1]), int(data["k"][2])) \
            if data["k"] is not None else None
        slot = data["s"]
        if slot is not None and (not isinstance(slot, int) or counter is None):
            raise ValueError("slot without counter")
        return Ticket(transfer_id=str(data["t"]), agreement_id=str(data["a"]),
                      consumer_id=str(data["c"]), counter=counter, slot=slot,
                      billable=bool(data["b"]), use=bool(data.get("u", True)))
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error,
            orjson.JSONDecodeError):
        raise InvalidRequest("the ticket is not one this data plane issued",
                             code="ticket-invalid") from None
