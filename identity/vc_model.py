"""The W3C Verifiable Credentials Data Model 2.0 rules, checked in one place.

:func:`validate_credential` and :func:`validate_presentation` check an
unsecured (or Data Integrity secured) VC 2.0 document against sections 4
and 5 of the specification; :func:`validate_envelope` checks an
``EnvelopedVerifiableCredential``/``EnvelopedVerifiablePresentation`` object
(section 4.13) and returns the media type and payload of its ``data:`` URL.

Every refusal is a :class:`DataModelError`: a
:class:`~identity.errors.VerificationError` (so verification paths catch it
as before) answered as HTTP 422 problem+json when it reaches a client, with
a stable ``code`` and the JSON pointer of the offending member in
``pointer``. The codes:

``context-invalid``          ``@context`` missing, not an ordered set starting with the VC 2.0
                             context, an item that is neither a URL nor an object, or a context
                             that is not valid JSON-LD
``context-unknown``          a context URL we do not ship (contexts are never fetched)
``term-undefined``           a property no context defines
``term-protected``           a context redefines a protected term
``type-invalid``             ``type`` missing, without the required type, or not expanding to
                             an IRI; also for status, schema, refresh service, terms of use,
                             evidence, proof, confidence method and render method objects,
                             which must have a ``type``
``id-invalid``               an ``id`` that is not a single absolute URL
``issuer-invalid``           ``issuer`` missing, not a URL, or an object without a URL ``id``
``subject-invalid``          ``credentialSubject`` missing, empty, or not objects
``datetime-invalid``         ``validFrom``/``validUntil`` not an XML Schema ``dateTimeStamp``
``validity-period-invalid``  ``validUntil`` before ``validFrom``
``language-value-invalid``   ``name``/``description`` not a string, language value or a set of them
``related-resource-invalid`` a ``relatedResource`` without ``id``, with a duplicate ``id``, or
                             with a malformed ``digestSRI``/``digestMultibase``
``schema-invalid``           a ``credentialSchema`` entry without a URL ``id``, or a held schema
                             that refers to one we do not hold (never fetched)
``schema-mismatch``          the credential fails a JSON Schema we hold for its ``credentialSchema``
``status-invalid``           a ``credentialStatus`` entry that is not an object
``envelope-invalid``         an enveloped object with a wrong ``@context``, ``type`` or ``id``
``presentation-invalid``     a presentation's ``holder`` or ``verifiableCredential`` is malformed

JSON-LD expansion (:func:`identity.jsonld.expand`) runs over the bundled
contexts only. Callers on hot paths (DCP, connectors) pass
``expand=False``: the structural rules still hold there, and Data Integrity
proofs expand the document anyway when they canonicalize it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import jsonschema
from referencing import Registry
from referencing.exceptions import Unresolvable

from identity.errors import DataModelError, VerificationError
from identity.jsonld import DocumentLoader, JsonLdProblem, local_document_loader
from identity.jsonld import expand as expand_jsonld
from identity.vc_envelope import CREDENTIALS_NS, ENVELOPE_MEDIA_TYPES, validate_envelope
from identity.vc_values import (
    check_names,
    check_related,
    entries,
    escape,
    is_url,
    items,
    parse_datetime_stamp,
)

__all__ = [
    "CREDENTIALS_NS",
    "ENVELOPE_MEDIA_TYPES",
    "VC_V2_CONTEXT",
    "DataModelError",
    "SchemaStore",
    "as_verification_failure",
    "parse_datetime_stamp",
    "validate_credential",
    "validate_envelope",
    "validate_presentation",
]

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
#: A JSON Schema by its URL; what :func:`validate_credential` checks ``credentialSchema`` with.
SchemaStore = Mapping[str, Mapping[str, Any]]

# Objects that must say their type, reserved extension points (section 5.10) included.
_TYPED_MEMBERS = ("credentialStatus", "credentialSchema", "refreshService", "termsOfUse",
                  "evidence", "proof", "confidenceMethod", "renderMethod")
_TYPED_CODES = {"credentialStatus": "status-invalid", "credentialSchema": "schema-invalid",
                "proof": "type-invalid"}


@contextmanager
def as_verification_failure() -> Iterator[None]:
    """Report a :class:`DataModelError` as the plain ``VerificationError`` (401) it is
    for a verifier: same code, ``pointer`` kept in ``extra``. Issuing keeps the 422."""
    try:
        yield
    except DataModelError as exc:
        raise VerificationError(exc.detail, code=exc.code,
                                extra={"pointer": exc.pointer}) from exc


def _check_contexts(document: Mapping[str, Any], code: str = "context-invalid") -> None:
    if "@context" not in document:
        raise DataModelError("@context is required", code=code, pointer="/@context")
    contexts = document["@context"]
    if contexts == VC_V2_CONTEXT:
        return
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2_CONTEXT:
        raise DataModelError(f"@context must be an ordered set starting with {VC_V2_CONTEXT}",
                             code=code, pointer="/@context/0")
    for index, item in enumerate(contexts[1:], start=1):
        if isinstance(item, Mapping):
            continue
        if not is_url(item):
            raise DataModelError("each @context item is a URL or a context object",
                                 code=code, pointer=f"/@context/{index}")


def _find_term(document: Any, term: str, pointer: str = "") -> str | None:
    if isinstance(document, Mapping):
        for key, value in document.items():
            here = f"{pointer}/{escape(key)}"
            if key == term:
                return here
            if key != "@context":
                found = _find_term(value, term, here)
                if found is not None:
                    return found
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found = _find_term(value, term, f"{pointer}/{index}")
            if found is not None:
                return found
    return None


def _without_direction(value: Any) -> Any:
    """``value`` without the ``@direction`` of its language values.

    A base direction is valid data (section 11.1), but RDF canonicalization
    drops it: the JSON-LD check refuses it as unsigned. Here the data model is
    checked, whatever secures the document; a Data Integrity proof still
    refuses to sign (or accept) a direction it would not cover.
    """
    if isinstance(value, list):
        return [_without_direction(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _without_direction(v) for k, v in value.items()
                if not (k == "@direction" and "@value" in value)}
    return value


def _expand(document: Mapping[str, Any], loader: DocumentLoader) -> list[Any]:
    try:
        return expand_jsonld(_without_direction(document), loader=loader)
    except JsonLdProblem as exc:
        pointer = "/@context"
        code = exc.kind
        if exc.kind == "context-unknown" and exc.term:
            contexts = items(document.get("@context"))
            if exc.term in contexts:
                pointer = f"/@context/{contexts.index(exc.term)}"
        elif exc.kind == "term-undefined" and exc.term:
            pointer = _find_term(document, exc.term) or ""
        elif exc.kind == "type-undefined":
            code, pointer = "type-invalid", "/type"
        elif exc.kind == "iri-relative":
            code, pointer = "id-invalid", "/id"
        elif exc.kind == "jsonld-invalid":
            code = "context-invalid"
        raise DataModelError(exc.detail, code=code, pointer=pointer) from exc


def _check_id(node: Mapping[str, Any], pointer: str, code: str = "id-invalid") -> None:
    if "id" in node and not is_url(node["id"]):
        raise DataModelError(f"{pointer}/id must be a single URL", code=code,
                             pointer=f"{pointer}/id")


def _check_type(node: Mapping[str, Any], pointer: str, code: str = "type-invalid",
                required: str | None = None) -> list[str]:
    kinds = node.get("type")
    names = items(kinds)
    if kinds is None or not names or not all(isinstance(k, str) and k for k in names):
        raise DataModelError(f"{pointer}/type is required: a type name or a set of them",
                             code=code, pointer=f"{pointer}/type")
    if required is not None and required not in names:
        raise DataModelError(f"{pointer}/type must include {required}", code=code,
                             pointer=f"{pointer}/type")
    return names


def _check_schemas(credential: Mapping[str, Any], schemas: SchemaStore | None) -> None:
    for schema, here in entries(credential["credentialSchema"], "/credentialSchema"):
        if not isinstance(schema, Mapping) or not is_url(schema.get("id")):
            raise DataModelError(f"{here} must be an object with a URL id",
                                 code="schema-invalid", pointer=here)
        _check_type(schema, here, code="schema-invalid")
        held = (schemas or {}).get(schema["id"])
        if held is None or "JsonSchema" not in items(schema.get("type")):
            continue
        unsecured = {k: v for k, v in credential.items() if k != "proof"}
        # An empty registry: references resolve inside the schema, never over the network.
        validator = jsonschema.validators.validator_for(held)(held, registry=Registry())
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(unsecured))
        except Unresolvable as exc:
            raise DataModelError(f"{schema['id']} refers to a schema we do not hold",
                                 code="schema-invalid", pointer=f"{here}/id") from exc
        if error is not None:
            where = "".join(f"/{escape(p)}" for p in error.absolute_path)
            raise DataModelError(f"the credential does not match {schema['id']}: "
                                 f"{error.message[:200]}", code="schema-mismatch",
                                 pointer=where)


def _check_issuer(credential: Mapping[str, Any]) -> None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        if not is_url(issuer.get("id")):
            raise DataModelError("issuer.id must be a URL", code="issuer-invalid",
                                 pointer="/issuer/id")
        check_names(issuer, "/issuer")
    elif not is_url(issuer):
        raise DataModelError("issuer is required: a URL or an object with a URL id",
                             code="issuer-invalid", pointer="/issuer")


def _check_subjects(credential: Mapping[str, Any]) -> None:
    subjects = credential.get("credentialSubject")
    if subjects is None or subjects == []:
        raise DataModelError("credentialSubject is required", code="subject-invalid",
                             pointer="/credentialSubject")
    for subject, here in entries(subjects, "/credentialSubject"):
        if not isinstance(subject, Mapping) or not subject:
            raise DataModelError(f"{here} must be an object with at least one claim",
                                 code="subject-invalid", pointer=here)
        _check_id(subject, here, code="subject-invalid")


def validate_credential(
    credential: Any,
    *,
    expand: bool = True,
    schemas: SchemaStore | None = None,
    loader: DocumentLoader = local_document_loader,
    check_proof: bool = True,
) -> None:
    """Check ``credential`` against the VC 2.0 data model; raise :class:`DataModelError`.

    ``expand`` runs JSON-LD expansion over the bundled contexts (undefined
    terms, protected terms, type IRIs). ``schemas`` are the JSON Schemas we
    hold: a ``credentialSchema`` of type ``JsonSchema`` naming one of them
    is checked against the credential (VC JSON Schema 1.0).
    """
    if not isinstance(credential, Mapping):
        raise DataModelError("a credential is a JSON object", code="credential-invalid",
                             pointer="")
    _check_contexts(credential)
    kinds = _check_type(credential, "", required="VerifiableCredential")
    if "EnvelopedVerifiableCredential" in kinds:
        raise DataModelError("an enveloped credential is not itself a credential",
                             code="type-invalid", pointer="/type")
    _check_id(credential, "")
    _check_issuer(credential)
    _check_subjects(credential)
    check_names(credential, "")
    start = end = None
    if "validFrom" in credential:
        start = parse_datetime_stamp(credential["validFrom"], "/validFrom")
    if "validUntil" in credential:
        end = parse_datetime_stamp(credential["validUntil"], "/validUntil")
    if start is not None and end is not None and end < start:
        raise DataModelError("validUntil is before validFrom", code="validity-period-invalid",
                             pointer="/validUntil")
    for member in _TYPED_MEMBERS:
        if member not in credential or (member == "proof" and not check_proof):
            continue
        code = _TYPED_CODES.get(member, f"{_kebab(member)}-invalid")
        value = credential[member]
        if value == [] or value is None:
            raise DataModelError(f"/{member} must not be empty", code=code, pointer=f"/{member}")
        for entry, here in entries(value, f"/{member}"):
            if not isinstance(entry, Mapping):
                raise DataModelError(f"{here} must be an object", code=code, pointer=here)
            _check_type(entry, here, code="type-invalid")
            _check_id(entry, here)
    if "credentialSchema" in credential:
        _check_schemas(credential, schemas)
    if "relatedResource" in credential:
        check_related(credential["relatedResource"])
    if expand:
        _check_expanded_types(_expand(credential, loader), "VerifiableCredential")


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


def _check_expanded_types(expanded: list[Any], required: str) -> None:
    top = expanded[0] if expanded and isinstance(expanded[0], Mapping) else {}
    if CREDENTIALS_NS + required not in items(top.get("@type", [])):
        raise DataModelError(f"type {required} is redefined by a context",
                             code="type-invalid", pointer="/type")


def validate_presentation(
    presentation: Any,
    *,
    expand: bool = True,
    schemas: SchemaStore | None = None,
    loader: DocumentLoader = local_document_loader,
    credential_check: Callable[[Any, str], None] | None = None,
) -> None:
    """Check a VC 2.0 presentation and the credentials in it; raise :class:`DataModelError`.

    Embedded credentials are checked with :func:`validate_credential`,
    enveloped ones with :func:`validate_envelope` (their payload is the
    verifier's to open); ``credential_check`` replaces both when given.
    """
    if not isinstance(presentation, Mapping):
        raise DataModelError("a presentation is a JSON object", code="presentation-invalid",
                             pointer="")
    _check_contexts(presentation)
    _check_type(presentation, "", required="VerifiablePresentation")
    _check_id(presentation, "")
    holder = presentation.get("holder")
    if holder is not None and not (
        is_url(holder) or (isinstance(holder, Mapping) and is_url(holder.get("id")))
    ):
        raise DataModelError("holder must be a URL or an object with a URL id",
                             code="presentation-invalid", pointer="/holder")
    for entry, here in entries(presentation.get("verifiableCredential", []),
                                "/verifiableCredential"):
        if not isinstance(entry, Mapping):
            raise DataModelError(f"{here} must be an object (a credential or an enveloped one)",
                                 code="presentation-invalid", pointer=here)
        try:
            if credential_check is not None:
                credential_check(entry, here)
            elif "EnvelopedVerifiableCredential" in items(entry.get("type")):
                validate_envelope(entry, "EnvelopedVerifiableCredential")
            else:
                validate_credential(entry, expand=expand, schemas=schemas, loader=loader)
        except DataModelError as exc:
            raise DataModelError(exc.detail, code=exc.code,
                                 pointer=here + exc.pointer) from exc
    if "proof" in presentation:
        for proof, here in entries(presentation["proof"], "/proof"):
            if not isinstance(proof, Mapping):
                raise DataModelError(f"{here} must be an object", code="type-invalid",
                                     pointer=here)
            _check_type(proof, here)
    if expand:
        inner = {k: v for k, v in presentation.items() if k != "verifiableCredential"}
        _check_expanded_types(_expand(inner, loader), "VerifiablePresentation")
