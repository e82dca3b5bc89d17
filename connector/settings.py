"""Connector settings: ``CONNECTOR_*`` environment variables, a TOML file, or flags.

Nested groups use ``__`` in the environment (``CONNECTOR_AUTH__MODE=fixed-token``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings

__all__ = [
    "AuthSettings",
    "ConnectorSettings",
    "DataPlaneSettings",
    "DcpSettings",
    "FixedCaller",
    "JobSettings",
    "TckSettings",
]


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FixedCaller(_Group):
    """Who a fixed token stands for (development and TCK only)."""

    id: str = Field(min_length=1, description="The caller's participant id (a DID).")
    credential_types: list[str] = Field(default_factory=list)
    claims: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="credentialSubject per credential type."
    )


class DcpSettings(_Group):
    """The ``dcp`` mode: whom we trust, how long verified facts are kept."""

    trust_anchor_did: str | None = Field(
        default=None,
        description="The root of trust (the registry's RootTAO). Default: did:web of the "
        "trust anchor URL.",
    )
    required_credentials: list[str] = Field(
        default_factory=lambda: ["MembershipCredential"],
        description="Credential types every DSP caller must present; a negotiation request "
        "adds the types its offer's policy names.",
    )
    status_list_ttl: float = Field(default=60.0, gt=0,
                                   description="Seconds a fetched status list is trusted.")
    registry_ttl: float = Field(default=60.0, gt=0,
                                description="Seconds a trusted-issuers registry entry is kept.")
    cache_seconds: float = Field(
        default=300.0, ge=0,
        description="Longest a caller's verified credentials are reused (bounded by the "
        "status-list and registry refresh and the credentials' expiry).",
    )
    token_seconds: float = Field(default=120.0, gt=0, le=600,
                                 description="Lifetime of the self-issued tokens we send.")
    standing_check_seconds: float | None = Field(
        default=None, gt=0,
        description="How often the transfers we provide are checked against the consumer's "
        "credentials (revoked, suspended, expired, issuer no longer trusted); default: "
        "status_list_ttl, so a revocation ends them within one status-list refresh.",
    )


class AuthSettings(_Group):
    """How DSP callers are authenticated and how we authenticate to peers.

    ``mode`` names an implementation registered in :mod:`connector.auth`:
    ``dcp`` (the default when a trust anchor is configured, outside TCK mode)
    or ``fixed-token`` (development, tests, the TCK).
    """

    mode: str | None = Field(
        default=None,
        description="'dcp' or 'fixed-token'. Default: 'dcp' with a trust anchor URL (and "
        "no TCK mode), 'fixed-token' otherwise.",
    )
    dcp: DcpSettings = Field(default_factory=DcpSettings)
    tokens: dict[str, FixedCaller] = Field(
        default_factory=dict,
        repr=False,
        description="fixed-token: accepted tokens and the caller each one stands for.",
    )
    outbound_token: str | None = Field(
        default=None, repr=False, description="fixed-token: the token we present to peers."
    )
    scopes: list[str] = Field(
        default_factory=list,
        description="Scopes asked for in outbound tokens (DCP credential scopes).",
    )
    cache_seconds: float = Field(default=60.0, ge=0,
                                 description="How long a verified caller may be cached.")


class JobSettings(_Group):
    """The background worker that sends DSP messages."""

    poll_seconds: float = Field(default=1.0, gt=0)
    lease_seconds: float = Field(default=15.0, gt=0)
    concurrency: int = Field(default=32, ge=1, le=512)
    max_attempts: int = Field(default=8, ge=1)
    base_backoff_seconds: float = Field(default=0.25, gt=0)


class TckSettings(_Group):
    """TCK mode: seeded ids, scripted counter-party behaviour, trigger endpoints."""

    enabled: bool = False
    token: str = Field(default="tck-token", repr=False,
                       description="The Authorization value the TCK sends.")
    participant_id: str = Field(default="TCK_PARTICIPANT",
                                description="Who the TCK's token stands for.")


class DataPlaneSettings(_Group):
    """How the data plane enforces, meters, audits and streams (``CONNECTOR_DATA_PLANE__*``)."""

    refresh_grace_seconds: float = Field(
        default=300.0, ge=0,
        description="How long after expiry a token may still be exchanged for a fresh one.")
    purpose_header: str = Field(default="X-Purpose",
                                description="Request header that states the purpose of use.")
    block_size: int = Field(default=1024, ge=1, le=100_000,
                            description="Most uses one worker reserves at a time.")
    counter_wait_seconds: float = Field(
        default=2.0, ge=0,
        description="How long a request waits for uses another worker may hand back.")
    counter_linger_seconds: float = Field(
        default=0.05, gt=0,
        description="Idle time after which a worker hands back unused reserved uses.")
    flush_seconds: float = Field(
        default=0.25, gt=0,
        description="How often audit records and usage are written (what a crash can lose).")
    sync_seconds: float = Field(
        default=0.05, gt=0,
        description="How often a worker reads the revocation epoch (on PostgreSQL a NOTIFY "
        "wakes it at once and it polls only every half second).")
    stale_seconds: float = Field(
        default=2.0, gt=0,
        description="A worker that could not read the epoch for this long checks per request.")
    ack_timeout_seconds: float = Field(
        default=3.0, gt=0,
        description="How long suspension waits for every live worker to apply it.")
    worker_ttl_seconds: float = Field(
        default=5.0, gt=0, description="A worker silent for this long is not waited for.")
    usage_bucket_seconds: float = Field(default=3600.0, gt=0,
                                        description="Length of a metering bucket.")
    usage_grace_seconds: float = Field(
        default=30.0, ge=0,
        description="How long after its end a bucket is final (flush interval + clock skew).")
    checkpoint_records: int = Field(default=10_000, ge=1,
                                    description="Sign a checkpoint at least every N records.")
    checkpoint_seconds: float = Field(default=60.0, gt=0,
                                      description="... or every so many seconds.")
    backend_timeout_seconds: float = Field(default=30.0, gt=0,
                                           description="Time to the backend's response head.")
    backend_read_timeout_seconds: float = Field(
        default=60.0, gt=0, description="Longest silence of a backend mid-stream.")
    chunk_bytes: int = Field(default=256 * 1024, ge=4096, le=16 * 1024 * 1024)
    file_roots: list[str] = Field(
        default_factory=list,
        description="Folders file backends may read from (empty: any absolute path).")
    locations: dict[str, str] = Field(
        default_factory=dict,
        description="Client network (CIDR) -> location IRI, for 'spatial' constraints.")
    monitor_seconds: float = Field(default=5.0, gt=0,
                                   description="Longest sleep of the policy monitor.")
    usage_report_attempts: int = Field(default=50, ge=1,
                                       description="Tries to deliver one usage report.")


class ConnectorSettings(ServiceSettings):
    """Settings of ``dataspace connector serve``."""

    # Nesting ("__"), extra="forbid" and the rest are inherited from ServiceSettings.
    model_config = SettingsConfigDict(env_prefix="CONNECTOR_")

    service_role: ClassVar[str] = "connector"
    default_port: ClassVar[int] = 8620

    name: str = "connector"
    legal_name: str | None = Field(
        default=None, min_length=2, max_length=200,
        description="The participant's legal name (publisher of its datasets, title of its "
        "catalog). Default: the legalName of our MembershipCredential, else the name.",
    )
    role: Literal["provider", "consumer"] = Field(
        default="provider",
        description="What this connector mainly does (written to service.json); "
        "every connector speaks both DSP roles.",
    )
    management_port: int | None = Field(
        default=None, ge=0, le=65535,
        description="Port of the management API (default: port + 1; 0 picks a free one).",
    )
    management_host: str | None = Field(
        default=None, description="Address the management API listens on (default: host)."
    )
    did: str | None = Field(
        default=None,
        description="Our participant id. Default: did:web of the public URL, or did:key "
        "in development when did_method is 'key'.",
    )
    did_method: Literal["web", "key"] | None = Field(
        default=None, description="How our DID is made: 'web' (default) or 'key' (default "
        "with --dev)."
    )
    trust_anchor_url: str | None = None
    marketplace_url: str | None = None
    data_plane_url: str | None = Field(
        default=None, description="Public URL of the data plane (default: <base_url>/data)."
    )
    edr_token_seconds: float = Field(default=300.0, gt=0,
                                     description="Lifetime of data-plane access tokens.")
    catalog_page_size: int = Field(default=100, ge=1, le=1000)
    signaling: Literal["in-process", "data-plane"] = Field(
        default="data-plane",
        description="Data-plane signaling implementation: 'in-process' (tokens only) or "
        "'data-plane' (the enforcing data plane).")
    data_plane: DataPlaneSettings = Field(default_factory=DataPlaneSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    tck: TckSettings = Field(default_factory=TckSettings)

    @model_validator(mode="after")
    def _management_port(self) -> Self:
        if self.management_port is None:
            self.management_port = self.port + 1 if self.port else 0
        if self.auth.mode is None:
            dcp = self.trust_anchor_url is not None and not self.tck.enabled
            self.auth.mode = "dcp" if dcp else "fixed-token"
        if self.did_method is None:
            # DCP needs a DID document that names our Credential Service: did:web.
            self.did_method = "key" if self.dev and self.auth.mode != "dcp" else "web"
        if self.jobs.lease_seconds <= self.http_timeout_seconds:
            # A lease that expires while a peer is still answering would let a
            # second replica send the same message.
            raise ValueError("jobs.lease_seconds must exceed http_timeout_seconds")
        return self

    @property
    def dsp_url(self) -> str:
        """Where peers reach our DSP endpoints (also our callback address)."""
        return self.base_url + "/dsp"

    @property
    def public_data_plane_url(self) -> str:
        """Where consumers pull data from."""
        return (self.data_plane_url or self.base_url + "/data").rstrip("/")

    @property
    def data_path(self) -> str:
        """The path of the data endpoint: the data-plane URL's (``/data`` by default)."""
        return urlsplit(self.public_data_plane_url).path or "/"
