"""Bundled contexts, the local document loader and RDFC-1.0 canonicalization."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from typing import Any

import pytest
from pyld import jsonld as pyld_jsonld

from identity.errors import VerificationError
from identity.jsonld import CONTEXT_FILES, canonicalize, document_loader, local_document_loader
from tests.identity.conftest import Host

V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
CONTEXTS = resources.files("identity").joinpath("contexts")


def recorded_contexts() -> dict[str, tuple[str, str]]:
    """URL -> (file, SHA-256) from the table in identity/contexts/README.md."""
    rows = {}
    for line in CONTEXTS.joinpath("README.md").read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("https://"):
            url, name, _source, _licence, digest = cells
            rows[url] = (name, digest)
    return rows


def test_every_bundled_context_matches_its_recorded_hash() -> None:
    recorded = recorded_contexts()
    assert recorded, "the README table lists the contexts"
    assert {url: name for url, (name, _) in recorded.items()} == dict(CONTEXT_FILES)
    on_disk = {p.name for p in CONTEXTS.iterdir() if p.name.endswith(".jsonld")}
    assert on_disk == set(CONTEXT_FILES.values())
    for name, digest in recorded.values():
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert hashlib.sha256(CONTEXTS.joinpath(name).read_bytes()).hexdigest() == digest, name


def test_loader_serves_bundled_contexts_as_fresh_copies() -> None:
    first = local_document_loader(V2, {})
    assert first["documentUrl"] == V2
    assert first["document"]["@context"]["@protected"] is True
    first["document"]["@context"].clear()
    assert local_document_loader(V2, {})["document"]["@context"]


async def test_loader_refuses_other_urls_and_never_fetches(host: Host) -> None:
    url = host.base_url + "/context.jsonld"
    host.publish("/context.jsonld", {"@context": {"@vocab": "urn:evil:"}})
    with pytest.raises(VerificationError) as err:
        local_document_loader(url, {})
    assert err.value.code == "credential-malformed"
    assert "never fetched" in err.value.detail
    with pytest.raises(VerificationError) as err:
        canonicalize({"@context": [V2, url], "id": "urn:x", "name": "x"})
    assert err.value.code == "credential-malformed"
    assert host.hits == []


def test_other_pyld_users_cannot_plant_a_context_for_us() -> None:
    # A context resolved by another pyld user lands in pyld's process-wide cache.
    planted = "https://example.org/planted/v1"

    def generous(url: str, options: Any = None) -> dict[str, Any]:
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": {"@context": {"@vocab": "urn:planted:"}},
        }

    pyld_jsonld.expand({"@context": planted, "a": 1}, {"documentLoader": generous})
    with pytest.raises(VerificationError) as err:
        canonicalize({"@context": [V2, planted], "id": "urn:x", "a": 1})
    assert "not one we ship" in err.value.detail


def test_extra_contexts_are_served_only_by_the_loader_that_has_them() -> None:
    url = "https://example.org/extra/v1"
    loader = document_loader({url: {"@context": {"@vocab": "urn:extra:"}}})
    document = {"@context": [V2, url], "id": "urn:x", "a": 1}
    integer = "http://www.w3.org/2001/XMLSchema#integer"
    assert canonicalize(document, loader=loader) == f'<urn:x> <urn:extra:a> "1"^^<{integer}> .\n'
    with pytest.raises(VerificationError):
        canonicalize(document)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            {
                "@context": [V2],
                "type": "VerifiableCredential",
                "credentialSubject": {"id": "did:example:1", "memberOf": "x"},
            },
            "memberOf",
        ),
        (
            {"@context": [V2], "type": ["VerifiableCredential", "MembershipCredential"]},
            "MembershipCredential",
        ),
        ({"@context": [V2, UNDEFINED_TERMS], "id": "credential-1", "name": "x"}, "relative @id"),
        ({"@context": {"@version": 2.0}}, "not valid JSON-LD"),
        ({"@context": [V2], "@graph": {"@id": 5}}, "not valid JSON-LD"),
        ({"@context": [V2, {"a": "_:a"}], "id": "urn:x", "a": 1}, "blank node property"),
        ({"@context": [V2, UNDEFINED_TERMS], "id": "urn:x", "a": None}, "has no properties"),
        (
            {
                "@context": [V2, UNDEFINED_TERMS],
                "@graph": [{"id": "urn:a"}, {"id": "urn:b", "x": 1}],
            },
            "has no properties",
        ),
        (
            {
                "@context": [V2, UNDEFINED_TERMS],
                "id": "urn:x",
                "a": {"@value": "x", "@language": "ar", "@direction": "rtl"},
            },
            "@direction",
        ),
        ({"@context": [V2, UNDEFINED_TERMS], "id": "urn:x", "type": "@json"}, "'@json'"),
    ],
    ids=[
        "undefined-property",
        "undefined-type",
        "relative-id",
        "bad-version",
        "bad-id",
        "blank-node-property",
        "only-id-left",
        "only-id-in-graph",
        "direction",
        "json-node",
    ],
)
def test_what_would_not_be_signed_is_refused(document: dict[str, Any], words: str) -> None:
    with pytest.raises(VerificationError) as err:
        canonicalize(document)
    assert err.value.code == "credential-malformed"
    assert words in err.value.detail


def test_undefined_terms_context_makes_issuer_dependent_terms_signable() -> None:
    nquads = canonicalize(
        {
            "@context": [V2, UNDEFINED_TERMS],
            "type": ["VerifiableCredential", "MembershipCredential"],
            "credentialSubject": {"id": "did:example:1", "memberOf": "x"},
        }
    )
    assert '<https://www.w3.org/ns/credentials/undefined-term#memberOf> "x"' in nquads
    assert "<https://www.w3.org/ns/credentials/undefined-term#MembershipCredential>" in nquads


def test_literals_are_escaped_as_canonical_n_quads() -> None:
    nquads = canonicalize(
        {"@context": [V2], "id": "urn:x", "name": 'a\tb\nc\rd"e\\f\bg\fh\x01i\x7fjø'}
    )
    assert nquads == (
        '<urn:x> <https://schema.org/name> "a\\tb\\nc\\rd\\"e\\\\f\\bg\\fh\\u0001i\\u007Fjø" .\n'
    )


def test_blank_nodes_get_canonical_labels_whatever_the_input_order() -> None:
    subjects = [{"name": "b"}, {"name": "a\x02"}, {"name": "c"}]
    one = canonicalize(
        {
            "@context": [V2],
            "id": "urn:x",
            "type": "VerifiableCredential",
            "credentialSubject": subjects,
        }
    )
    two = canonicalize(
        {
            "@context": [V2],
            "id": "urn:x",
            "type": "VerifiableCredential",
            "credentialSubject": list(reversed(subjects)),
        }
    )
    assert one == two
    assert "_:c14n2" in one
    assert "_:b" not in one


def clique(size: int) -> dict[str, Any]:
    """``size`` blank nodes, each linked to all others: labelling them is factorial work."""
    nodes = [
        {"@id": f"_:n{i}", "urn:ex:p": [{"@id": f"_:n{j}"} for j in range(size) if j != i]}
        for i in range(size)
    ]
    return {"@context": {"@vocab": "urn:ex:"}, "@graph": nodes}


def test_small_symmetric_graphs_canonicalize() -> None:
    assert canonicalize(clique(4)).count("\n") == 12


@pytest.mark.parametrize("size", [7, 12, 40])
def test_poison_graphs_are_refused_instead_of_running_for_ever(size: int) -> None:
    with pytest.raises(VerificationError) as err:
        canonicalize(clique(size))
    assert err.value.code == "credential-malformed"
    assert "entangled" in err.value.detail
