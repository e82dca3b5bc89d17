"""The vendored DCP 1.0 schemas: unchanged copies, both $id variants, and our messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from identity.dcp import (
    CREDENTIAL_MESSAGE,
    CREDENTIAL_OFFER_MESSAGE,
    CREDENTIAL_REQUEST_MESSAGE,
    CREDENTIAL_STATUS,
    DCP_CONTEXT,
    ISSUER_METADATA,
    PRESENTATION_QUERY_MESSAGE,
    PRESENTATION_RESPONSE_MESSAGE,
    credential_message,
    credential_request_message,
    dcp_context_document,
    dcp_schemas,
    presentation_query_message,
    presentation_response_message,
    type_scope,
    validate_dcp,
)
from identity.dcp.schemas import DCP_SPEC_DIR
from servicekit.errors import ValidationFailed

EXAMPLES = {
    "presentation/example/presentation-query-message.json": PRESENTATION_QUERY_MESSAGE,
    "presentation/example/presentation-query-message-w-presentation-definition.json":
        PRESENTATION_QUERY_MESSAGE,
    "presentation/example/presentation-response-message.json": PRESENTATION_RESPONSE_MESSAGE,
    "presentation/example/presentation-response-message-w-presentation-submission.json":
        PRESENTATION_RESPONSE_MESSAGE,
    "issuance/example/credential-request-message.json": CREDENTIAL_REQUEST_MESSAGE,
    "issuance/example/credential-message.json": CREDENTIAL_MESSAGE,
    "issuance/example/credential-message-rejected.json": CREDENTIAL_MESSAGE,
    "issuance/example/credential-offer-message.json": CREDENTIAL_OFFER_MESSAGE,
    "issuance/example/credential-status.json": CREDENTIAL_STATUS,
    "issuance/example/issuer-metadata.json": ISSUER_METADATA,
}


def test_the_vendored_files_are_byte_identical_to_the_shared_specs(shared_dir: Path) -> None:
    upstream = shared_dir / "specs" / "dcp-1.0"
    vendored = sorted(p.relative_to(DCP_SPEC_DIR) for p in DCP_SPEC_DIR.rglob("*") if p.is_file())
    assert Path("LICENSE") in vendored
    assert Path("context/dcp.jsonld") in vendored
    expected_schemas = sorted(p.relative_to(upstream) for p in upstream.rglob("*-schema.json"))
    assert [p for p in vendored if p.name.endswith("-schema.json")] == expected_schemas
    for relative in vendored:
        assert (DCP_SPEC_DIR / relative).read_bytes() == (upstream / relative).read_bytes(), (
            relative)


def test_the_schemas_are_valid_and_registered_under_both_ids() -> None:
    registry = dcp_schemas()
    registry.check_schemas()
    context_v08 = "https://w3id.org/dspace-dcp/v08/common/context-schema.json"
    context_v10 = "https://w3id.org/dspace-dcp/v1.0/common/context-schema.json"
    assert registry.schema(context_v08) is registry.schema(context_v10)
    assert registry.schema(CREDENTIAL_MESSAGE)["$id"].endswith(
        "/presentation/credential-message-schema.json")


@pytest.mark.parametrize(("example", "schema"), sorted(EXAMPLES.items()))
def test_the_upstream_examples_validate(shared_dir: Path, example: str, schema: str) -> None:
    document = json.loads((shared_dir / "specs" / "dcp-1.0" / example).read_text())
    validate_dcp(schema, document)


def test_our_messages_validate() -> None:
    validate_dcp(PRESENTATION_QUERY_MESSAGE,
                 presentation_query_message([type_scope("MembershipCredential")]))
    validate_dcp(PRESENTATION_RESPONSE_MESSAGE, presentation_response_message([]))
    validate_dcp(PRESENTATION_RESPONSE_MESSAGE, presentation_response_message(
        ["a.b.c", {"type": "EnvelopedVerifiablePresentation", "id": "data:..."}]))
    validate_dcp(CREDENTIAL_REQUEST_MESSAGE, credential_request_message("h-1", ["membership"]))
    validate_dcp(CREDENTIAL_MESSAGE, credential_message(
        issuer_pid="i-1", holder_pid="h-1", status="ISSUED",
        credentials=[{"credentialType": "MembershipCredential", "payload": "a.b.c",
                      "format": "vc+jwt"}]))
    validate_dcp(CREDENTIAL_MESSAGE, credential_message(
        issuer_pid="i-1", holder_pid=None, status="REJECTED", rejection_reason="no"))


def test_violations_name_the_failing_location() -> None:
    message = presentation_query_message(["x"])
    message["@context"] = ["https://example.com/other"]
    message["scope"] = []
    with pytest.raises(ValidationFailed) as caught:
        validate_dcp(PRESENTATION_QUERY_MESSAGE, message)
    error = caught.value
    assert error.code == "dcp-schema-violation"
    assert {e["path"] for e in error.errors} == {"/@context", "/scope"}

    with pytest.raises(ValidationFailed) as caught:
        validate_dcp(CREDENTIAL_MESSAGE, credential_message(
            issuer_pid="i", holder_pid="h", status="MAYBE",
            credentials=[{"credentialType": "X", "payload": "p"}]))
    assert {e["path"] for e in caught.value.errors} == {"/status", "/credentials/0"}


def test_the_context_document_is_the_dcp_context() -> None:
    context = dcp_context_document()
    assert context["@context"]["dcp"] == "https://w3id.org/dspace-dcp/v1.0/"
    assert "PresentationQueryMessage" in context["@context"]
    context["@context"].clear()
    assert dcp_context_document()["@context"], "callers get their own copy"
    assert DCP_CONTEXT.endswith("/dcp.jsonld")
