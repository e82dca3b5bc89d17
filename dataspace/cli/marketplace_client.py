"""What ``dataspace product|order|bill`` share: who calls the marketplace, and how.

Members call the marketplace as they call a connector: each request carries a
DCP self-issued ID token addressed to the marketplace's DID, with an access
token that lets the marketplace read the member's MembershipCredential from
the member's own Credential Service. The CLI signs as the connector whose
folder ``--data-dir`` names (a connector's own data dir, or a ``dataspace
up`` folder with ``--connector NAME``): its key is ``keys/connector.jwk.json``
there, sealed with ``$CONNECTOR_KEY_PASSPHRASE`` or, in development, the
``keys/.passphrase`` the connector kept. The connector must be running, since
the marketplace asks its Credential Service.

``--operator`` acts with the marketplace's admin key (``--api-key``, or its
``service.json`` in ``--data-dir``: the marketplace's own folder or the ``up``
folder). Without either, the caller is anonymous and may only browse launched
public offerings.

The marketplace is ``--marketplace URL``, else the one in the ``dataspace up``
folder (``--data-dir`` itself or its parent), else ``http://127.0.0.1:8610``.

Answers: a 400 (bad input) ends the command with exit 2, any other refusal
(401, 403, 404, 409...) with exit 1, both as one line with the marketplace's
code and detail.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from dataspace.cli.common import fail, service_name_option

if TYPE_CHECKING:
    import aiohttp

    from identity.signer import Signer

__all__ = [
    "DEFAULT_MARKETPLACE",
    "TMF620",
    "TMF622",
    "TMF678",
    "Caller",
    "MarketplaceApi",
    "MarketplaceOptions",
    "follow_args",
    "marketplace_options",
    "money",
    "open_marketplace",
]

T = TypeVar("T")

#: Where ``dataspace marketplace serve`` listens by default.
DEFAULT_MARKETPLACE = "http://127.0.0.1:8610"
TMF620 = "/tmf-api/productCatalogManagement/v4"
TMF622 = "/tmf-api/productOrderingManagement/v4"
TMF678 = "/tmf-api/customerBillManagement/v4"
_DATASPACE_FILE = "dataspace.json"
_MEMBERSHIP = "MembershipCredential"
_PASSPHRASE_FILE = ".passphrase"  # noqa: S105 - a file name, not a secret
_KEY_NAME = "connector"

_options = [
    click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                 help="Your connector's folder: you act as it (or a `dataspace up` folder "
                      "with --connector NAME). With --operator: the marketplace's folder or "
                      "the `up` folder."),
    service_name_option("--connector", "connector"),
    click.option("--operator", "as_operator", is_flag=True,
                 help="Act as the marketplace operator (its admin key)."),
    click.option("--api-key", envvar="MARKETPLACE_API_KEY", default=None,
                 help="The operator's admin key (or $MARKETPLACE_API_KEY); implies --operator."),
    click.option("--marketplace", "marketplace_url", envvar="DATASPACE_MARKETPLACE",
                 default=None, help="The marketplace's URL [the `up` folder's, else "
                                    f"{DEFAULT_MARKETPLACE}]."),
    click.option("--key-passphrase", envvar="CONNECTOR_KEY_PASSPHRASE", default=None,
                 help="The connector's key passphrase [$CONNECTOR_KEY_PASSPHRASE, else the "
                      "development one in its keys folder]."),
]


@dataclass(frozen=True)
class MarketplaceOptions:
    """Which marketplace a command calls and as whom (its ``--data-dir``, ``--operator``...)."""

    data_dir: Path | None
    as_operator: bool
    api_key: str | None
    marketplace_url: str | None
    key_passphrase: str | None

    def open(self, signed_for: str | None = None) -> MarketplaceApi:
        """The marketplace client for these options (see the module docstring).

        With ``signed_for`` (what the command does), an anonymous caller is
        refused: a member or the operator may do it.
        """
        api = open_marketplace(self.data_dir, self.as_operator, self.api_key,
                               self.marketplace_url, self.key_passphrase)
        if signed_for is not None and api.caller.kind == "anonymous":
            api.require_member(signed_for)
        return api


def marketplace_options(command: Callable[..., T]) -> Callable[..., T]:
    """The options that say which marketplace to call and as whom.

    The command receives them as one ``marketplace:`` :class:`MarketplaceOptions`
    and opens the client (``marketplace.open()``) once its own input is checked.
    """
    @functools.wraps(command)
    def with_marketplace(*args: Any, **kwargs: Any) -> T:
        given = {name: kwargs.pop(name) for name in MarketplaceOptions.__dataclass_fields__}
        return command(*args, marketplace=MarketplaceOptions(**given), **kwargs)

    decorated: Callable[..., T] = with_marketplace
    for option in reversed(_options):
        decorated = option(decorated)
    return decorated


@dataclass(frozen=True)
class Caller:
    """Who the command acts as."""

    #: "member", "operator" or "anonymous".
    kind: str
    #: A member's DID.
    did: str = ""
    #: A member's signer (its connector's key).
    signer: Signer | None = field(default=None, repr=False)
    #: The operator's admin key.
    api_key: str | None = field(default=None, repr=False)
    #: A member's connector ``service.json`` (management URL and key, DSP URL).
    connector: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class MarketplaceApi:
    """Calls the marketplace as :attr:`caller`; refusals end the command with one line."""

    url: str
    caller: Caller
    #: The follow-up options that reach the same marketplace as the same caller.
    follow: str
    did: str | None = None

    def run(self, steps: Callable[[MarketplaceApi], Coroutine[Any, Any, T]]) -> T:
        """Run ``steps(self)`` in one HTTP session."""

        async def go() -> T:
            import aiohttp

            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
                self._http = http
                return await steps(self)

        return asyncio.run(go())

    def require_member(self, what: str) -> Caller:
        """The member caller, else exit 2 saying how to sign."""
        if self.caller.kind != "member":
            fail(f"{what} is a member's: give your connector's --data-dir (with --connector "
                 "NAME in a `dataspace up` folder)")
        return self.caller

    def require_operator(self, what: str) -> Caller:
        """The operator caller, else exit 2."""
        if self.caller.kind != "operator":
            fail(f"{what} is the operator's: give --operator with the marketplace's --data-dir "
                 "or --api-key")
        return self.caller

    async def call(self, method: str, path: str, body: Any = None, *,
                   params: dict[str, str] | None = None,
                   content_type: str | None = None, raw: bool = False,
                   check: bool = True) -> Any:
        """One request; JSON back (text when ``raw``); a refusal ends the command
        (or answers None when not ``check``)."""
        import aiohttp

        headers = await self._authorization()
        data = None
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            data = json.dumps(body)
        try:
            async with self._http.request(method, self.url + path, data=data, params=params,
                                          headers=headers) as response:
                text = await response.text()
                if response.status >= 400:
                    if not check:
                        return None
                    _refused(response.status, text)
                if raw:
                    return text
                return json.loads(text) if text else None
        except aiohttp.ClientError as exc:
            if not check:
                return None
            fail(f"service-unreachable: cannot reach the marketplace at {self.url}: {exc}")

    async def _authorization(self) -> dict[str, str]:
        caller = self.caller
        if caller.kind == "operator":
            return {"Authorization": f"Bearer {caller.api_key}"}
        if caller.kind != "member" or caller.signer is None:
            return {}
        from identity.dcp import DcpTokenProvider

        if self.did is None:
            self.did = await self._marketplace_did()
        token = await DcpTokenProvider(caller.signer).token_for(self.did, [_MEMBERSHIP])
        return {"Authorization": token}

    async def _marketplace_did(self) -> str:
        import aiohttp

        try:
            async with self._http.get(self.url + "/.well-known/did.json") as response:
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, ValueError) as exc:
            fail(f"service-unreachable: no DID document at {self.url}: {exc}")
        if not isinstance(document, dict) or not str(document.get("id", "")).startswith("did:"):
            fail(f"did-unknown: {self.url} does not say its DID")
        return str(document["id"])

    async def connector(self, method: str, path: str) -> Any:
        """A request to the member's own connector's management API (None if unreachable)."""
        import aiohttp

        info = self.caller.connector
        if "management_url" not in info:
            return None
        headers = {"Authorization": f"Bearer {info['admin_api_key']}"}
        try:
            async with self._http.request(method, str(info["management_url"]) + path,
                                          headers=headers) as response:
                return await response.json(content_type=None) if response.ok else None
        except (aiohttp.ClientError, ValueError):
            return None

    _http: aiohttp.ClientSession = field(init=False, repr=False)


def _refused(status: int, text: str) -> NoReturn:
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("code") or status
        detail = body.get("detail") or body.get("message") or body.get("title") or ""
        missing = body.get("missing")
        if isinstance(missing, list) and missing:
            detail += f" (missing: {', '.join(map(str, missing))})"
    else:
        code, detail = status, text[:200]
    fail(f"{code}: {detail}", code=2 if status in (400, 413, 415, 422) else 1)


def money(value: Any) -> str:
    """TMF ``Money`` as text: ``1875.00 NOK``."""
    if not isinstance(value, dict) or "value" not in value:
        return ""
    return f"{float(value['value']):.2f} {value.get('unit', '')}"


def follow_args(data_dir: Path | None, operator: bool, url: str | None) -> str:
    """The options that reach the same marketplace as the same caller, for hints."""
    words = []
    if data_dir is not None:
        words.append(f"--data-dir {data_dir}")
        name = click.get_current_context().meta.get("dataspace.service-name")
        if name:
            words.append(f"--connector {name}")
    if operator:
        words.append("--operator")
    if url is not None:
        words.append(f"--marketplace {url}")
    return " ".join(words)


def open_marketplace(data_dir: Path | None, as_operator: bool, api_key: str | None,
                     marketplace_url: str | None, key_passphrase: str | None) -> MarketplaceApi:
    """The marketplace client for a command's options (see the module docstring)."""
    operator = as_operator or api_key is not None
    info = _marketplace_info(data_dir, operator) if marketplace_url is None else None
    url = (marketplace_url or (info or {}).get("base_url") or DEFAULT_MARKETPLACE).rstrip("/")
    if not url.startswith(("http://", "https://")):
        fail(f"--marketplace {url}: not an http(s) URL")
    if operator:
        key = api_key or (info or {}).get("admin_api_key")
        if not key:
            fail("no admin key: give --api-key, or --data-dir of the marketplace (or of "
                 "`dataspace up`)")
        caller = Caller("operator", api_key=str(key))
    elif data_dir is not None:
        caller = _member(data_dir, key_passphrase)
    else:
        caller = Caller("anonymous")
    did = (info or {}).get("did")
    return MarketplaceApi(url, caller, follow_args(data_dir, operator, marketplace_url),
                          did=str(did) if did else None)


