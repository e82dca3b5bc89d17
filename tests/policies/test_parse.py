"""Reading the DSP compact form and full JSON-LD, and writing the DSP form back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from policies import (
    PolicyValidationError,
    compile_policy,
    parse_policy,
    to_dsp,
    validate_policy,
)
from policies.model import Constraint, Value
from policies.presets import AccessLevel, traffic_light_offer
from tests.policies.conftest import CORPUS_CASES

DSP = ["https://w3id.org/dspace/2025/1/context.jsonld"]
ODRL_NS = "http://www.w3.org/ns/odrl/2/"

CANONICAL = {
    "@context": DSP,
    "@id": "urn:agreement:1",
    "@type": "Agreement",
    "profile": "https://w3id.org/dataspace-toolkit/odrl/profile",
    "conflict": "prohibit",
    "target": "urn:data:traffic",
    "assigner": "did:web:trondheim.kommune.no",
    "assignee": "did:web:acme.example",
    "timestamp": "2025-01-01T00:00:00Z",
    "permission": [
        {
            "@id": "urn:rule:1",
            "action": {
                "rdf:value": {"@id": "odrl:print"},
                "refinement": [
                    {
                        "leftOperand": "percentage",
                        "operator": "lteq",
                        "rightOperand": {"@value": "50", "@type": "xsd:decimal"},
                    }
                ],
            },
            "constraint": [
                {
                    "or": [
                        {
                            "leftOperand": "dateTime",
                            "operator": "lt",
                            "rightOperand": {"@value": "2026-01-01", "@type": "xsd:date"},
                        },
                        {
                            "leftOperand": "dst:credentialType",
                            "operator": "isAnyOf",
                            "rightOperand": ["MembershipCredential", "StudentCredential"],
                        },
                    ]
                },
                {"leftOperand": "spatial", "operator": "eq", "rightOperand": {"@id": "urn:x:no"}},
            ],
            "duty": [
                {
                    "@id": "urn:duty:1",
                    "action": "compensate",
                    "compensatedParty": "did:web:trondheim.kommune.no",
                    "consequence": [{"action": "inform"}],
                }
            ],
        }
    ],
    "prohibition": [
        {
            "action": "distribute",
            "target": {"@type": "AssetCollection", "@id": "urn:collection:personal"},
            "remedy": [{"action": "delete"}],
        }
    ],
    "obligation": [{"action": "dst:log"}],
    "dct:title": "An agreement",
}


def test_canonical_dsp_document_round_trips_exactly() -> None:
    assert to_dsp(parse_policy(CANONICAL)) == CANONICAL


@pytest.mark.parametrize(
    "case", [c for c in CORPUS_CASES if c.expected != "invalid"], ids=lambda c: c.id
)
def test_every_corpus_policy_round_trips(case: Any) -> None:
    policy = parse_policy(case.policy)
    once = to_dsp(policy)
    again = parse_policy(once)
    assert to_dsp(again) == once
    parents = {p["@id"]: parse_policy(p) for p in case.parents}
    assert compile_policy(again, parents=parents).plan.reads  # still compiles


def _use_under(*constraints: dict[str, Any]) -> dict[str, Any]:
    """A Set permitting use of urn:t under ``constraints``."""
    return {"@id": "urn:p", "@type": "Set", "target": "urn:t",
            "permission": [{"action": "use", "constraint": list(constraints)}]}  # fmt: skip


def test_json_numbers_become_typed_literals() -> None:
    doc = _use_under(
        {"leftOperand": "count", "operator": "lt", "rightOperand": 100},
        {"leftOperand": "payAmount", "operator": "gteq", "rightOperand": 2.5},
    )
    constraints = to_dsp(parse_policy(doc))["permission"][0]["constraint"]
    assert constraints[0]["rightOperand"] == {"@value": "100", "@type": "xsd:integer"}
    assert constraints[1]["rightOperand"] == {"@value": "2.5", "@type": "xsd:decimal"}


def test_typed_literal_with_full_xsd_iri_is_compacted() -> None:
    xsd_integer = "http://www.w3.org/2001/XMLSchema#integer"
    doc = _use_under({"leftOperand": "count", "operator": "lt",
                      "rightOperand": {"@value": "3", "@type": xsd_integer}})  # fmt: skip
    constraint = parse_policy(doc).permissions[0].constraints[0]
    assert isinstance(constraint, Constraint)
    assert constraint.right_operand == Value(value="3", datatype="xsd:integer")


def test_json_text_is_accepted_and_bad_json_is_an_issue() -> None:
    text = json.dumps({"@id": "urn:p", "@type": "Set", "target": "urn:t",
                       "permission": [{"action": "use"}]})  # fmt: skip
    assert parse_policy(text).uid == "urn:p"
    assert [i.code for i in validate_policy("{not json")] == ["invalid-json"]


# -- full JSON-LD through pyld ---------------------------------------------------------


def test_w3c_odrl_context_document() -> None:
    doc = {
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "uid": "http://example.com/policy:1010",
        "@type": "Set",
        "permission": [
            {
                "target": "http://example.com/asset:9898.movie",
                "action": "display",
                "constraint": [
                    {
                        "leftOperand": "dateTime",
                        "operator": "lt",
                        "rightOperand": {"@value": "2026-01-01", "@type": "xsd:date"},
                    }
                ],
            }
        ],
        "prohibition": [{"target": "http://example.com/asset:9898.movie", "action": "archive"}],
    }
    policy = parse_policy(doc)
    assert policy.uid == "http://example.com/policy:1010"
    assert policy.permissions[0].action is not None
    assert policy.permissions[0].action.name == "display"
    constraint = policy.permissions[0].constraints[0]
    assert isinstance(constraint, Constraint)
    assert constraint.right_operand == Value(value="2026-01-01", datatype="xsd:date")
    assert policy.prohibitions[0].action is not None


def test_expanded_iris_without_context() -> None:
    doc = {
        "@id": "urn:p:expanded",
        "@type": [ODRL_NS + "Offer"],
        ODRL_NS + "permission": [
            {
                ODRL_NS + "action": [{"@id": ODRL_NS + "read"}],
                ODRL_NS + "constraint": [
                    {
                        ODRL_NS + "leftOperand": [{"@id": ODRL_NS + "purpose"}],
                        ODRL_NS + "operator": [{"@id": ODRL_NS + "isAnyOf"}],
                        ODRL_NS + "rightOperand": [{"@value": "urn:a"}, {"@value": "urn:b"}],
                    }
                ],
            }
        ],
    }
    policy = parse_policy(doc)
    constraint = policy.permissions[0].constraints[0]
    assert isinstance(constraint, Constraint)
    assert constraint.left_operand == "purpose"
    assert constraint.right_operand == (Value(value="urn:a"), Value(value="urn:b"))


def test_inline_context_with_odrl_prefix() -> None:
    doc = {
        "@context": {"odrl": ODRL_NS, "dst": "https://w3id.org/dataspace-toolkit/odrl/"},
        "@id": "urn:p:prefixed",
        "@type": "odrl:Agreement",
        "odrl:profile": {"@id": "https://w3id.org/dataspace-toolkit/odrl/profile"},
        "odrl:target": {"@id": "urn:t"},
        "odrl:assigner": {"@id": "did:web:a"},
        "odrl:assignee": {"@id": "did:web:b"},
        "odrl:permission": {
            "odrl:action": {"@id": "odrl:use"},
            "odrl:constraint": {
                "odrl:leftOperand": {"@id": "dst:credentialType"},
                "odrl:operator": {"@id": "odrl:eq"},
                "odrl:rightOperand": "MembershipCredential",
            },
        },
    }
    policy = parse_policy(doc)
    assert policy.type == "Agreement"
    constraint = policy.permissions[0].constraints[0]
    assert isinstance(constraint, Constraint)
    assert constraint.left_operand == "dst:credentialType"


def test_remote_contexts_are_never_fetched() -> None:
    doc = {"@context": "https://example.com/my-context.jsonld", "@id": "urn:p", "@type": "Set"}
    issues = validate_policy(doc)
    assert [(i.code, i.path) for i in issues] == [("unknown-context", "/@context")]


def test_terms_the_context_does_not_define_are_reported_not_dropped() -> None:
    doc = {
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "@id": "urn:p",
        "@type": "Set",
        "permission": [{"target": "urn:t", "action": "use", "constrains": []}],
    }
    issues = validate_policy(doc)
    assert [i.code for i in issues] == ["unknown-property"]
    assert "constrains" in issues[0].message


def test_unknown_vocab_term_in_jsonld_is_an_error() -> None:
    doc = {
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "@id": "urn:p",
        "@type": "Set",
        "permission": [
            {
                "target": "urn:t",
                "action": "use",
                "constraint": [{"leftOperand": "partner", "operator": "eq", "rightOperand": "x"}],
            }
        ],
    }
    assert {i.code for i in validate_policy(doc)} == {"unknown-left-operand"}


def test_parse_error_lists_every_issue() -> None:
    doc = {
        "@id": "urn:p",
        "@type": "Set",
        "permission": [
            {"action": "nope", "target": "urn:t"},
            {"action": "read", "constraint": [
                {"leftOperand": "count", "operator": "lt", "rightOperand": "x"}]},
        ],
    }  # fmt: skip
    with pytest.raises(PolicyValidationError) as raised:
        parse_policy(doc)
    found = [(i.code, i.path) for i in raised.value.issues]
    assert found == [
        ("unknown-action", "/permission/0/action"),
        ("missing-target", "/permission/1"),
        ("invalid-value", "/permission/1/constraint/0"),
    ]


# -- against the DSP 2025-1 contract schema ---------------------------------------------


@pytest.fixture(scope="module")
def contract_schema(shared_dir: Path) -> dict[str, Any]:
    path = shared_dir / "specs" / "dsp-2025-1" / "negotiation" / "contract-schema.json"
    schema: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return schema


def test_serialised_agreement_validates_against_dsp_schema(
    contract_schema: dict[str, Any],
) -> None:
    # DSP's schema allows only string actions, so a refined action (an ODRL action
    # object) is valid ODRL but not DSP: leave it out here.
    doc = json.loads(json.dumps(CANONICAL))
    doc["permission"][0]["action"] = "print"
    body = to_dsp(parse_policy(doc), context=False)
    jsonschema.Draft201909Validator(contract_schema).validate(body)


def test_serialised_offer_with_target_validates_against_dsp_schema(
    contract_schema: dict[str, Any],
) -> None:
    offer = traffic_light_offer(AccessLevel.PUBLIC, offer_id="urn:o:1", assigner="did:web:a")
    body = to_dsp(offer, context=False)
    body["target"] = "urn:data:traffic"  # as a ContractRequestMessage carries it
    jsonschema.Draft201909Validator(contract_schema).validate(body)
