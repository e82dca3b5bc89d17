"""The VC 2.0 data-model validator, rule by rule (the corpus in tests/trust_anchor/vc_corpus.py)."""

from __future__ import annotations

from typing import Any

import pytest

from identity.errors import DataModelError, VerificationError
from identity.vc_envelope import validate_envelope
from identity.vc_model import parse_datetime_stamp, validate_credential, validate_presentation
from tests.trust_anchor.vc_corpus import (
    CASES,
    DEGREE_SCHEMA,
    DEGREE_SCHEMA_URL,
    JOSE_CASES,
    V2,
    Case,
)

ISSUER = "did:example:issuer"
SCHEMAS = {DEGREE_SCHEMA_URL: DEGREE_SCHEMA}


@pytest.mark.parametrize("case", CASES + JOSE_CASES, ids=[c.rule for c in CASES + JOSE_CASES])
def test_each_rule_accepts_the_valid_and_refuses_the_invalid(case: Case) -> None:
    validate_credential(case.credential("valid", ISSUER), schemas=SCHEMAS)
    with pytest.raises(DataModelError) as err:
        validate_credential(case.credential("invalid", ISSUER), schemas=SCHEMAS)
    assert (err.value.code, err.value.pointer) == (case.code, case.pointer), err.value.detail
    assert err.value.status == 422
    assert isinstance(err.value, VerificationError)  # verification paths catch it as before
    assert err.value.to_problem()["pointer"] == case.pointer


def test_without_expansion_only_the_structure_is_checked() -> None:
    undefined = next(c for c in CASES if c.rule == "term-defined").credential("invalid", ISSUER)
    validate_credential(undefined, expand=False)
    with pytest.raises(DataModelError):
        validate_credential(undefined)


@pytest.mark.parametrize(("text", "ok"), [
    ("2025-01-31T12:00:00Z", True), ("2025-01-31T12:00:00.123+05:30", True),
    ("2025-01-31T24:00:00Z", True), ("2025-01-31T12:00:00", False),
    ("2025-01-31", False), ("2025-02-30T12:00:00Z", False), ("2025-01-31T12:00:00+15:00", False),
    ("2025-1-31T12:00:00Z", False), ("0000-01-01T00:00:00Z", False),
])
def test_date_time_stamps(text: str, ok: bool) -> None:
    if ok:
        assert parse_datetime_stamp(text, "/validFrom").tzinfo is not None
    else:
        with pytest.raises(DataModelError):
            parse_datetime_stamp(text, "/validFrom")


def test_the_time_line_not_the_text_orders_validity() -> None:
    credential: dict[str, Any] = {
        "@context": [V2], "type": "VerifiableCredential", "issuer": ISSUER,
        "credentialSubject": {"name": "Alice"},
        # 10:00+02:00 is 08:00Z: before 09:00Z although the text sorts after it
        "validFrom": "2025-01-01T10:00:00+02:00", "validUntil": "2025-01-01T09:00:00Z",
    }
    validate_credential(credential)
    credential["validUntil"] = "2025-01-01T07:59:59Z"
    with pytest.raises(DataModelError) as err:
        validate_credential(credential)
    assert err.value.code == "validity-period-invalid"


ENVELOPE = {"@context": V2, "type": "EnvelopedVerifiableCredential",
            "id": "data:application/vc+jwt,eyJhbGciOiJFZERTQSJ9.e30.c2ln"}


@pytest.mark.parametrize(("change", "pointer"), [
    ({"@context": []}, "/@context"),
    ({"@context": "https://www.w3.org/ns/credentials/examples/v2"}, "/@context"),
    ({"@context": ["https://www.w3.org/ns/credentials/examples/v2"]}, "/@context"),
    ({"type": ["VerifiableCredential"]}, "/type"),
    ({"type": None}, "/type"),
    ({"id": "eyJhbGciOiJFZERTQSJ9.e30.c2ln"}, "/id"),
    ({"id": "data:text/plain,eyJhbGciOiJFZERTQSJ9.e30.c2ln"}, "/id"),
])
def test_envelopes_need_the_base_context_type_and_a_data_url(
    change: dict[str, Any], pointer: str
) -> None:
    assert validate_envelope(ENVELOPE, "EnvelopedVerifiableCredential") == (
        "application/vc+jwt", "eyJhbGciOiJFZERTQSJ9.e30.c2ln")
    with pytest.raises(DataModelError) as err:
        validate_envelope({**ENVELOPE, **change}, "EnvelopedVerifiableCredential")
    assert (err.value.code, err.value.pointer) == ("envelope-invalid", pointer)


def test_presentations_hold_objects_and_their_credentials_are_checked() -> None:
    credential = CASES[0].credential("valid", ISSUER)
    presentation: dict[str, Any] = {"@context": [V2], "type": ["VerifiablePresentation"],
                                    "holder": {"id": "did:example:holder"},
                                    "verifiableCredential": [credential, ENVELOPE]}
    validate_presentation(presentation)
    for change, code, pointer in (
        ({"type": ["VerifiableCredential"]}, "type-invalid", "/type"),
        ({"holder": "not a url"}, "presentation-invalid", "/holder"),
        ({"verifiableCredential": ["data:application/vc+jwt,x.y.z"]},
         "presentation-invalid", "/verifiableCredential/0"),
        ({"verifiableCredential": [{**credential, "validFrom": "yesterday"}]},
         "datetime-invalid", "/verifiableCredential/0/validFrom"),
        ({"verifiableCredential": [{**ENVELOPE, "@context": []}]},
         "envelope-invalid", "/verifiableCredential/0/@context"),
    ):
        with pytest.raises(DataModelError) as err:
            validate_presentation({**presentation, **change})
        assert (err.value.code, err.value.pointer) == (code, pointer)


def test_a_held_schema_never_makes_us_fetch_another() -> None:
    credential = CASES[0].credential("valid", ISSUER)
    credential["credentialSchema"] = {"id": "https://schemas.example.org/remote.json",
                                      "type": "JsonSchema"}
    held = {"https://schemas.example.org/remote.json": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "https://schemas.example.org/elsewhere.json"}}
    with pytest.raises(DataModelError) as err:
        validate_credential(credential, schemas=held)
    assert (err.value.code, err.value.pointer) == ("schema-invalid", "/credentialSchema/id")