def _locate(data_dir: Path, roles: Collection[str], what: str) -> tuple[Path, dict[str, Any]]:
    """The folder and ``service.json`` of a service (``--connector NAME`` in an ``up`` folder)."""
    from dataspace.client import find_service
    from servicekit.errors import DataspaceError

    name = click.get_current_context().meta.get("dataspace.service-name")
    try:
        return find_service(data_dir, roles=roles, name=name, what=what,
                            announce=lambda line: click.echo(line, err=True))
    except DataspaceError as error:
        hint = " with --connector NAME" if error.code == "service-ambiguous" else ""
        fail(f"{error.code}: {error.detail}{hint}")


def _up_folder(data_dir: Path) -> Path | None:
    for folder in (data_dir, data_dir.parent):
        if (folder / _DATASPACE_FILE).exists():
            return folder
    return None


def _marketplace_info(data_dir: Path | None, operator: bool) -> dict[str, Any] | None:
    """The marketplace's ``service.json``: its own folder (operator) or the ``up`` folder's."""
    from dataspace.client import find_service
    from servicekit.errors import DataspaceError

    if data_dir is None:
        return None
    if operator and (data_dir / "service.json").exists():
        return _locate(data_dir, ("marketplace",), "marketplace")[1]
    up = _up_folder(data_dir)
    if up is None:
        return None
    try:
        return find_service(up, roles=("marketplace",), what="marketplace")[1]
    except DataspaceError:
        return None  # an `up` folder without a marketplace: the default URL


