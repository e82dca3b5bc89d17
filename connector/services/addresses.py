"""Peer addresses that arrive in requests, checked when they arrive.

A DSP ``callbackAddress`` and the ``counterparty_address`` given to the
management API are where the connector will later send messages with its
guarded client. They are checked on arrival with the client's own rule
(:func:`servicekit.http.check_address`), so an address the client would
refuse is a 400 now, not a process that retries and fails later.
"""

from __future__ import annotations

from typing import Any

from connector.core import ControlPlane
from servicekit.errors import InvalidRequest
from servicekit.http import check_address

__all__ = ["check_callback", "check_counterparty"]


async def check_callback(plane: ControlPlane, callback: Any) -> str:
    """A peer's ``callbackAddress``, without trailing slash (400 ``callback-address-*``)."""
    if not isinstance(callback, str):
        raise InvalidRequest("callbackAddress must be an http(s) URL",
                             code="callback-address-invalid")
    parsed = await check_address(plane.http, callback, code="callback-address",
                                 name="callbackAddress")
    if parsed.scheme != "https" and not plane.settings.dev:
        raise InvalidRequest("callbackAddress must use https", code="callback-address-invalid")
    return callback.rstrip("/")


async def check_counterparty(plane: ControlPlane, address: str, *,
                             name: str = "counterparty_address") -> str:
    """A peer's DSP address given by our owner (400 ``counterparty-address-*``)."""
    await check_address(plane.http, address, code="counterparty-address", name=name)
    return address.rstrip("/")
