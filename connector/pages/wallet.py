"""The wallet page of the connector console: "Sign in elsewhere".

Another service's sign-in page shows an ``openid4vp://`` request. A person of
the organisation pastes it here (or arrives with ``?request=<the URL>``); the
page shows WHO asks (the verifier's DID and, when the registry lists it, its
legal name), WHAT it asks for and which of our credentials would answer, and
asks to confirm. Confirming answers through
:class:`~connector.services.wallet.WalletService` (as
``POST /api/v1/wallet/presentations``) and sends the person on to the verifier
(its ``redirect_uri``) with a link: the console's CSP (``form-action 'self'``)
would stop a form's redirect to another site.

Only administrators and data owners confirm: signing the organisation in
elsewhere speaks for it, like approving a request for its data.
"""

from __future__ import annotations

from aiohttp import web

from connector.pages.consumer_common import routes
from connector.services.wallet import WALLET
from servicekit.console.web import form, may, page, principal_of, render
from servicekit.errors import DataspaceError

__all__ = ["SIGNERS"]

#: Who may sign the organisation in elsewhere.
SIGNERS = ("data_owner",)


def _may_sign(request: web.Request) -> bool:
    return may(request, *SIGNERS)


@routes.get("/wallet")
@page("GET", "/wallet", "Sign in elsewhere with the organisation's credential")
async def wallet(request: web.Request) -> web.StreamResponse:
    """Paste a sign-in request (``?request=``): who asks and for what, then confirm."""
    url = request.query.get("request", "").strip()
    if not url:
        return await render(request, "consumer/wallet.html", {
            "request_url": "", "asked": None, "error": None, "may_sign": _may_sign(request)})
    try:
        asked = await request.config_dict[WALLET].read(url)
    except DataspaceError as exc:
        return await render(request, "consumer/wallet.html", {
            "request_url": url, "asked": None, "may_sign": _may_sign(request),
            "error": f"This sign-in request cannot be answered: {exc.detail} ({exc.code})."},
            status=400 if exc.status < 500 else 502)
    return await render(request, "consumer/wallet.html", {
        "request_url": url, "asked": asked, "error": None, "may_sign": _may_sign(request)})


@routes.post("/wallet")
@page("POST", "/wallet", "Confirm: sign the organisation in elsewhere", roles=SIGNERS)
async def confirm(request: web.Request) -> web.StreamResponse:
    """Present our credential to the verifier; then on to its page."""
    fields = await form(request)
    url = fields.get("request", "").strip()
    principal = principal_of(request)
    actor = principal.subject if principal is not None else "console"
    try:
        presented = await request.config_dict[WALLET].present(url, actor=actor)
    except DataspaceError as exc:
        return await render(request, "consumer/wallet.html", {
            "request_url": url, "asked": None, "may_sign": True,
            "error": f"The sign-in was not completed: {exc.detail} ({exc.code})."},
            status=400 if exc.status < 500 else 502)
    return await render(request, "consumer/wallet_done.html", {"presented": presented})
