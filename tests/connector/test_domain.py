"""The pure parts: state machines, schemas, the auth and signaling seams, catalog rendering."""

from __future__ import annotations

import filecmp
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import make_mocked_request

from connector.auth import CallerCache, FixedTokenAuth
from connector.domain.caller import Caller
from connector.domain.catalog import Backend, Dataset, render_dataset
from connector.domain.negotiation import (
    NEGOTIATION_TRANSITIONS,
    Negotiation,
    NegotiationAction,
    NegotiationState,
    Role,
)
from connector.domain.policy import check_offer
from connector.domain.transfer import TRANSFER_TRANSITIONS, Transfer, TransferAction, TransferState
from connector.protocol.schemas import SCHEMA_DIR, SchemaValidator
from connector.settings import FixedCaller
from connector.signaling import DataFlow, EndpointDataReference, InProcessSignaling
from identity.keys import KeyPair
from identity.signer import Signer
from servicekit.errors import IllegalTransition, Unauthorized, ValidationFailed
from tests.conftest import SHARED

N = NegotiationState
T = TransferState

NEGOTIATION_EDGES = {
    (None, N.REQUESTED), (None, N.OFFERED),
    (N.REQUESTED, N.OFFERED), (N.REQUESTED, N.AGREED), (N.REQUESTED, N.TERMINATED),
    (N.OFFERED, N.REQUESTED), (N.OFFERED, N.ACCEPTED), (N.OFFERED, N.TERMINATED),
    (N.ACCEPTED, N.AGREED), (N.ACCEPTED, N.TERMINATED),
    (N.AGREED, N.VERIFIED), (N.AGREED, N.TERMINATED),
    (N.VERIFIED, N.FINALIZED), (N.VERIFIED, N.TERMINATED),
}
TRANSFER_EDGES = {
    (None, T.REQUESTED),
    (T.REQUESTED, T.STARTED), (T.REQUESTED, T.TERMINATED),
    (T.STARTED, T.SUSPENDED), (T.STARTED, T.COMPLETED), (T.STARTED, T.TERMINATED),
    (T.SUSPENDED, T.STARTED), (T.SUSPENDED, T.TERMINATED),
}


def test_negotiation_table_is_the_dsp_machine_exactly() -> None:
    for current in (None, *N):
        for target in N:
            allowed = (current, target) in NEGOTIATION_EDGES
            assert NEGOTIATION_TRANSITIONS.can(current, target) is allowed, (current, target)
    with pytest.raises(IllegalTransition) as caught:
        NEGOTIATION_TRANSITIONS.check(N.FINALIZED, N.TERMINATED)
    assert caught.value.extra == {"from": "FINALIZED", "to": "TERMINATED"}


def test_transfer_table_is_the_dsp_machine_exactly() -> None:
    for current in (None, *T):
        for target in T:
            allowed = (current, target) in TRANSFER_EDGES
            assert TRANSFER_TRANSITIONS.can(current, target) is allowed, (current, target)


def _negotiation(role: Role, state: N) -> Negotiation:
    return Negotiation(id="n", role=role, state=state, provider_pid="p", consumer_pid="c",
                       counterparty_id="x", counterparty_address="http://x",
                       created_at=0, updated_at=0)


def test_each_side_takes_only_its_own_actions() -> None:
    provider = _negotiation(Role.PROVIDER, N.REQUESTED)
    consumer = _negotiation(Role.CONSUMER, N.OFFERED)
    assert provider.can_take(NegotiationAction.AGREE)
    assert provider.can_take(NegotiationAction.OFFER)
    assert not provider.can_take(NegotiationAction.ACCEPT)
    assert consumer.can_take(NegotiationAction.ACCEPT)
    assert consumer.can_take(NegotiationAction.REQUEST)
    assert not consumer.can_take(NegotiationAction.OFFER)
    assert not _negotiation(Role.PROVIDER, N.FINALIZED).can_take(NegotiationAction.TERMINATE)
    transfer = Transfer(id="t", role=Role.CONSUMER, state=T.REQUESTED, provider_pid=None,
                        consumer_pid="t", agreement_id="a", counterparty_id="x",
                        counterparty_address="http://x", format="HttpData-PULL",
                        created_at=0, updated_at=0)
    assert not transfer.can_take(TransferAction.START)
    assert transfer.model_copy(update={"state": T.SUSPENDED}).can_take(TransferAction.START)
    assert not transfer.model_copy(update={"state": T.SUSPENDED}).can_take(
        TransferAction.COMPLETE)


