"""The EBSI Trusted Issuers Registry's issuer types, with no I/O (domain code may import it)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["IssuerType"]


class IssuerType(StrEnum):
    """EBSI TIR issuer types."""

    ROOT_TAO = "RootTAO"
    TAO = "TAO"
    TI = "TI"
    REVOKED = "Revoked"
