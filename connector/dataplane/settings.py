"""Data-plane settings: a nested group of the connector's settings (``CONNECTOR_DATA_PLANE__*``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DataPlaneSettings"]


class DataPlaneSettings(BaseModel):
    """How the data plane enforces, meters, audits and streams."""

    model_config = ConfigDict(extra="forbid")

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
