"""The standing check's judgement of a consumer's credentials (the e2e runs in test_dcp_e2e)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from connector.domain.caller import Caller, Standing
from connector.services.standing import StandingCheck
from connector.services.transfers import TransferService
from connector.trust import Trust
from identity.status_check import StatusListChecker
from identity.trusted_issuers import TrustDecision

NOW = 1_900_000_000.0
ISSUER = "did:web:ta.example"
ENTRY = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
         "statusListIndex": "7", "statusListCredential": "https://ta.example/status/1"}


class _Registry:
    def __init__(self, trusted: bool) -> None:
        self.trusted = trusted
        self.asked: list[tuple[str, str]] = []

    async def check(self, issuer: str, credential_type: str) -> TrustDecision:
        self.asked.append((issuer, credential_type))
        return TrustDecision(self.trusted, issuer, credential_type,
                             "accredited" if self.trusted else "revoked")


async def _unreachable(url: str) -> bytes:
    raise OSError(f"{url} is down")


def _check(*, trusted: bool = True) -> tuple[StandingCheck, _Registry]:
    registry = _Registry(trusted)
    trust = SimpleNamespace(status=StatusListChecker(fetcher=_unreachable),
                            credentials=None, registry=registry)
    check = StandingCheck(cast(TransferService, None), cast(Trust, trust), interval=1.0,
                          clock=lambda: NOW)
    return check, registry


def _membership(**fields: Any) -> Standing:
    return Standing(**({"issuer": ISSUER, "types": ("MembershipCredential",),
                        "id": "urn:uuid:m1"} | fields))


async def test_an_expired_credential_lapses() -> None:
    check, _ = _check()
    lapse = await check.lapse([_membership(valid_until=NOW - 1)])
    assert lapse is not None
    assert lapse.code == "credential-expired"
    assert "MembershipCredential" in lapse.reason
    assert await check.lapse([_membership(valid_until=NOW + 60)]) is None


async def test_an_issuer_no_longer_accredited_lapses() -> None:
    check, registry = _check(trusted=False)
    lapse = await check.lapse([_membership()])
    assert lapse is not None
    assert lapse.code == "issuer-not-trusted"
    assert registry.asked == [(ISSUER, "MembershipCredential")]
    trusted, _ = _check(trusted=True)
    assert await trusted.lapse([_membership()]) is None


async def test_an_unreachable_status_list_leaves_the_transfer_running() -> None:
    # Fail open for running transfers (new DSP requests fail closed): an outage of the
    # trust anchor must not cut every transfer in the data space.
    check, registry = _check(trusted=False)
    assert await check.lapse([_membership(status=(ENTRY,))]) is None
    assert registry.asked == []  # the unknown status stopped the judgement of that credential


def test_standing_survives_its_json_form_and_drops_malformed_items() -> None:
    item = _membership(valid_until=NOW, status=(ENTRY,))
    caller = Caller("did:web:c.example", standing=(item,))
    back = Caller.from_summary(caller.summary())
    assert back.standing == (item,)
    assert Standing.list_from_json([item.to_json(), {"types": ["X"]}, "junk", None]) == (item,)
    assert Standing.list_from_json("not a list") == ()
