"""Admin API keys and log redaction."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import structlog
from aiohttp import web

from servicekit.app import create_service_app
from servicekit.auth import ApiKeyVerifier, generate_api_key, hash_api_key, require_api_key
from servicekit.logging import configure_logging
from servicekit.service_info import load_or_create_admin_key, write_private_json
from servicekit.settings import ServiceSettings


def test_keys_are_random_and_checked_by_hash() -> None:
    key, other = generate_api_key(), generate_api_key()
    assert key != other
    assert key.startswith("dsk_")
    verifier = ApiKeyVerifier([hash_api_key(key)])
    assert verifier.verify(key)
    assert not verifier.verify(other)
    assert not verifier.verify(None)
    assert not verifier.verify(hash_api_key(key))  # the stored hash is not a key
    verifier.remove(hash_api_key(key))
    assert not verifier.verify(key)


async def test_admin_route_needs_the_key(aiohttp_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = generate_api_key()
    verifier = ApiKeyVerifier([hash_api_key(key)])

    @require_api_key(lambda _request: verifier)
    async def secret(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = create_service_app(ServiceSettings(data_dir=tmp_path), title="t", version="1")
    app.router.add_get("/admin", secret)
    client = await aiohttp_client(app)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {key}"}):
        response = await client.get("/admin", headers=headers)
        assert response.status == 401
        assert (await response.json())["code"] == "api-key-required"
    response = await client.get("/admin", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200


def test_admin_key_is_made_once_and_private(tmp_path: Path) -> None:
    first = load_or_create_admin_key(tmp_path)
    assert load_or_create_admin_key(tmp_path) == first
    assert oct(os.stat(tmp_path / "admin_api_key").st_mode & 0o777) == "0o600"
    write_private_json(tmp_path / "service.json", {"admin_api_key": first})
    assert oct(os.stat(tmp_path / "service.json").st_mode & 0o777) == "0o600"
    assert json.loads((tmp_path / "service.json").read_text())["admin_api_key"] == first


def test_secrets_are_redacted_from_logs(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json=True)
    structlog.get_logger().info(
        "key_loaded", access_token="eyJhbGciOi.secret", d="private-scalar",
        admin_api_key="dsk_x", kid="did:web:x#k1",
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["access_token"] == line["d"] == line["admin_api_key"] == "[redacted]"
    assert line["kid"] == "did:web:x#k1"
