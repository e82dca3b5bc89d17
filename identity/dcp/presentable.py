"""What a holder presents: its good credentials, the newest first.

A holder's store keeps what its issuers delivered, including credentials an
issuer has since revoked (a cancelled purchase) or that have expired. A
verifier refuses a presentation resting on a revoked credential, so a holder
that presented the old credential next to its renewal would be refused for
the old one. :func:`presentable` judges each selected credential as a
verifier would, with the holder's own
:class:`~identity.vc_verify.CredentialVerifier` (its status checker caches
each status list for its TTL, its token cache each conclusion):

* expired, or not yet valid: left out;
* revoked or suspended: left out while, for each of its types, a good
  credential of that type remains; otherwise presented, so that the
  verifier's refusal says why (``credential-revoked``) rather than that
  nothing was presented;
* good: presented;
* not verifiable just now (an issuer's DID or status list out of reach):
  presented as it is, for the verifier to judge.

The result is ordered newest first (by ``validFrom``), so a verifier that
reads the first credential of a type reads the current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING

from identity.errors import VerificationError
from identity.vc_verify import WITHDRAWN, CredentialVerifier
from servicekit.clock import epoch_from_datetime

if TYPE_CHECKING:
    from identity.dcp.holder import StoredCredential

__all__ = ["presentable"]

_BASE_TYPE = "VerifiableCredential"
_OUT_OF_PERIOD = frozenset({"credential-expired", "credential-not-yet-valid"})


class _Verdict(Enum):
    GOOD = "good"
    WITHDRAWN = "withdrawn"
    OUT_OF_PERIOD = "out-of-period"
    UNKNOWN = "unknown"


async def _judge(
    verifier: CredentialVerifier, credential: StoredCredential
) -> tuple[_Verdict, float]:
    """The verdict on one credential, and when it took effect (``-inf`` if unknown)."""
    try:
        verified = await verifier.verify(credential.raw)
    except VerificationError as exc:
        if exc.code in WITHDRAWN:
            return _Verdict.WITHDRAWN, float("-inf")
        if exc.code in _OUT_OF_PERIOD:
            return _Verdict.OUT_OF_PERIOD, float("-inf")
        return _Verdict.UNKNOWN, float("-inf")
    start = verified.valid_from
    return _Verdict.GOOD, epoch_from_datetime(start) if start is not None else float("-inf")


async def presentable(
    credentials: Sequence[StoredCredential], verifier: CredentialVerifier
) -> list[StoredCredential]:
    """The credentials of ``credentials`` to present, the newest first (see the module)."""
    judged = [(c, *await _judge(verifier, c)) for c in credentials]
    good = {t for c, verdict, _ in judged if verdict is _Verdict.GOOD
            for t in c.types if t != _BASE_TYPE}
    kept = [
        (c, since) for c, verdict, since in judged
        if verdict in (_Verdict.GOOD, _Verdict.UNKNOWN)
        or (verdict is _Verdict.WITHDRAWN
            and not {t for t in c.types if t != _BASE_TYPE} <= good)
    ]
    kept.sort(key=lambda item: item[1], reverse=True)  # stable: ties keep the store's order
    return [c for c, _ in kept]
