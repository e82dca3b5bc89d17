"""Encodings and the clock: properties that must hold for any input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity import (
    CredentialVerifier,
    DidResolver,
    Signer,
    build_credential,
    issue_vc_jwt,
)
from identity.encoding import (
    b58decode,
    b58encode,
    b64url_decode,
    b64url_encode,
    multibase_decode,
    multibase_encode,
    varint_decode,
    varint_encode,
)
from identity.status_list import StatusList
from tests.identity.conftest import refusal


@given(st.binary(max_size=80))
def test_base58_and_base64url_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data
    assert b64url_decode(b64url_encode(data)) == data
    assert multibase_decode(multibase_encode(data, "z")) == data
    assert multibase_decode(multibase_encode(data, "u")) == data


@given(st.integers(min_value=0, max_value=2**40))
def test_varint_round_trip(value: int) -> None:
    assert varint_decode(varint_encode(value) + b"rest") == (value, len(varint_encode(value)))


def test_multicodec_prefixes() -> None:
    assert varint_encode(0xED) == b"\xed\x01"
    assert varint_encode(0x1200) == b"\x80\x24"


@pytest.mark.parametrize("bad", ["a=", "a+b", "a/b", "é"])
def test_base64url_is_strict(bad: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(bad)


@given(st.sets(st.integers(min_value=0, max_value=131_071), max_size=40))
def test_status_list_round_trip(indices: set[int]) -> None:
    bits = StatusList()
    for index in indices:
        bits.set(index)
    decoded = StatusList.decode(bits.encode())
    assert {i for i in indices if decoded.get(i)} == indices
    assert sum(bin(b).count("1") for b in decoded.to_bytes()) == len(indices)


async def test_the_clock_answers_epoch_seconds(issuer: Signer) -> None:
    moment = datetime(2025, 6, 1, tzinfo=UTC)
    credential = build_credential(issuer=issuer.did, subject={"id": "x:y"}, valid_until=moment)
    token = issue_vc_jwt(credential, issuer)
    async with DidResolver(clock=moment.timestamp) as resolver:
        day_before = datetime(2025, 5, 31, tzinfo=UTC).timestamp()
        await CredentialVerifier(resolver, clock=lambda: day_before).verify(token)
        day_after = datetime(2025, 6, 2, tzinfo=UTC).timestamp()
        late = CredentialVerifier(resolver, clock=lambda: day_after)
        assert await refusal(late.verify(token)) == "credential-expired"
