"""Trust anchor settings (environment prefix ``TA_``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from policies.presets import PURCHASE_CREDENTIAL
from servicekit.settings import ServiceSettings

__all__ = ["CredentialTypeConfig", "TrustAnchorSettings"]


class CredentialTypeConfig(BaseModel):
    """A credential type the trust anchor (or an accredited issuer) issues."""

    type: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]{1,63}$")
    validity_days: int = Field(default=365, ge=1, le=3650)
    #: Roles a participant needs to be issued this type; empty = any member.
    roles: list[str] = Field(default_factory=list)
    #: Issued by the trust anchor itself on approval (MembershipCredential).
    on_approval: bool = False
    #: Who may issue it: the trust anchor ("self") or accredited issuers
    #: (participants with a role named here, e.g. "marketplace").
    issued_by: list[str] = Field(default_factory=lambda: ["self"])


def _default_types() -> list[CredentialTypeConfig]:
    return [
        CredentialTypeConfig(type="MembershipCredential", on_approval=True),
        CredentialTypeConfig(type=PURCHASE_CREDENTIAL, validity_days=366,
                             issued_by=["marketplace"]),
    ]


class TrustAnchorSettings(ServiceSettings):
    """Where the trust anchor listens and what it issues."""

    # Nesting ("__"), extra="forbid" and the rest are inherited from ServiceSettings.
    model_config = SettingsConfigDict(env_prefix="TA_")
    service_role: ClassVar[str] = "trust-anchor"
    default_port: ClassVar[int] = 8600

    name: str = "trust-anchor"
    operator_name: str = "Data space operator"
    did_method: str = Field(default="web", pattern="^(web|key)$")
    credential_types: list[CredentialTypeConfig] = Field(default_factory=_default_types)
    #: Pre-authorized codes and challenges live this long (seconds).
    offer_ttl_seconds: int = Field(default=7 * 86400, gt=0)
    challenge_ttl_seconds: int = Field(default=600, gt=0)
    access_token_ttl_seconds: int = Field(default=600, gt=0)
    #: Ask the wallet for a transaction code on pre-authorized offers.
    require_tx_code: bool = True
    #: How long relying parties may cache a status list (Cache-Control max-age).
    status_list_max_age: int = Field(default=60, ge=0, le=86400)
    #: Bootstrap admin key (Kubernetes Secret); otherwise one is generated.
    admin_api_key: str | None = Field(default=None, repr=False)
    #: VC-API ``/credentials/issue``: how a credential is secured when neither
    #: ``options.proofFormat`` nor the ``Accept`` header says.
    vc_api_proof_format: Literal["vc+jwt", "eddsa-rdfc-2022"] = "vc+jwt"
    #: VC-API: the credential types the operator may issue besides
    #: ``VerifiableCredential`` (JSON list); empty = any type.
    vc_api_types: list[str] = Field(default_factory=list)
    #: VC-API: add a revocation and a suspension status entry to what it issues
    #: (and record the credential, so it can be revoked).
    vc_api_status: bool = True
    #: VC-API: a folder of JSON Schemas (``*.json``, keyed by ``$id``); a
    #: credential whose ``credentialSchema`` names one is checked against it.
    vc_api_schema_dir: Path | None = None
    #: Scrypt cost for the key store (lower only in tests).
    key_scrypt_n: int = Field(default=2**15, ge=2**10)
