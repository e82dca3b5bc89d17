"""``dataspace credential``: issue and verify VC 2.0 credentials through a trust anchor's VC-API.

``issue FILE`` sends the credential in FILE (``-`` for stdin) to
``POST /credentials/issue`` (operator key needed) and prints what was
issued; ``--out`` writes the secured credential. ``verify FILE`` sends a
credential (JSON, or a compact JWT) to ``POST /credentials/verify``, or with
``--presentation`` a presentation to ``POST /presentations/verify``.

Exit codes: 0 issued / verified, 1 not verified, 2 bad input (including a
credential the issuer refuses: the reason, its code and JSON pointer go to
stderr on one line).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dataspace.cli import cli
from dataspace.cli.common import fail, handle_errors, locate_service, print_json

if TYPE_CHECKING:
    from dataspace.client import ApiClient

__all__ = ["credential"]

_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")


def _connection(command: Any) -> Any:
    command = click.option("--url", default=None, help="Trust anchor URL.")(command)
    command = click.option("--api-key", envvar="DATASPACE_ADMIN_API_KEY", default=None,
                           help="Admin API key (or $DATASPACE_ADMIN_API_KEY); issuing "
                                "needs it.")(command)
    return click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                        default=None,
                        help="The trust anchor's data dir (reads its service.json), or "
                             "that of `dataspace up`.")(command)


def _client(url: str | None, api_key: str | None, data_dir: Path | None,
            *, admin: bool) -> ApiClient:
    if url is None or (admin and api_key is None):
        if data_dir is None:
            fail("give --url" + (" and --api-key" if admin else "") +
                 ", or --data-dir of the trust anchor (or of `dataspace up`)")
        _folder, info = locate_service(data_dir, ("trust-anchor",), "trust anchor", "--url")
        url = url or info["base_url"]
        api_key = api_key or (info.get("admin_api_key") if admin else None)
    from dataspace.client import ApiClient

    return ApiClient(str(url), api_key=api_key)


def _read(source: str) -> Any:
    """A JSON document, or a compact JWT, from a file or ``-`` (stdin)."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}")
    text = text.strip()
    if text.count(".") == 2 and not text.startswith(("{", "[")):
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        fail(f"{source} is neither JSON nor a compact JWT: {exc}")


async def _post(client: ApiClient, path: str, body: Any,
                headers: dict[str, str] | None = None) -> Any:
    async with client:
        return await client.request("POST", path, json_body=body, headers=headers)


def _rows(rows: list[tuple[str, Any]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        if value not in (None, "", []):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            click.echo(f"{name:<{width}}  {shown}")


def _payload(secured: dict[str, Any]) -> dict[str, Any]:
    """The credential inside an enveloped vc+jwt (unverified: for display), or itself."""
    if secured.get("type") == "EnvelopedVerifiableCredential":
        from identity.jose import decode_jws

        return dict(decode_jws(str(secured["id"]).split(",", 1)[1]).claims())
    return secured


@cli.group()
def credential() -> None:
    """Issue and verify VC 2.0 credentials (VC-API)."""


@credential.command("issue")
@click.argument("source", metavar="FILE")
@_connection
@click.option("--proof-format", type=click.Choice(["vc+jwt", "eddsa-rdfc-2022"]), default=None,
              help="How to secure it (default: the trust anchor's TA_VC_API_PROOF_FORMAT).")
@click.option("--validity-days", type=click.IntRange(1, 3650), default=None,
              help="Set validUntil this many days after validFrom (or now) when it has none.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the secured credential here.")
@_json_option
@handle_errors
def issue(source: str, url: str | None, api_key: str | None, data_dir: Path | None,
          proof_format: str | None, validity_days: int | None, out: Path | None,
          as_json: bool) -> None:
    """Issue the VC 2.0 credential in FILE (- for stdin) as the trust anchor."""
    document = _read(source)
    if not isinstance(document, dict):
        fail(f"{source} does not hold a credential (a JSON object)")
    options: dict[str, Any] = {}
    if proof_format is not None:
        options["proofFormat"] = proof_format
    if validity_days is not None:
        options["validity_days"] = validity_days
    from dataspace.client import ApiError

    client = _client(url, api_key, data_dir, admin=True)
    try:
        answer = asyncio.run(_post(client, "/credentials/issue",
                                   {"credential": document, "options": options}))
    except ApiError as error:
        pointer = error.body.get("pointer") if isinstance(error.body, dict) else None
        fail(f"{error.code}: {error.detail}" + (f" (at {pointer})" if pointer else ""))
    secured = answer["verifiableCredential"]
    if out is not None:
        out.write_text(json.dumps(secured, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if as_json:
        print_json(secured)
        return
    issued = _payload(secured)
    enveloped = secured.get("type") == "EnvelopedVerifiableCredential"
    issuer = issued.get("issuer")
    _rows([
        ("issued", "vc+jwt (enveloped)" if enveloped else "eddsa-rdfc-2022 (Data Integrity)"),
        ("id", issued.get("id")),
        ("type", issued.get("type")),
        ("issuer", issuer.get("id") if isinstance(issuer, dict) else issuer),
        ("valid", " .. ".join(str(issued.get(k, "")) for k in ("validFrom", "validUntil"))
         if "validFrom" in issued or "validUntil" in issued else None),
        ("status", [e.get("statusPurpose") for e in _list(issued.get("credentialStatus"))
                    if isinstance(e, dict)]),
        ("written to", str(out) if out is not None else None),
    ])
    if out is None:
        click.echo("")
        click.echo(json.dumps(secured, indent=2, ensure_ascii=False))
    target = str(out) if out is not None else "FILE"
    click.echo(f"\nNext: dataspace credential verify {target} --url {client.base_url}")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


@credential.command("verify")
@click.argument("source", metavar="FILE")
@_connection
@click.option("--presentation", is_flag=True, help="FILE holds a presentation.")
@click.option("--challenge", default=None, help="The presentation's expected challenge (nonce).")
@click.option("--domain", default=None, help="The presentation's expected domain (audience).")
@_json_option
@handle_errors
def verify(source: str, url: str | None, api_key: str | None, data_dir: Path | None,
           presentation: bool, challenge: str | None, domain: str | None,
           as_json: bool) -> None:
    """Verify the credential (or, with --presentation, the presentation) in FILE."""
    document = _read(source)
    if presentation:
        options = {k: v for k, v in (("challenge", challenge), ("domain", domain)) if v}
        path, body = "/presentations/verify", {"verifiablePresentation": document,
                                               "options": options}
    else:
        if challenge or domain:
            fail("--challenge and --domain are for --presentation")
        path, body = "/credentials/verify", {"verifiableCredential": document}
    from dataspace.client import ApiError

    client = _client(url, api_key, data_dir, admin=False)
    try:
        result = asyncio.run(_post(client, path, body))
    except ApiError as error:
        if not (isinstance(error.body, dict) and error.body.get("verified") is False):
            raise
        result = error.body
    if as_json:
        print_json(result)
    elif result.get("verified"):
        summary = result.get("credential") or {}
        _rows([
            ("verified", "yes"),
            ("checks", result.get("checks")),
            ("holder", result.get("holder")),
            ("issuer", summary.get("issuer")),
            ("type", summary.get("type")),
            ("format", summary.get("format")),
            ("credentials", len(result.get("credentials") or []) or None),
            ("warnings", result.get("warnings")),
        ])
    else:
        first = (result.get("errors") or [{}])[0]
        _rows([("verified", "no"), ("code", first.get("code")),
               ("reason", first.get("message")), ("at", first.get("pointer"))])
    if not result.get("verified"):
        sys.exit(1)
