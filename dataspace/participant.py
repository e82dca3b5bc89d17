"""A participant's side of onboarding: a key and DID, applying, collecting credentials.

State lives in ``<data-dir>/participant.json`` (mode 0600) and the key store
``<data-dir>/keys``; credentials are saved under ``<data-dir>/credentials``.
The CLI (``dataspace participant ...``), ``dataspace up`` and the examples all
go through these functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataspace.client import ApiClient
from identity.did_key import did_key_from_public_key
from identity.did_web import did_web_from_url
from identity.jose import decode_jws
from identity.keystore import KeyStore
from identity.oid4vci_client import collect_credential
from identity.self_issued import create_self_issued_token
from identity.signer import Signer
from servicekit.errors import InvalidRequest
from servicekit.service_info import write_private_json

__all__ = [
    "Participant",
    "application_status",
    "apply",
    "collect",
    "init_participant",
    "load_participant",
]

_STATE = "participant.json"
_KEY = "participant"


@dataclass
class Participant:
    """A participant's identity and onboarding state on this machine."""

    data_dir: Path
    signer: Signer
    state: dict[str, Any]

    @property
    def did(self) -> str:
        """The participant's DID."""
        return self.signer.did

    def save(self) -> None:
        """Write the state file (0600)."""
        write_private_json(self.data_dir / _STATE, self.state)


def _signer(store: KeyStore, did: str) -> Signer:
    pair = store.load(_KEY)
    return Signer.for_did_key(pair) if did.startswith("did:key:") else Signer.for_did(pair, did)


def init_participant(data_dir: Path, passphrase: str, *, web_url: str | None = None,
                     scrypt_n: int = 2**15) -> Participant:
    """Create (or reuse) the participant key and DID (did:key, or did:web of ``web_url``)."""
    store = KeyStore(data_dir / "keys", passphrase, scrypt_n=scrypt_n)
    state_path = data_dir / _STATE
    if state_path.exists():
        state = json.loads(state_path.read_text())
        return Participant(data_dir, _signer(store, state["did"]), state)
    pair = store.load(_KEY) if store.exists(_KEY) else store.generate(_KEY)
    did = did_web_from_url(web_url) if web_url else did_key_from_public_key(pair.public_key)
    participant = Participant(data_dir, _signer(store, did), {"did": did})
    participant.save()
    return participant


def load_participant(data_dir: Path, passphrase: str, *, scrypt_n: int = 2**15) -> Participant:
    """The participant initialised in ``data_dir``."""
    state_path = data_dir / _STATE
    if not state_path.exists():
        raise InvalidRequest(f"no participant in {data_dir}: run `dataspace participant init`",
                             code="participant-not-initialised")
    state = json.loads(state_path.read_text())
    store = KeyStore(data_dir / "keys", passphrase, scrypt_n=scrypt_n)
    return Participant(data_dir, _signer(store, state["did"]), state)


async def apply(participant: Participant, trust_anchor_url: str, application: dict[str, Any],
                *, client: ApiClient | None = None) -> dict[str, Any]:
    """Apply at the trust anchor with a signed challenge; remember the application."""
    api = client or ApiClient(trust_anchor_url)
    try:
        challenge = await api.post("/applications/challenge", {"did": participant.did})
        proof = create_self_issued_token(participant.signer, challenge["audience"],
                                         extra_claims={"nonce": challenge["challenge"]})
        created: dict[str, Any] = await api.post(
            "/applications", {**application, "did": participant.did, "proof": proof})
    finally:
        if client is None:
            await api.close()
    participant.state.update({
        "trust_anchor": trust_anchor_url.rstrip("/"),
        "trust_anchor_did": challenge["audience"],
        "application_id": created["id"],
        "status_token": created["status_token"],
    })
    participant.save()
    return created


async def application_status(participant: Participant) -> dict[str, Any]:
    """The application as the trust anchor shows it to the applicant."""
    state = participant.state
    if "application_id" not in state:
        raise InvalidRequest("this participant has not applied yet", code="not-applied")
    async with ApiClient(state["trust_anchor"], api_key=state["status_token"]) as api:
        result: dict[str, Any] = await api.get(f"/applications/{state['application_id']}")
        return result


async def collect(participant: Participant, *, tx_code: str | None,
                  offer: str | None = None) -> str:
    """Collect the offered credential over OID4VCI and save it; returns the credential."""
    if offer is None:
        view = await application_status(participant)
        offer = view.get("credential_offer_uri")
        if not offer:
            raise InvalidRequest(
                f"no credential waiting (application is {view.get('status')})",
                code="no-credential-offer")
    api = ApiClient(participant.state.get("trust_anchor", ""))
    try:
        credential = await collect_credential(api.session, offer, participant.signer,
                                              tx_code=tx_code)
    finally:
        await api.close()
    types = [t for t in decode_jws(credential).claims().get("type", [])
             if t != "VerifiableCredential"]
    name = types[0] if types else "credential"
    folder = participant.data_dir / "credentials"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{name}.jwt"
    path.write_text(credential + "\n")
    participant.state.setdefault("credentials", {})[name] = str(path)
    participant.save()
    return credential
