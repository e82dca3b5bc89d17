"""DID documents: parse one into a lookup structure, or build one for our services.

:func:`parse_did_document` validates a resolved document (its ``id`` must be
the DID that was resolved) and indexes its verification methods and
relationships, so that :meth:`DidDocument.method` answers "may key ``kid``
act as ``relationship`` for this DID?" with a dictionary look-up. Keys are
read from ``publicKeyJwk`` (JsonWebKey2020, JsonWebKey),
``publicKeyMultibase`` (Multikey, Ed25519VerificationKey2020) and
``publicKeyBase58`` (Ed25519VerificationKey2018), and prepared once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from identity.encoding import b58decode, multibase_decode, varint_decode
from identity.errors import DidResolutionError, VerificationError
from identity.keys import PublicKey, jwk_thumbprint, public_jwk_from_key, public_key_from_jwk

__all__ = [
    "DID_CONTEXT",
    "JWS_2020_CONTEXT",
    "RELATIONSHIPS",
    "DidDocument",
    "VerificationMethod",
    "build_did_document",
    "parse_did_document",
    "public_key_from_multicodec",
]

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
JWS_2020_CONTEXT = "https://w3id.org/security/suites/jws-2020/v1"
RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
    "keyAgreement",
)
DEFAULT_RELATIONSHIPS = ("authentication", "assertionMethod", "capabilityInvocation")
MULTICODEC_ED25519_PUB = 0xED
MULTICODEC_P256_PUB = 0x1200


def public_key_from_multicodec(data: bytes) -> PublicKey:
    """A key from multicodec-prefixed bytes: 0xed Ed25519, 0x1200 compressed P-256."""
    try:
        codec, used = varint_decode(data)
        raw = data[used:]
        if codec == MULTICODEC_ED25519_PUB and len(raw) == 32:
            return Ed25519PublicKey.from_public_bytes(raw)
        if codec == MULTICODEC_P256_PUB and len(raw) == 33:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise VerificationError(
            "not a valid multicodec public key", code="key-unsupported"
        ) from exc
    raise VerificationError("unsupported multicodec key", code="key-unsupported")


@dataclass(slots=True, eq=False)
class VerificationMethod:
    """One verification method; its public key is prepared on first use and kept."""

    id: str
    type: str
    controller: str
    data: Mapping[str, Any]
    _key: PublicKey | None = field(default=None, repr=False)
    _alg: str | None = field(default=None, repr=False)

    @property
    def public_key(self) -> PublicKey:
        """The verifying key (``key-unsupported`` if its encoding is not one we read)."""
        if self._key is None:
            self._key = self._load()
        return self._key

    @property
    def declared_alg(self) -> str | None:
        """The ``alg`` the JWK pins, if any."""
        jwk = self.data.get("publicKeyJwk")
        if isinstance(jwk, Mapping) and isinstance(jwk.get("alg"), str):
            return str(jwk["alg"])
        return None

    @property
    def public_jwk(self) -> dict[str, str]:
        """The key as a public JWK, whatever encoding the document used."""
        return public_jwk_from_key(self.public_key)

    def _load(self) -> PublicKey:
        data = self.data
        jwk = data.get("publicKeyJwk")
        if isinstance(jwk, Mapping):
            if "d" in jwk:
                raise VerificationError(
                    "a DID document carries a private key", code="key-unsupported"
                )
            return public_key_from_jwk(jwk)
        multibase = data.get("publicKeyMultibase")
        if isinstance(multibase, str):
            try:
                raw = multibase_decode(multibase)
            except ValueError as exc:
                raise VerificationError("bad publicKeyMultibase", code="key-unsupported") from exc
            if self.type == "Ed25519VerificationKey2018" and len(raw) == 32:
                return Ed25519PublicKey.from_public_bytes(raw)
            return public_key_from_multicodec(raw)
        base58 = data.get("publicKeyBase58")
        if isinstance(base58, str) and self.type == "Ed25519VerificationKey2018":
            try:
                return Ed25519PublicKey.from_public_bytes(b58decode(base58))
            except ValueError as exc:
                raise VerificationError("bad publicKeyBase58", code="key-unsupported") from exc
        raise VerificationError(f"no usable public key in {self.id}", code="key-unsupported")


@dataclass(frozen=True, slots=True)
class DidDocument:
    """A validated DID document indexed for key look-ups."""

    id: str
    methods: Mapping[str, VerificationMethod]
    relationships: Mapping[str, frozenset[str]]
    services: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any]

    def method(self, kid: str | None, relationships: str | Sequence[str]) -> VerificationMethod:
        """The method ``kid`` names, if it is in one of ``relationships``.

        ``kid`` may be absolute (``did:...#frag``) or relative (``#frag``).
        Without ``kid`` the document must hold exactly one key.
        """
        wanted = (relationships,) if isinstance(relationships, str) else tuple(relationships)
        if kid is None:
            if not self.methods:
                raise VerificationError(f"{self.id} lists no keys", code="key-not-found")
            if len(self.methods) > 1:
                raise VerificationError(
                    "no kid and the DID document has more than one key", code="key-ambiguous"
                )
            method = next(iter(self.methods.values()))
        else:
            method_id = self.id + kid if kid.startswith("#") else kid
            found = self.methods.get(method_id)
            if found is None:
                raise VerificationError(
                    f"{kid} is not a key of {self.id}", code="key-not-found", extra={"kid": kid}
                )
            method = found
        for name in wanted:
            if method.id in self.relationships.get(name, ()):
                return method
        raise VerificationError(
            f"{method.id} is not authorized for {' or '.join(wanted)}",
            code="key-not-authorized",
            extra={"kid": method.id},
        )

    def services_of_type(self, service_type: str) -> list[Mapping[str, Any]]:
        """The ``service`` entries whose ``type`` is (or includes) ``service_type``."""
        out = []
        for service in self.services:
            kind = service.get("type")
            if kind == service_type or (isinstance(kind, list) and service_type in kind):
                out.append(service)
        return out


def _absolute(did: str, ref: str) -> str:
    return did + ref if ref.startswith("#") else ref


def _method(did: str, entry: Mapping[str, Any]) -> VerificationMethod:
    method_id = entry.get("id")
    if not isinstance(method_id, str) or not method_id:
        raise DidResolutionError("verification method without id", code="did-document-invalid")
    controller = entry.get("controller", did)
    return VerificationMethod(
        id=_absolute(did, method_id),
        type=str(entry.get("type", "")),
        controller=controller if isinstance(controller, str) else did,
        data=entry,
    )


def parse_did_document(raw: Mapping[str, Any], *, expected_id: str) -> DidDocument:
    """Validate ``raw`` as the document of ``expected_id`` and index it."""
    if not isinstance(raw, Mapping):
        raise DidResolutionError("DID document is not a JSON object", code="did-document-invalid")
    if raw.get("id") != expected_id:
        raise DidResolutionError(
            f"document id {raw.get('id')!r} is not {expected_id}", code="did-id-mismatch"
        )
    methods: dict[str, VerificationMethod] = {}
    declared = raw.get("verificationMethod", [])
    if not isinstance(declared, list):
        raise DidResolutionError("verificationMethod is not a list", code="did-document-invalid")
    for entry in declared:
        if not isinstance(entry, Mapping):
            raise DidResolutionError(
                "verification method is not an object", code="did-document-invalid"
            )
        method = _method(expected_id, entry)
        methods[method.id] = method
    relationships: dict[str, frozenset[str]] = {}
    for name in RELATIONSHIPS:
        refs = raw.get(name, [])
        if not isinstance(refs, list):
            raise DidResolutionError(f"{name} is not a list", code="did-document-invalid")
        ids = set()
        for ref in refs:
            if isinstance(ref, str):
                ids.add(_absolute(expected_id, ref))
            elif isinstance(ref, Mapping):  # embedded method, only usable for this relationship
                method = _method(expected_id, ref)
                methods.setdefault(method.id, method)
                ids.add(method.id)
            else:
                raise DidResolutionError(f"bad entry in {name}", code="did-document-invalid")
        relationships[name] = frozenset(ids)
    # A method must belong to this DID: a kid under another DID is resolved there.
    methods = {k: v for k, v in methods.items() if k.startswith(expected_id + "#")}
    services = raw.get("service", [])
    if not isinstance(services, list) or not all(isinstance(s, Mapping) for s in services):
        raise DidResolutionError("service is not a list of objects", code="did-document-invalid")
    return DidDocument(
        id=expected_id,
        methods=methods,
        relationships=relationships,
        services=tuple(services),
        raw=raw,
    )


def build_did_document(
    did: str,
    keys: Iterable[PublicKey | Mapping[str, Any]],
    *,
    services: Iterable[Mapping[str, Any]] = (),
    relationships: Sequence[str] = DEFAULT_RELATIONSHIPS,
    key_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A DID document for ``did`` with ``JsonWebKey2020`` methods.

    Each key becomes ``{did}#{kid}`` (the JWK ``kid``, else its thumbprint,
    unless ``key_ids`` names the fragments) and is listed under every one of
    ``relationships``. Service ``id`` values starting with ``#`` are made
    absolute.
    """
    methods = []
    for index, key in enumerate(keys):
        jwk = dict(key) if isinstance(key, Mapping) else public_jwk_from_key(key)
        jwk.pop("d", None)
        if key_ids is not None:
            fragment = key_ids[index]
        else:
            fragment = str(jwk.get("kid") or jwk_thumbprint(jwk))
        public = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "alg", "kid")}
        methods.append(
            {
                "id": f"{did}#{fragment}",
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": public,
            }
        )
    document: dict[str, Any] = {
        "@context": [DID_CONTEXT, JWS_2020_CONTEXT],
        "id": did,
        "verificationMethod": methods,
    }
    for name in relationships:
        document[name] = [m["id"] for m in methods]
    service_list = []
    for service in services:
        entry = dict(service)
        if isinstance(entry.get("id"), str) and entry["id"].startswith("#"):
            entry["id"] = did + entry["id"]
        service_list.append(entry)
    if service_list:
        document["service"] = service_list
    return document