def test_packaged_schemas_are_the_official_ones_unchanged() -> None:
    official = SHARED / "specs" / "dsp-2025-1"
    packaged = sorted(p.relative_to(SCHEMA_DIR) for p in SCHEMA_DIR.rglob("*.json*"))
    assert len(packaged) == 28  # 26 schemas and 2 contexts
    for relative in packaged:
        assert filecmp.cmp(SCHEMA_DIR / relative, official / relative, shallow=False), relative


def test_the_loader_repairs_the_broken_transfer_refs() -> None:
    raw = (SCHEMA_DIR / "transfer/transfer-termination-message-schema.json").read_text()
    assert "#definitions/" in raw  # the quirk is still in the file...
    validator = SchemaValidator(SCHEMA_DIR)
    message = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
               "@type": "TransferTerminationMessage", "providerPid": "p", "consumerPid": "c"}
    validator.validate(message)  # ...and resolved here
    del message["providerPid"]
    with pytest.raises(ValidationFailed) as caught:
        validator.validate(message)
    assert caught.value.code == "dsp-schema-violation"
    assert validator.errors({"@type": "Nope"})[0]["code"] == "dsp-type-unknown"
    assert validator.errors([])[0]["code"] == "dsp-not-an-object"


def test_catalog_datasets_never_carry_the_backend_and_validate() -> None:
    dataset = Dataset(id="d1", title="Roads", keywords=["roads"], license="https://nlod",
                      backend=Backend(address="https://secret.internal/db",
                                      properties={"password": "hunter2"}),
                      created_at=0, updated_at=0)
    rendered = render_dataset(dataset, [("o1", {"permission": [{"action": "use"}],
                                                "title": "ignored"})], access_service="svc")
    text = str(rendered)
    assert "secret.internal" not in text
    assert "hunter2" not in text
    assert "target" not in rendered["hasPolicy"][0]
    assert rendered["hasPolicy"][0] == {"@id": "o1", "@type": "Offer",
                                        "permission": [{"action": "use"}]}
    SchemaValidator(SHARED / "specs" / "dsp-2025-1").validate(
        {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], **rendered}, "Dataset")


def test_offers_are_checked_against_verified_claims() -> None:
    profile = "https://w3id.org/dataspace-toolkit/odrl/profile"
    policy: dict[str, Any] = {"profile": profile, "permission": [{"action": "use", "constraint": [
        {"leftOperand": "dst:claim/MembershipCredential/level", "operator": "eq",
         "rightOperand": "gold"}]}]}
    gold = Caller("did:a", frozenset({"MembershipCredential"}),
                  {"MembershipCredential": {"level": "gold"}})
    silver = Caller("did:b", frozenset({"MembershipCredential"}),
                    {"MembershipCredential": {"level": "silver"}})
    assert check_offer("o", policy, target="d", caller=gold).satisfied
    verdict = check_offer("o", policy, target="d", caller=silver)
    assert not verdict.satisfied
    assert verdict.reasons


async def test_fixed_tokens_accept_bare_and_bearer_and_refuse_others() -> None:
    auth = FixedTokenAuth({"s3cret": FixedCaller(id="did:web:a", credential_types=["M"])},
                          outbound="mine")
    for header in ("s3cret", "Bearer s3cret", "bearer  s3cret"):
        caller = await auth.authenticate(make_mocked_request(
            "GET", "/", headers={"Authorization": header}))
        assert caller.id == "did:web:a"
        assert caller.credential_types == frozenset({"M"})
    for headers in ({}, {"Authorization": "Bearer s3cre"}, {"Authorization": "Basic s3cret"}):
        with pytest.raises(Unauthorized):
            await auth.authenticate(make_mocked_request("GET", "/", headers=headers))
    assert await auth.token_for("did:web:b", ["scope"]) == "mine"


