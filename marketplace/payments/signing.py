"""Timestamped HMAC-SHA256 signatures over a raw body: ``t=<unix seconds>,v1=<hex>``.

The signed text is ``"{t}." + raw_body`` (the bytes as received, never a
re-serialisation), keyed with a secret both sides share. A header may carry
several ``v1`` signatures (while a secret is rotated); one matching is enough.
The timestamp bounds replays to the tolerance window; inside it, the order
service's unique event ids refuse them.

This is the scheme of the invoice provider's "paid" callback
(``X-Invoice-Signature``). The card provider's ``Stripe-Signature`` has the
same shape, but there the provider's own SDK checks the signature and only
the window is checked here (:func:`check_timestamp`), with our clock.
"""

from __future__ import annotations

import hashlib
import hmac

from marketplace.payments.errors import PaymentEventStale, PaymentSignatureInvalid
from servicekit.clock import Clock

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "check_timestamp",
    "parse_signature_header",
    "sign",
    "signature_header",
    "verify_signature",
]

DEFAULT_TOLERANCE_SECONDS = 300
_SCHEME = "v1"


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}." + raw_body`` under ``secret``."""
    message = f"{timestamp}.".encode() + raw_body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, raw_body: bytes) -> str:
    """The header value a sender puts on ``raw_body``: ``t=...,v1=...``."""
    return f"t={timestamp},{_SCHEME}={sign(secret, timestamp, raw_body)}"


def parse_signature_header(value: str | None) -> tuple[int, list[str]]:
    """The timestamp and the ``v1`` signatures of a header, or ``payment-signature-invalid``."""
    if not value:
        raise PaymentSignatureInvalid("the callback carries no signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in value.split(","):
        key, _, text = item.strip().partition("=")
        if key == "t" and timestamp is None and text.isdigit() and len(text) <= 12:
            timestamp = int(text)
        elif key == _SCHEME and text:
            signatures.append(text)
    if timestamp is None or not signatures:
        raise PaymentSignatureInvalid("the signature header needs t=<unix seconds> and v1=<hex>")
    return timestamp, signatures


def check_timestamp(timestamp: int, clock: Clock, tolerance: float) -> None:
    """Refuse a signing time more than ``tolerance`` seconds from now, either way."""
    skew = clock() - timestamp
    if abs(skew) > tolerance:
        raise PaymentEventStale(
            f"the callback was signed {abs(skew):.0f} s "
            f"{'ago' if skew > 0 else 'ahead'}; at most {tolerance:.0f} s is accepted",
            extra={"tolerance_seconds": tolerance},
        )


def verify_signature(
    header_value: str | None, raw_body: bytes, secret: str, clock: Clock,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check a ``t=...,v1=...`` header over ``raw_body``; answer its timestamp.

    The signature is checked first (constant-time), the window second, so an
    unsigned caller learns nothing about our clock.
    """
    timestamp, signatures = parse_signature_header(header_value)
    expected = sign(secret, timestamp, raw_body)
    wanted = expected.encode()
    # bytes, because compare_digest refuses str with non-ASCII characters
    if not any(hmac.compare_digest(wanted, candidate.encode("utf-8", "replace"))
               for candidate in signatures):
        raise PaymentSignatureInvalid("the callback's signature does not match its body")
    check_timestamp(timestamp, clock, tolerance)
    return timestamp
