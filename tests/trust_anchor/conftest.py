"""A real trust anchor on loopback, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from identity.keys import KeyPair
from identity.self_issued import create_self_issued_token
from identity.signer import Signer
from tests.conftest import Database, free_port
from tests.factories import trust_anchor_settings
from trust_anchor.app import create_app
from trust_anchor.settings import TrustAnchorSettings


@dataclass
class TrustAnchor:
    """A running trust anchor and what tests need to talk to it."""

    url: str
    did: str
    admin_key: str
    server: TestServer
    http: aiohttp.ClientSession

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    async def post(self, path: str, body: Any = None, *, admin: bool = False,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        all_headers = dict(self.admin if admin else {})
        all_headers.update(headers or {})
        async with self.http.post(self.url + path, json=body, headers=all_headers) as response:
            return response.status, await response.json(content_type=None)

    async def get(self, path: str, *, admin: bool = False,
                  headers: dict[str, str] | None = None) -> tuple[int, Any]:
        all_headers = dict(self.admin if admin else {})
        all_headers.update(headers or {})
        async with self.http.get(self.url + path, headers=all_headers) as response:
            if response.content_type.endswith("json"):
                return response.status, await response.json()
            return response.status, await response.text()


@asynccontextmanager
async def serving(settings: TrustAnchorSettings) -> AsyncIterator[TrustAnchor]:
    """The trust anchor of ``settings`` serving on its port, and a client to talk to it."""
    from servicekit.app import SERVICE_INFO

    server = TestServer(create_app(settings), host="127.0.0.1", port=settings.port)
    await server.start_server()
    try:
        info = server.app[SERVICE_INFO]
        async with aiohttp.ClientSession() as http:
            yield TrustAnchor(settings.base_url, info["did"], info["admin_api_key"], server,
                              http)
    finally:
        await server.close()


@pytest.fixture
async def trust_anchor(tmp_path: Path, database: Database) -> AsyncIterator[TrustAnchor]:
    async with serving(trust_anchor_settings(tmp_path, database, free_port())) as running:
        yield running


@dataclass
class Applicant:
    """A would-be participant with a did:key."""

    signer: Signer
    legal_name: str = "Halden kommune"
    organisation_number: str = "959 159 092"

    @property
    def did(self) -> str:
        return self.signer.did

    def application(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "legal_name": self.legal_name,
            "organisation_number": self.organisation_number,
            "country": "NO",
            "did": self.did,
            "contact": {"name": "Data team", "email": "data@halden.kommune.no"},
            "roles": ["provider", "consumer"],
        }
        body.update(overrides)
        return body


def new_applicant(**kwargs: Any) -> Applicant:
    return Applicant(Signer.for_did_key(KeyPair.generate()), **kwargs)


async def apply(ta: TrustAnchor, applicant: Applicant, *, signer: Signer | None = None,
                **overrides: Any) -> tuple[int, Any]:
    """Get a challenge, sign it, and apply; returns the application response."""
    status, challenge = await ta.post("/applications/challenge", {"did": applicant.did})
    assert status == 201, challenge
    proof = create_self_issued_token(
        signer or applicant.signer, ta.did, extra_claims={"nonce": challenge["challenge"]}
    )
    return await ta.post("/applications", {**applicant.application(**overrides), "proof": proof})