def test_caller_cache_respects_expiry_and_size() -> None:
    now = [1000.0]
    cache = CallerCache(max_age=60, max_entries=2, clock=lambda: now[0])
    cache.put("t1", Caller("did:1"))
    cache.put("t2", Caller("did:2", expires_at=1010.0))
    assert cache.get("t1") == Caller("did:1")
    now[0] = 1011.0
    assert cache.get("t2") is None
    cache.put("t3", Caller("did:3"))
    cache.put("t4", Caller("did:4"))
    assert cache.get("t1") is None  # least recently used went first
    assert cache.get("t4") is not None


async def test_in_process_signaling_mints_short_lived_tokens(tmp_path: Path) -> None:
    signer = Signer.for_did(KeyPair.generate(), "did:web:provider.example")
    signaling = InProcessSignaling(signer, data_plane_url="https://dp.example/data/",
                                   token_seconds=120)
    flow = DataFlow(transfer_id="t1", agreement_id="a1", dataset_id="d1", consumer_id="did:c",
                    format="HttpData-PULL")
    await signaling.prepare(flow)
    edr = await signaling.start(flow)
    claims = jwt.decode(edr.token, options={"verify_signature": False})
    assert edr.endpoint == "https://dp.example/data"
    assert claims["iss"] == "did:web:provider.example"
    assert claims["transfer_id"] == "t1"
    assert claims["exp"] - time.time() <= 121
    assert signaling.is_live("t1")
    back = EndpointDataReference.from_data_address("t1", edr.to_data_address())
    assert back is not None
    assert back.token == edr.token
    await signaling.suspend("t1")
    assert not signaling.is_live("t1")
    await signaling.start(flow)
    await signaling.terminate("t1")
    assert signaling.stopped["t1"] == "terminated"


def _mutations(example: dict[str, Any]) -> list[dict[str, Any]]:
    """Invalid variants of a valid message: constrained values and structure changed."""
    import copy

    out = []
    for key, bad in (("@type", "NotAType"), ("state", "DONE"), ("eventType", "MAYBE"),
                     ("@context", ["https://example.org/other"])):
        if key in example:
            out.append(example | {key: bad})
    text = json.dumps(example)
    for good, bad in (('"operator": "lteq"', '"operator": "about"'),
                      ('"timestamp": "2023-01-01T01:00:00Z"', '"timestamp": "yesterday"')):
        if good in text:
            out.append(json.loads(text.replace(good, bad)))
    for key in list(example):
        if key not in ("@context", "@type"):
            smaller = copy.deepcopy(example)
            del smaller[key]
            out.append(smaller)
    return out


def test_validation_by_shape_agrees_with_full_validation() -> None:
    official = SHARED / "specs" / "dsp-2025-1"
    fresh = SchemaValidator(SCHEMA_DIR)
    checked = 0
    for path in sorted(official.rglob("example/*.json")):
        example = json.loads(path.read_text())
        kind = example.get("@type") or ("VersionResponse" if "protocolVersions" in example
                                        else None)
        if kind is None or kind not in fresh.message_types:
            continue
        for variant in [example, *_mutations(example)]:
            full = fresh.errors(variant, kind) == []
            shape = fresh.errors(fresh.shape(variant), kind) == []
            assert full == shape, (path.name, variant)
            checked += 1
    assert checked > 100
    assert {"@type", "@context", "state", "eventType", "operator", "timestamp"} <= (
        fresh.constrained)


def test_a_cached_shape_still_refuses_a_bad_constrained_value() -> None:
    validator = SchemaValidator(SCHEMA_DIR)
    event = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
             "@type": "ContractNegotiationEventMessage", "providerPid": "p1",
             "consumerPid": "c1", "eventType": "ACCEPTED"}
    validator.validate(event)
    validator.validate(event | {"providerPid": "another", "consumerPid": "pid"})
    with pytest.raises(ValidationFailed):
        validator.validate(event | {"eventType": "REJECTED"})
    with pytest.raises(ValidationFailed):
        validator.validate(event | {"providerPid": 7})
