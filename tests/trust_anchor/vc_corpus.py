"""A table of VC 2.0 data-model rules: for each, one valid and one invalid credential.

Each :class:`Case` changes a valid base credential twice: ``valid`` keeps it
conforming while exercising the rule, ``invalid`` breaks the rule; ``code``
and ``pointer`` are what a refusal must say. The base has no ``issuer``:
the trust anchor adds its own, and tests that sign themselves set one.
Used by the validator's unit tests and by the VC-API tests (issue and
verify, both proof forms).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
#: A JSON Schema the trust anchor holds in the corpus tests (VC JSON Schema 1.0: the
#: schema applies to the whole credential).
DEGREE_SCHEMA_URL = "https://schemas.example.org/degree.json"
DEGREE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": DEGREE_SCHEMA_URL,
    "type": "object",
    "required": ["credentialSubject"],
    "properties": {
        "credentialSubject": {
            "type": "object",
            "required": ["degree"],
            "properties": {"degree": {"type": "string", "minLength": 2}},
        }
    },
}
# The SHA-384 SRI and multibase SHA-256 of a resource (syntax is what is checked).
GOOD_SRI = "sha384-l/HrjlBCNWyAX91hr6LFV2Y3heB5Tcr6IeE4/Tje8YyzYBM8IhqjHWiWpr8+ZbYU"
GOOD_MULTIBASE = "uWZVc7WaX1h4D8rJVb-vlMIqxaEKEb1tYbX8fet7JJzQ"

Change = Callable[[dict[str, Any]], None]


def base_credential() -> dict[str, Any]:
    return {
        "@context": [V2, EXAMPLES],
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
                              "degree": "Bachelor of Science and Arts"},
    }


@dataclass(frozen=True)
class Case:
    rule: str
    valid: Change
    invalid: Change
    code: str
    pointer: str

    def credential(self, which: str, issuer: str | None = None) -> dict[str, Any]:
        credential = base_credential()
        if issuer is not None:
            credential["issuer"] = issuer
        (self.valid if which == "valid" else self.invalid)(credential)
        return copy.deepcopy(credential)


def _set(**members: Any) -> Change:
    def change(credential: dict[str, Any]) -> None:
        credential.update(copy.deepcopy(members))
    return change


def _subject(**members: Any) -> Change:
    def change(credential: dict[str, Any]) -> None:
        credential["credentialSubject"].update(copy.deepcopy(members))
    return change


def _drop_context(credential: dict[str, Any]) -> None:
    del credential["@context"]


def _no_issuer_id(credential: dict[str, Any]) -> None:
    credential["issuer"] = {"name": "Data space operator"}


def _issuer_object(credential: dict[str, Any]) -> None:
    credential["issuer"] = {"id": credential.get("issuer", "did:example:placeholder"),
                            "name": "Data space operator"}


def _nothing(credential: dict[str, Any]) -> None:
    pass


STATUS = {"id": "https://status.example.org/lists/1#94567", "type": "ExampleStatusEntry"}

CASES: list[Case] = [
    Case("context-present", _nothing, _drop_context, "context-invalid", "/@context"),
    Case("context-first-item", _set(**{"@context": [V2, EXAMPLES]}),
         _set(**{"@context": [EXAMPLES, V2]}), "context-invalid", "/@context/0"),
    Case("context-items", _set(**{"@context": [V2, EXAMPLES, {"ex": "https://example.org/ns#"}]}),
         _set(**{"@context": [V2, EXAMPLES, 42]}), "context-invalid", "/@context/2"),
    Case("context-local-only", _set(**{"@context": [V2, UNDEFINED_TERMS]}),
         _set(**{"@context": [V2, "https://contexts.example.org/degree/v1"]}),
         "context-unknown", "/@context/1"),
    Case("term-defined", _set(**{"@context": [V2, EXAMPLES]}), _set(**{"@context": [V2]}),
         "term-undefined", "/credentialSubject/degree"),
    Case("protected-term",
         _set(**{"@context": [V2, EXAMPLES, {"alumniOf": "https://schema.org/alumniOf"}]}),
         _set(**{"@context": [V2, EXAMPLES, {"name": "https://example.org/ns#name"}]}),
         "term-protected", "/@context"),
    Case("type-verifiable-credential", _set(type=["VerifiableCredential"]),
         _set(type=["ExampleDegreeCredential"]), "type-invalid", "/type"),
    Case("type-several", _set(type=["VerifiableCredential", "ExampleDegreeCredential",
                                    "ExampleAlumniCredential"]),
         _set(type=[]), "type-invalid", "/type"),
    Case("type-iri",
         _set(**{"@context": [V2, EXAMPLES, {"ExampleDegreeCredential":
                                               "https://example.org/ns#Degree"}]}),
         _set(**{"@context": [V2, {"degree": "https://example.org/ns#degree"}]}),
         "type-invalid", "/type"),
    Case("id-url", _set(id="urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33"),
         _set(id="not a url"), "id-invalid", "/id"),
    Case("issuer-object", _issuer_object, _no_issuer_id, "issuer-invalid", "/issuer/id"),
    Case("issuer-not-null", _nothing, _set(issuer=None), "issuer-invalid", "/issuer"),
    Case("subject-set", _set(credentialSubject=[{"degree": "BSc"}, {"degree": "MSc"}]),
         _set(credentialSubject="did:example:ebfeb1f712ebc6f1c276e12ec21"),
         "subject-invalid", "/credentialSubject"),
    Case("subject-without-id", _set(credentialSubject={"degree": "BSc"}),
         _set(credentialSubject=[{"degree": "BSc"}, {}]),
         "subject-invalid", "/credentialSubject/1"),
    Case("valid-from-datetime-stamp", _set(validFrom="2024-01-01T00:00:00+02:00"),
         _set(validFrom="2024-01-01T00:00:00"), "datetime-invalid", "/validFrom"),
    Case("valid-until-datetime-stamp", _set(validUntil="2099-12-31T23:59:59.5Z"),
         _set(validUntil="31.12.2099"), "datetime-invalid", "/validUntil"),
    Case("validity-order", _set(validFrom="2024-01-01T00:00:00Z",
                                validUntil="2099-01-01T01:00:00+01:00"),
         _set(validFrom="2024-01-01T00:00:00Z", validUntil="2023-12-31T23:59:59Z"),
         "validity-period-invalid", "/validUntil"),
    Case("name-language", _set(name=[{"@value": "Bachelorgrad", "@language": "nb"},
                                     {"@value": "Bachelor degree", "@language": "en"}]),
         _set(name={"value": "Bachelorgrad"}), "language-value-invalid", "/name"),
    Case("description-string", _set(description="A degree"),
         _set(description=42), "language-value-invalid", "/description"),
    Case("status-type", _set(credentialStatus=STATUS),
         _set(credentialStatus={"id": STATUS["id"]}), "type-invalid", "/credentialStatus/type"),
    Case("schema-held", _set(credentialSchema={"id": DEGREE_SCHEMA_URL, "type": "JsonSchema"}),
         _set(credentialSchema={"id": DEGREE_SCHEMA_URL, "type": "JsonSchema"},
              credentialSubject={"degree": "B"}),
         "schema-mismatch", "/credentialSubject/degree"),
    Case("schema-type", _set(credentialSchema={"id": "https://example.org/s.json",
                                               "type": "JsonSchema"}),
         _set(credentialSchema={"id": "https://example.org/s.json"}),
         "type-invalid", "/credentialSchema/type"),
    Case("refresh-service-type",
         _set(refreshService={"id": "https://example.org/refresh", "type": "ExampleRefresh"}),
         _set(refreshService={"id": "https://example.org/refresh"}),
         "type-invalid", "/refreshService/type"),
    Case("terms-of-use-type", _set(termsOfUse=[{"type": "ExampleTermsOfUse"}]),
         _set(termsOfUse=[{"id": "https://example.org/tou"}]),
         "type-invalid", "/termsOfUse/0/type"),
    Case("evidence-type", _set(evidence=[{"type": ["ExampleEvidence"]}]),
         _set(evidence=[{"id": "https://example.org/evidence/1"}]),
         "type-invalid", "/evidence/0/type"),
    Case("reserved-extension-type",
         _set(confidenceMethod={"type": "ExampleConfidenceMethod"}),
         _set(renderMethod={"id": "https://example.org/render/1"}),
         "type-invalid", "/renderMethod/type"),
    Case("related-resource-sri",
         _set(relatedResource=[{"id": "https://example.org/a", "digestSRI": GOOD_SRI}]),
         _set(relatedResource=[{"id": "https://example.org/a", "digestSRI": "sha384-abc"}]),
         "related-resource-invalid", "/relatedResource/0/digestSRI"),
    Case("related-resource-multibase",
         _set(relatedResource=[{"id": "https://example.org/a",
                                "digestMultibase": GOOD_MULTIBASE}]),
         _set(relatedResource=[{"id": "https://example.org/a",
                                "digestMultibase": "not-multibase"}]),
         "related-resource-invalid", "/relatedResource/0/digestMultibase"),
]

#: Rules whose valid credential can be secured as a ``vc+jwt`` only: RDF canonicalization
#: drops a base direction, so a Data Integrity proof would not cover it (our signer and
#: verifier refuse it there, as data they would not sign).
JOSE_CASES: list[Case] = [
    Case("name-direction",
         _set(name={"@value": "شهادة البكالوريوس", "@language": "ar", "@direction": "rtl"},
              description=[{"@value": "A degree", "@language": "en", "@direction": "ltr"}]),
         _set(name={"@value": "شهادة البكالوريوس", "@language": "ar", "@direction": "up"}),
         "language-value-invalid", "/name"),
]
