"""The local data space: which services run, how they are bootstrapped, where state lives.

``dataspace up`` is this module: a list of services (add one with a few
lines in :data:`PARTICIPANTS` or :func:`service_specs`), supervised as child
processes on loopback, bootstrapped through the real protocols (connectors
apply at the trust anchor with their own DIDs, the operator approves, the
connectors collect their MembershipCredentials over OID4VCI; the marketplace
applies by itself with the role ``marketplace``, the operator approves, and
it collects its credential over DCP), seeded with example datasets and
Halden's data products on the marketplace (:mod:`dataspace.local.products`),
and described in ``<data-dir>/dataspace.json``.

Everything is idempotent: a second ``up`` on the same data directory reuses
keys, DIDs, databases and the bootstrap state (``bootstrap.json``), so no
participant, dataset or product is created twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dataspace.client import ApiClient, ApiError
from dataspace.consoles import console_url
from dataspace.local.datasets import air_quality, building_energy, parking
from dataspace.local.members import MarketplaceCaller, connector_signer
from dataspace.local.products import seed_products
from dataspace.local.supervisor import ServiceSpec, Supervisor
from identity.signer import Signer
from servicekit.errors import Conflict, DataspaceError
from servicekit.runner import ensure_ports_free
from servicekit.service_info import write_private_json

__all__ = [
    "PARTICIPANTS",
    "LocalSpace",
    "Participant",
    "service_specs",
]

SEED = Path(__file__).parent / "seed"
#: Ports are ``base_port`` + these offsets (8600, 8610, 8620/21, 8630/31, 8690 by default).
DEFAULT_BASE_PORT = 8600
TRUST_ANCHOR_OFFSET = 0
MARKETPLACE_OFFSET = 10
PARKING_OFFSET = 90
#: How long clients keep trying a service the supervisor is restarting.
RESTART_GRACE = 30.0
#: Seconds between status-list and registry refreshes in the local data space: a
#: revoked credential (a cancelled order's purchase) is refused within this long.
STATUS_REFRESH = 5
#: The marketplace's application for membership (it applies by itself on start).
MARKETPLACE_MEMBER = {"LEGAL_NAME": "Datatorget lokal markedsplass AS",
                      "ORGANISATION_NUMBER": "999 888 777",
                      "CONTACT_NAME": "Markedsplassens drift",
                      "CONTACT_EMAIL": "drift@datatorget.example", "POLL_SECONDS": "1"}
#: Connectors meter in short buckets locally, so pay-per-use is billed within seconds.
USAGE_BUCKET_SECONDS = 5


@dataclass(frozen=True)
class Participant:
    """A participant of the local data space and its connector."""

    name: str
    legal_name: str
    organisation_number: str
    role: str  # the connector's role: provider or consumer
    roles: tuple[str, ...]  # the roles it applies for at the trust anchor
    port_offset: int
    contact_name: str
    contact_email: str
    #: Datasets the bootstrap registers in this connector.
    datasets: tuple[Callable[[LocalSpace], dict[str, Any]], ...] = ()


PARTICIPANTS: tuple[Participant, ...] = (
    Participant("halden", "Halden kommune", "959 159 092", "provider", ("provider",), 20,
                "Dataforvaltning", "data@halden.kommune.no",
                datasets=(air_quality, parking, building_energy)),
    Participant("example-analytics", "Example Analytics AS", "912 345 678", "consumer",
                ("consumer",), 30, "Kari Nordmann", "kari@example-analytics.no"),
)


def service_specs(data_dir: Path, postgres: str | None,
                  base_port: int = DEFAULT_BASE_PORT) -> list[ServiceSpec]:
    """The processes of the local data space."""
    def database(prefix: str, schema: str) -> dict[str, str]:
        if postgres is None:
            return {}
        return {f"{prefix}DATABASE_URL": postgres, f"{prefix}DATABASE_SCHEMA": schema}

    trust_anchor_port = base_port + TRUST_ANCHOR_OFFSET
    marketplace_port = base_port + MARKETPLACE_OFFSET
    parking_port = base_port + PARKING_OFFSET
    trust_anchor_url = f"http://127.0.0.1:{trust_anchor_port}"
    marketplace_url = f"http://127.0.0.1:{marketplace_port}"
    refresh = str(STATUS_REFRESH)
    specs = [
        ServiceSpec("trust-anchor", "trust-anchor",
                    ["trust-anchor", "serve", "--dev", "--port", str(trust_anchor_port),
                     "--data-dir", str(data_dir / "trust-anchor"),
                     "--operator-name", "Local data space operator"],
                    trust_anchor_port, data_dir / "trust-anchor",
                    env=database("TA_", "trust_anchor")),
        ServiceSpec("marketplace", "marketplace",
                    ["marketplace", "serve", "--dev", "--port", str(marketplace_port),
                     "--trust-anchor", trust_anchor_url,
                     "--data-dir", str(data_dir / "marketplace")],
                    marketplace_port, data_dir / "marketplace",
                    env={**database("MARKETPLACE_", "marketplace"),
                         **{f"MARKETPLACE_MEMBERSHIP__{k}": v
                            for k, v in MARKETPLACE_MEMBER.items()},
                         # connectors re-read it every STATUS_REFRESH: no HTTP cache on top
                         "MARKETPLACE_STATUS_LIST_MAX_AGE": "0",
                         "MARKETPLACE_STATUS_REFRESH_SECONDS": refresh,
                         "MARKETPLACE_MEMBER_CACHE_SECONDS": refresh}),
        ServiceSpec("parking-api", "backend", ["--port", str(parking_port)], parking_port,
                    data_dir / "parking-api", module="dataspace.local.parking"),
    ]
    for participant in PARTICIPANTS:
        port = base_port + participant.port_offset
        specs.append(ServiceSpec(
            participant.name, participant.role,
            ["connector", "serve", "--dev", "--name", participant.name,
             "--role", participant.role, "--port", str(port),
             "--trust-anchor", trust_anchor_url, "--marketplace", marketplace_url,
             "--data-dir", str(data_dir / participant.name)],
            port, data_dir / participant.name,
            env={**database("CONNECTOR_", participant.name.replace("-", "_")),
                 "CONNECTOR_AUTH__DCP__STATUS_LIST_TTL": refresh,
                 "CONNECTOR_AUTH__DCP__REGISTRY_TTL": refresh,
                 "CONNECTOR_DATA_PLANE__USAGE_BUCKET_SECONDS": str(USAGE_BUCKET_SECONDS),
                 "CONNECTOR_DATA_PLANE__USAGE_GRACE_SECONDS": "1"}))
    return specs


@dataclass
class LocalSpace:
    """One local data space in a data directory."""

    data_dir: Path
    postgres: str | None = None
    log: Callable[[str], None] = print
    base_port: int | None = None
    specs: list[ServiceSpec] = field(init=False)
    supervisor: Supervisor = field(init=False)
    _lock: IO[str] | None = field(init=False, default=None)
    _signers: dict[str, Signer] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        # DIDs are did:web of the ports, so a data space keeps the ports it began with.
        state = self._state()
        if self.base_port is None:
            self.base_port = int(state.get("base_port", DEFAULT_BASE_PORT))
        elif state.get("base_port", self.base_port) != self.base_port:
            raise DataspaceError(
                f"{self.data_dir} was set up on base port {state['base_port']}; its DIDs "
                "name those ports", code="base-port-mismatch")
        self.specs = service_specs(self.data_dir, self.postgres, self.base_port)
        env = dict(os.environ)
        # Development keys are sealed with a passphrase kept in each data dir
        # (--dev); never do this with real keys.
        self.supervisor = Supervisor(self.specs, env=env,
                                     on_event=lambda name, msg: self.log(f"  {name}: {msg}"))

    # -- state -----------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        """What the bootstrap has done already."""
        return self.data_dir / "bootstrap.json"

    def _state(self) -> dict[str, Any]:
        if self.state_file.exists():
            data: dict[str, Any] = json.loads(self.state_file.read_text())
            return data
        return {}

    def _save(self, state: dict[str, Any]) -> None:
        write_private_json(self.state_file, state)

    def seed_file(self, name: str) -> Path:
        """A seed data file, copied into the data directory (the provider's backend)."""
        target = self.data_dir / "seed" / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SEED / name, target)
        return target

    def spec(self, name: str) -> ServiceSpec:
        """The service called ``name``."""
        return next(s for s in self.specs if s.name == name)

    def service(self, name: str) -> dict[str, Any]:
        """The ``service.json`` of service ``name``."""
        info = self.spec(name).service_json()
        if info is None:
            raise RuntimeError(f"{name} has not written its service.json")
        return info

    def management(self, name: str) -> ApiClient:
        """A client of a connector's management API (rides out a restart of it)."""
        info = self.service(name)
        return ApiClient(info["management_url"], api_key=info["admin_api_key"],
                         unreachable_grace=RESTART_GRACE)

    def operator(self) -> ApiClient:
        """A client of the trust anchor's admin API (rides out a restart of it)."""
        info = self.service("trust-anchor")
        return ApiClient(info["base_url"], api_key=info["admin_api_key"],
                         unreachable_grace=RESTART_GRACE)

    def marketplace(self, member: str | None = None) -> MarketplaceCaller:
        """A client of the marketplace: as its operator, or as the participant ``member``."""
        info = self.service("marketplace")
        if member is None:
            return MarketplaceCaller(info["base_url"], info["did"],
                                     api_key=info["admin_api_key"], grace=RESTART_GRACE)
        return MarketplaceCaller(info["base_url"], info["did"], signer=self.signer(member),
                                 grace=RESTART_GRACE)

    def signer(self, name: str) -> Signer:
        """The signing key of connector ``name`` (read from its data directory once)."""
        if name not in self._signers:
            self._signers[name] = connector_signer(self.spec(name).data_dir,
                                                   str(self.service(name)["did"]))
        return self._signers[name]

    # -- running ---------------------------------------------------------------

    async def start(self) -> None:
        """Start every service, bootstrap what is not done yet, write dataspace.json.

        Refuses (``data-dir-in-use``, ``port-in-use``) before starting anything
        when another ``up`` holds the data directory or a port is taken:
        otherwise the children would crash-loop while the other instance
        answered their readiness checks.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.acquire()
        try:
            ensure_ports_free("127.0.0.1", [spec.port for spec in self.specs],
                              advice=" (another `dataspace up`?); use --base-port")
            await self.supervisor.start()
            await self.bootstrap()
            self.write_description()
        except BaseException:
            await self.supervisor.stop()
            self.release()
            raise

    async def stop(self) -> None:
        """Stop every child cleanly."""
        try:
            await self.supervisor.stop()
        finally:
            self.release()

    @property
    def lock_file(self) -> Path:
        """Held (``flock``) by the process running this data space; holds its pid."""
        return self.data_dir / "up.lock"

    def acquire(self) -> None:
        """Take the data directory's lock, or raise ``data-dir-in-use``."""
        handle = self.lock_file.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            handle.close()
            raise Conflict(f"another `dataspace up` (pid {pid}) runs the data space in "
                           f"{self.data_dir}; stop it or use another --data-dir",
                           code="data-dir-in-use") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def release(self) -> None:
        """Let go of the data directory's lock (closing the file releases it)."""
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self.lock_file.write_text("")
            self._lock.close()
            self._lock = None

    async def bootstrap(self) -> None:
        """Onboard every participant and seed its datasets (skipping what is done)."""
        state = self._state()
        state.setdefault("base_port", self.base_port)
        for participant in PARTICIPANTS:
            done = state.setdefault(participant.name, {})
            if not done.get("member"):
                await self._onboard(participant, state)
                done["member"] = True
                self._save(state)
                self.log(f"  {participant.name}: onboarded as {participant.legal_name}")
            seeded = set(done.get("datasets", []))
            for make in participant.datasets:
                dataset = make(self)
                if dataset["id"] in seeded:
                    continue
                await self._seed(participant, dataset)
                seeded.add(dataset["id"])
                done["datasets"] = sorted(seeded)
                self._save(state)
                self.log(f"  {participant.name}: published {dataset['id']}")
        market = state.setdefault("marketplace", {})
        if not market.get("member"):
            await self._onboard_marketplace()
            market["member"] = True
            self._save(state)
            self.log("  marketplace: onboarded; accredited to issue DataProductPurchase "
                     "credentials")
        await seed_products(self, market, lambda: self._save(state))

    async def _onboard_marketplace(self, within: float = 60.0) -> None:
        """Approve the marketplace's own application; wait until it holds its credential."""
        deadline = time.monotonic() + within
        async with self.marketplace() as market, self.operator() as operator:
            while True:
                status = await market.get("/membership")
                if status.get("credential"):
                    return
                if status["status"] == "submitted" and status.get("application_id"):
                    with contextlib.suppress(ApiError):  # approved meanwhile: read again
                        await operator.post(
                            f"/admin/applications/{status['application_id']}/approve",
                            {"reason": "local data space bootstrap"})
                if time.monotonic() > deadline:
                    raise DataspaceError(
                        f"the marketplace is not a member after {within:.0f} s "
                        f"({status['status']}); see {self.spec('marketplace').log_file}",
                        code="marketplace-not-onboarded")
                await asyncio.sleep(0.2)

    async def _onboard(self, participant: Participant, state: dict[str, Any]) -> None:
        """Apply (once), approve (once), collect: each step resumes after a crash."""
        done = state[participant.name]
        async with self.management(participant.name) as connector, self.operator() as operator:
            status = await connector.get("/api/v1/membership")
            if status["status"] in ("none", "rejected"):
                status = await connector.post("/api/v1/membership/apply", {
                    "legal_name": participant.legal_name,
                    "organisation_number": participant.organisation_number,
                    "country": "NO",
                    "contact": {"name": participant.contact_name,
                                "email": participant.contact_email},
                    "roles": list(participant.roles),
                })
            if status["status"] == "submitted":
                approved = await operator.post(
                    f"/admin/applications/{status['application_id']}/approve",
                    {"reason": "local data space bootstrap"})
                done["tx_code"] = approved["tx_code"]
                self._save(state)
            current = await connector.get("/api/v1/membership")
            if not current["credentials"]:
                await connector.post("/api/v1/membership/collect",
                                     {"tx_code": done.get("tx_code")})
            done.pop("tx_code", None)

    async def _seed(self, participant: Participant, dataset: dict[str, Any]) -> None:
        async with self.management(participant.name) as connector:
            try:
                await connector.post("/api/v1/datasets", dataset)
            except ApiError as error:
                if error.http_status != 409:  # already there from an earlier run
                    raise

    def write_description(self) -> Path:
        """``<data-dir>/dataspace.json``: every service's service.json, with its role.

        Every service with pages also has its ``console_url``. Helper processes
        without a service.json (the parking API behind Halden's parking dataset)
        are listed with their name, role and URL.
        """
        services = []
        for spec in self.specs:
            info = spec.service_json() or {"name": spec.name, "base_url": spec.base_url}
            entry = {**info, "role": spec.role}
            console = console_url(entry)
            services.append({**entry, "console_url": console} if console else entry)
        path = self.data_dir / "dataspace.json"
        write_private_json(path, {"services": services})
        return path
