"""Builders of test inputs shared by the test packages: service settings, agreements, flows.

Settings point a service at a test database and a private data folder on
127.0.0.1 in development mode; agreements come from the plan templates the
connector offers, as DSP JSON the control plane keeps.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.test_utils import unused_port

from connector.domain.catalog import Backend
from connector.settings import AuthSettings, ConnectorSettings, FixedCaller, JobSettings
from connector.signaling import DataFlow
from marketplace.settings import MarketplaceSettings
from policies.presets import PlanTerms, agreement_from_offer, plan_offer
from policies.serialize import to_dsp
from tests.conftest import Database, free_port
from trust_anchor.settings import TrustAnchorSettings

__all__ = [
    "CONSUMER",
    "PROVIDER",
    "agreement",
    "connector_settings",
    "data_flow",
    "data_plane_settings",
    "marketplace_settings",
    "trust_anchor_settings",
]

PROVIDER = "did:web:provider.example"
CONSUMER = "did:web:consumer.example"


def connector_settings(
    name: str,
    data_dir: Path,
    database: Database,
    *,
    tokens: Mapping[str, FixedCaller] | None = None,
    outbound_token: str | None = None,
    **overrides: Any,
) -> ConnectorSettings:
    """Settings for a test connector named ``name`` (DID ``did:web:<name>.example``)."""
    values: dict[str, Any] = {
        "name": name,
        "host": "127.0.0.1",
        "port": unused_port(),
        "management_port": 0,
        "data_dir": data_dir / name,
        "database_url": database.url,
        "database_schema": database.schema,
        "dev": True,
        "did": f"did:web:{name}.example",
        "log_level": "WARNING",
        "auth": AuthSettings(tokens=dict(tokens or {}), outbound_token=outbound_token),
        "jobs": JobSettings(poll_seconds=0.2),
    }
    values.update(overrides)
    return ConnectorSettings(**values)


def data_plane_settings(database: Database, data_dir: Path, *, port: int | None = None,
                        data_plane_url: str | None = None, edr_token_seconds: float = 300.0,
                        **data_plane: Any) -> ConnectorSettings:
    """Connector settings for a data plane on loopback over ``database``."""
    port = port or free_port()
    return ConnectorSettings(
        dev=True, host="127.0.0.1", port=port, data_dir=data_dir, name="provider",
        database_url=database.url, database_schema=database.schema, did_method="key",
        key_passphrase="test-passphrase", log_level="WARNING", data_plane_url=data_plane_url,
        edr_token_seconds=edr_token_seconds, data_plane={"flush_seconds": 0.05, **data_plane},
    )


def trust_anchor_settings(tmp_path: Path, database: Database, port: int, **extra: Any
                          ) -> TrustAnchorSettings:
    """Settings for a test trust anchor on ``port`` (cheap key derivation, JSON logs)."""
    return _issuer_settings(TrustAnchorSettings, tmp_path / "ta", database, port, **extra)


def marketplace_settings(tmp_path: Path, database: Database, port: int, **extra: Any
                         ) -> MarketplaceSettings:
    """Settings for a test marketplace on ``port`` (cheap key derivation, JSON logs)."""
    return _issuer_settings(MarketplaceSettings, tmp_path / "marketplace", database, port,
                            **extra)


_S = TypeVar("_S", TrustAnchorSettings, MarketplaceSettings)


def _issuer_settings(cls: type[_S], data_dir: Path, database: Database, port: int,
                     **extra: Any) -> _S:
    """A credential issuer's test settings: development mode, a cheap key derivation."""
    return cls(
        port=port,
        data_dir=data_dir,
        database_url=database.url,
        database_schema=database.schema,
        dev=True,
        key_passphrase="test passphrase",
        key_scrypt_n=2**10,
        log_json=True,
        **extra,
    )


def agreement(terms: PlanTerms, *, agreement_id: str | None = None,
              dataset_id: str = "urn:dataset:traffic", consumer: str = CONSUMER,
              timestamp: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """An ODRL Agreement (DSP JSON) made from a plan template, as the control plane keeps it."""
    offer = plan_offer(terms, offer_id=f"urn:offer:{uuid.uuid4()}", assigner=PROVIDER,
                       target=dataset_id, membership_credential=None)
    made = agreement_from_offer(offer, agreement_id=agreement_id or f"urn:uuid:{uuid.uuid4()}",
                                assignee=consumer, target=dataset_id,
                                timestamp=timestamp or datetime(2026, 1, 1, tzinfo=UTC))
    return to_dsp(made)


def data_flow(policy: dict[str, Any], backend: Backend, *, transfer_id: str | None = None,
              consumer: str = CONSUMER) -> DataFlow:  # fmt: skip
    """What the control plane hands the data plane for one pull transfer."""
    return DataFlow(
        transfer_id=transfer_id or f"urn:uuid:{uuid.uuid4()}",
        agreement_id=str(policy["@id"]),
        dataset_id=str(policy.get("target", "urn:dataset:traffic")),
        consumer_id=consumer,
        format="HttpData-PULL",
        agreement=policy,
        backend=backend,
    )
