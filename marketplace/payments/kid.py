"""Norwegian KID numbers (kundeidentifikasjonsnummer): the payment reference on an invoice.

A KID is 2 to 25 characters: digits, then one check digit computed over them
by one of two standard algorithms, agreed with the payee's bank:

- **MOD10** (the Luhn algorithm): from the rightmost payload digit leftwards,
  weights 2, 1, 2, 1, ...; the digit sums of the products are added, and the
  check digit is what brings the total up to a multiple of 10.
- **MOD11**: from the rightmost payload digit leftwards, weights 2, 3, 4, 5,
  6, 7, 2, 3, ...; the check digit is ``11 - (sum mod 11)``, with 11 written
  ``0`` and 10 written ``-`` (a KID may end in a hyphen).

The marketplace makes an order's KID from its order reference
(:func:`kid_for_order`): a numeric reference is the payload itself,
left-padded with zeros to a fixed length; any other reference is mapped to a
number of that length through SHA-256, so the same order always gets the
same KID and the bank's payment can be matched to it.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from marketplace.payments.errors import KidInvalid

__all__ = [
    "KID_MAX_LENGTH",
    "KID_MIN_LENGTH",
    "KidAlgorithm",
    "check_digit",
    "is_valid_kid",
    "kid_for_order",
    "make_kid",
    "mod10_check_digit",
    "mod11_check_digit",
    "validate_kid",
]

KidAlgorithm = Literal["MOD10", "MOD11"]
KID_MIN_LENGTH = 2
KID_MAX_LENGTH = 25


def _digits(payload: str) -> list[int]:
    if not payload or not payload.isascii() or not payload.isdigit():
        raise ValueError(f"a KID payload is one or more digits, not {payload!r}")
    return [int(char) for char in reversed(payload)]


def mod10_check_digit(payload: str) -> str:
    """The MOD10 (Luhn) check digit of the digits ``payload``."""
    total = 0
    for position, digit in enumerate(_digits(payload)):
        product = digit * (2 if position % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return str((10 - total % 10) % 10)


def mod11_check_digit(payload: str) -> str:
    """The MOD11 check digit of the digits ``payload`` (``-`` where it would be 10)."""
    total = sum(digit * (2 + position % 6) for position, digit in enumerate(_digits(payload)))
    check = 11 - total % 11
    if check == 11:
        return "0"
    return "-" if check == 10 else str(check)


def check_digit(payload: str, algorithm: KidAlgorithm) -> str:
    """The check digit of ``payload`` by ``algorithm``."""
    return mod10_check_digit(payload) if algorithm == "MOD10" else mod11_check_digit(payload)


def make_kid(payload: str, algorithm: KidAlgorithm) -> str:
    """``payload`` followed by its check digit."""
    kid = payload + check_digit(payload, algorithm)
    if not KID_MIN_LENGTH <= len(kid) <= KID_MAX_LENGTH:
        raise ValueError(f"a KID is {KID_MIN_LENGTH} to {KID_MAX_LENGTH} characters long")
    return kid


def is_valid_kid(kid: str, algorithm: KidAlgorithm) -> bool:
    """Whether ``kid`` (spaces ignored) is well formed and its check digit right."""
    kid = kid.replace(" ", "")
    if not KID_MIN_LENGTH <= len(kid) <= KID_MAX_LENGTH:
        return False
    payload, last = kid[:-1], kid[-1]
    try:
        return check_digit(payload, algorithm) == last
    except ValueError:
        return False


def validate_kid(kid: str, algorithm: KidAlgorithm) -> str:
    """``kid`` without spaces, or ``kid-invalid`` when it fails its check digit."""
    if not is_valid_kid(kid, algorithm):
        raise KidInvalid(f"{kid!r} is not a valid {algorithm} KID",
                         extra={"kid_algorithm": algorithm})
    return kid.replace(" ", "")


def kid_for_order(order_ref: str, algorithm: KidAlgorithm, length: int = 16) -> str:
    """The KID of order ``order_ref``: ``length`` characters, the last a check digit.

    A numeric reference that fits is used as it is (zero-padded); anything else
    is hashed to ``length - 1`` digits.
    """
    if not KID_MIN_LENGTH <= length <= KID_MAX_LENGTH:
        raise ValueError(f"a KID is {KID_MIN_LENGTH} to {KID_MAX_LENGTH} characters long")
    width = length - 1
    if order_ref.isascii() and order_ref.isdigit() and len(order_ref) <= width:
        payload = order_ref.zfill(width)
    else:
        number = int.from_bytes(hashlib.sha256(order_ref.encode()).digest(), "big")
        payload = str(number % 10**width).zfill(width)
    return make_kid(payload, algorithm)