def _member(data_dir: Path, passphrase: str | None) -> Caller:
    """The connector in ``data_dir`` as a signing member."""
    from dataspace.client import CONNECTOR_ROLES
    from identity.keystore import KeyStore
    from identity.signer import Signer
    from servicekit.errors import DataspaceError

    folder, info = _locate(data_dir, CONNECTOR_ROLES, "connector")
    did = str(info.get("did") or "")
    if not did.startswith("did:"):
        fail(f"{folder}/service.json names no DID")
    keys = folder / "keys"
    if passphrase is None and (keys / _PASSPHRASE_FILE).exists():
        passphrase = (keys / _PASSPHRASE_FILE).read_text().strip()
    if not passphrase:
        fail("the connector's key is sealed: set $CONNECTOR_KEY_PASSPHRASE (or "
             "--key-passphrase) as the connector has it")
    store = KeyStore(keys, passphrase)
    try:
        if not store.exists(_KEY_NAME):
            fail(f"no connector key in {keys}: has this connector started?")
        pair = store.load(_KEY_NAME)
    except DataspaceError as error:
        fail(f"{error.code}: {error.detail} ({keys})")
    signer = (Signer.for_did_key(pair) if did.startswith("did:key:")
              else Signer.for_did(pair, did))
    if signer.did != did:
        fail(f"the key in {keys} is not that of {did}")
    return Caller("member", did=did, signer=signer, connector=info)
