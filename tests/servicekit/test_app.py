"""The base application: health, metrics, OpenAPI, problem+json and request ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, Field

from servicekit.app import DB_ENGINE, READINESS_CHECKS, create_service_app, database_context
from servicekit.errors import NotFound
from servicekit.logging import configure_logging
from servicekit.openapi import operation
from servicekit.settings import ServiceSettings
from servicekit.web import high_volume, json_response, parse_body

MIGRATIONS = Path(__file__).parent / "migrations"


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=200)
    stars: int = Field(ge=0, le=5)


@operation("Create a note", request=NoteIn, responses={201: NoteIn})
async def create_note(request: web.Request) -> web.Response:
    note = await parse_body(request, NoteIn)
    return json_response(note, status=201)


async def missing(request: web.Request) -> web.Response:
    """Always says the thing is not there."""
    raise NotFound(f"note {request.match_info['note_id']} does not exist", code="note-not-found")


async def explode(_request: web.Request) -> web.Response:
    raise RuntimeError("database password is hunter2")


def make_app(tmp_path: Path, **overrides: object) -> web.Application:
    settings = ServiceSettings(name="test-svc", data_dir=tmp_path, max_body_bytes=2048,
                               **overrides)  # type: ignore[arg-type]
    app = create_service_app(settings, title="Test service", version="1.0")
    app.cleanup_ctx.append(database_context(MIGRATIONS))
    app.router.add_post("/notes", create_note)
    app.router.add_get("/notes/{note_id}", missing)
    app.router.add_get("/explode", explode)
    return app


@pytest.fixture
async def client(aiohttp_client, tmp_path: Path) -> TestClient:  # type: ignore[no-untyped-def]
    return await aiohttp_client(make_app(tmp_path))


async def test_health_and_readiness(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["status"] == "ready"


async def test_readiness_reports_a_failing_dependency(client: TestClient) -> None:
    async def broken(_app: web.Application) -> bool:
        return False

    client.server.app[READINESS_CHECKS].append(("message-bus", broken))
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["failing"] == ["message-bus"]


async def test_database_is_migrated_on_start(client: TestClient) -> None:
    from sqlalchemy import text

    async with client.server.app[DB_ENGINE].connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM notes"))).scalar()
    assert rows == 0


async def test_metrics_count_requests_by_route(client: TestClient) -> None:
    await client.get("/notes/7")
    await client.get("/notes/8")
    text = await (await client.get("/metrics")).text()
    line = next(
        ln for ln in text.splitlines()
        if ln.startswith("http_requests_total{") and 'route="/notes/{note_id}"' in ln
    )
    assert 'status="404"' in line
    assert line.endswith(" 2.0")


async def test_openapi_describes_every_route(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/healthz", "/readyz", "/metrics", "/openapi.json", "/notes", "/notes/{note_id}",
        "/explode",
    }
    post = doc["paths"]["/notes"]["post"]
    assert post["summary"] == "Create a note"
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NoteIn"
    }
    assert "stars" in doc["components"]["schemas"]["NoteIn"]["properties"]
    # a handler without a declaration is still listed, with its docstring
    get_note = doc["paths"]["/notes/{note_id}"]["get"]
    assert get_note["summary"] == "Always says the thing is not there."
    assert get_note["parameters"][0]["name"] == "note_id"


async def test_domain_errors_become_problem_json(client: TestClient) -> None:
    response = await client.get("/notes/42")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["code"] == "note-not-found"
    assert body["type"].endswith("/note-not-found")
    assert body["detail"] == "note 42 does not exist"
    assert body["instance"] == "/notes/42"


async def test_validation_errors_list_paths(client: TestClient) -> None:
    response = await client.post("/notes", json={"body": "", "stars": 9})
    assert response.status == 400
    body = await response.json()
    assert body["code"] == "validation-failed"
    assert {e["path"] for e in body["errors"]} == {"/body", "/stars"}


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"{not json", 400, "malformed-json"),
        (b"", 400, "empty-body"),
        (b'{"body": "' + b"x" * 4000 + b'", "stars": 1}', 413, "payload-too-large"),
    ],
)
async def test_bad_bodies(client: TestClient, payload: bytes, status: int, code: str) -> None:
    response = await client.post(
        "/notes", data=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status == status
    assert (await response.json())["code"] == code


async def test_unexpected_errors_hide_internals(client: TestClient) -> None:
    response = await client.get("/explode")
    assert response.status == 500
    text = await response.text()
    assert "hunter2" not in text
    assert json.loads(text)["code"] == "internal-error"


async def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    response = await client.get("/nowhere")
    assert response.status == 404
    assert (await response.json())["code"] == "route-not-found"
    response = await client.delete("/notes")
    assert response.status == 405
    assert (await response.json())["code"] == "method-not-allowed"


async def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    response = await client.get("/healthz", headers={"X-Request-ID": "bad id\u00e6"})
    generated = response.headers["X-Request-ID"]
    assert generated != "bad id\u00e6"
    assert len(generated) == 32


async def test_one_json_summary_line_per_request(
    aiohttp_client, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    configure_logging("INFO", json=True, service="test-svc")
    client = await aiohttp_client(make_app(tmp_path))
    capsys.readouterr()
    await client.get("/notes/5", headers={"X-Request-ID": "req-5"})
    lines = [json.loads(ln) for ln in capsys.readouterr().err.splitlines() if ln.startswith("{")]
    served = [ln for ln in lines if ln["event"] == "request_served"]
    assert len(served) == 1
    assert served[0]["request_id"] == "req-5"
    assert served[0]["status"] == 404
    assert served[0]["route"] == "/notes/{note_id}"
    assert served[0]["service"] == "test-svc"


async def test_high_volume_routes_are_counted_but_not_logged(
    aiohttp_client, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    @high_volume
    async def bulk(_request: web.Request) -> web.Response:
        return web.Response(text="data")

    configure_logging("INFO", json=True, service="test-svc")
    app = make_app(tmp_path)
    app.router.add_get("/bulk", bulk)
    client = await aiohttp_client(app)
    capsys.readouterr()
    for _ in range(3):
        response = await client.get("/bulk")
        assert response.status == 200
        assert len(response.headers["X-Request-ID"]) == 32
    await client.get("/notes/5")
    lines = [json.loads(ln) for ln in capsys.readouterr().err.splitlines() if ln.startswith("{")]
    assert [ln["path"] for ln in lines if ln["event"] == "request_served"] == ["/notes/5"]
    metrics = await (await client.get("/metrics")).text()
    assert 'http_requests_total{method="GET",route="/bulk",status="200"} 3.0' in metrics


async def test_a_sub_app_renders_its_own_errors(aiohttp_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from servicekit.web import ERROR_RENDERER

    def oauth_style(_request: web.Request, error: NotFound) -> web.Response:  # type: ignore[override]
        return web.json_response({"error": error.code}, status=error.status)

    app = make_app(tmp_path)
    sub = web.Application()
    sub[ERROR_RENDERER] = oauth_style
    sub.router.add_get("/notes/{note_id}", missing)
    app.add_subapp("/oauth", sub)
    client = await aiohttp_client(app)
    assert await (await client.get("/oauth/notes/1")).json() == {"error": "note-not-found"}
    # The parent keeps problem+json.
    assert (await (await client.get("/notes/1")).json())["code"] == "note-not-found"
