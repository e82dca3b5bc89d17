"""The pages every service's console shares: sign-in (password, second factor, one-time
link, the organisation's credential), sign-out, the person's account and API tokens, and
the people of the organisation.

Paths are under the console's prefix (``/operator/signin`` on the trust anchor,
``/signin`` on a connector's management port).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from servicekit.console.accounts import Console, qr_svg
from servicekit.console.config import SCOPES, ConsoleConfig
from servicekit.console.keys import CONSOLE, CONSOLE_CONFIG, ORGANISATION_SIGNIN
from servicekit.console.secrets import token_hash
from servicekit.console.web import (
    base_url,
    cookie_names,
    form,
    organisation_signin,
    page,
    redirect,
    render,
    signed_in,
)
from servicekit.errors import DataspaceError, InvalidRequest, NotFound

__all__ = ["page_routes"]


def _console(request: web.Request) -> Console:
    return request.config_dict[CONSOLE]




def _next(request: web.Request, fields: dict[str, str]) -> str:
    """Where to go after signing in: a local path only (no open redirect)."""
    config = request.config_dict[CONSOLE_CONFIG]
    wanted = fields.get("next") or request.query.get("next") or ""
    parts = urlsplit(wanted)
    if wanted.startswith("/") and not wanted.startswith("//") and not parts.netloc \
            and (not config.prefix or wanted.startswith(config.prefix)):
        return wanted
    return config.url(config.home)


def page_routes(config: ConsoleConfig) -> web.RouteTableDef:
    """The shared pages, under ``config.prefix``."""
    routes = web.RouteTableDef()
    p = config.prefix

    # --- signing in -----------------------------------------------------------------------

    @routes.get(f"{p}/signin")
    @page("GET", "/signin", "Sign in", roles=None)
    async def signin_form(request: web.Request) -> web.StreamResponse:
        """Sign in with email and password, or with the organisation's credential."""
        return await render(request, "console/signin.html", {
            "next": request.query.get("next", ""),
            "organisation": ORGANISATION_SIGNIN in request.config_dict})

    @routes.post(f"{p}/signin")
    @page("POST", "/signin", "Sign in with email and password", roles=None)
    async def signin(request: web.Request) -> web.StreamResponse:
        """A fresh session on the right password; the second factor next if it is on."""
        fields = await form(request)
        console = _console(request)
        try:
            account = await console.password_signin(fields.get("email", ""),
                                                    fields.get("password", ""))
        except DataspaceError as error:
            return await render(request, "console/signin.html", {
                "error": error.detail, "email": fields.get("email", ""),
                "next": fields.get("next", ""),
                "organisation": ORGANISATION_SIGNIN in request.config_dict}, status=401)
        stage = "totp" if account.totp_enabled else "full"
        cookie, _ = await console.session_for_account(account, stage=stage)
        if stage == "totp":
            return redirect(request, f"/signin/totp?next={quote(_next(request, fields))}",
                            cookie=cookie)
        return redirect(request, _next(request, fields), cookie=cookie)

    @routes.get(f"{p}/signin/totp")
    @page("GET", "/signin/totp", "Sign in: the one-time code", stages=("totp",))
    async def totp_form(request: web.Request) -> web.StreamResponse:
        """Ask for the code of the authenticator app."""
        return await render(request, "console/totp.html",
                            {"next": request.query.get("next", "")})

    @routes.post(f"{p}/signin/totp")
    @page("POST", "/signin/totp", "Sign in: check the one-time code", stages=("totp",))
    async def totp(request: web.Request) -> web.StreamResponse:
        """A full session (a new cookie) once the code is right."""
        fields = await form(request)
        console, me = _console(request), signed_in(request)
        assert me.account_id is not None
        try:
            await console.check_code(me.account_id, fields.get("code", ""))
        except DataspaceError as error:
            return await render(request, "console/totp.html",
                                {"error": error.detail, "next": fields.get("next", "")},
                                status=401)
        cookie, _ = await console.promote(me)
        return redirect(request, _next(request, fields), cookie=cookie)

    @routes.get(f"{p}/link/{{token}}")
    @page("GET", "/link/{token}", "A one-time link (sign-in, invitation, reset)", roles=None)
    async def link_form(request: web.Request) -> web.StreamResponse:
        """Say what the link does; nothing happens until the button is pressed (mail
        scanners open links too)."""
        purpose, account = await _console(request).peek_link(request.match_info["token"])
        return await render(request, "console/link.html",
                            {"purpose": purpose, "account": account,
                             "token": request.match_info["token"]})

    @routes.post(f"{p}/link/{{token}}")
    @page("POST", "/link/{token}", "Use a one-time link", roles=None)
    async def link(request: web.Request) -> web.StreamResponse:
        """Use the link once; choose a password if the account has none or it is a reset."""
        console = _console(request)
        purpose, account = await console.use_link(request.match_info["token"])
        needs_password = purpose in ("invite", "reset") or account.password_hash is None
        stage = "password" if needs_password else ("totp" if account.totp_enabled else "full")
        cookie, _ = await console.session_for_account(account, stage=stage)
        if stage == "password":
            return redirect(request, "/account/password", cookie=cookie)
        if stage == "totp":
            return redirect(request, "/signin/totp", cookie=cookie)
        return redirect(request, config.home, cookie=cookie, notice="Signed in.")

    @routes.get(f"{p}/reset")
    @page("GET", "/reset", "Forgot the password", roles=None)
    async def reset_form(request: web.Request) -> web.StreamResponse:
        """Ask for a reset link by mail."""
        return await render(request, "console/reset.html")

    @routes.post(f"{p}/reset")
    @page("POST", "/reset", "Mail a password-reset link", roles=None)
    async def reset(request: web.Request) -> web.StreamResponse:
        """Same answer whether or not the email has an account."""
        fields = await form(request)
        await _console(request).request_reset(fields.get("email", ""), base_url(request))
        return await render(request, "console/reset.html", {"sent": True})

    @routes.post(f"{p}/signout")
    @page("POST", "/signout", "Sign out", stages=("full", "totp", "password"))
    async def signout(request: web.Request) -> web.StreamResponse:
        """End this session."""
        await _console(request).sign_out(signed_in(request))
        return redirect(request, "/signin", cookie=None, notice="Signed out.")

    @routes.post(f"{p}/signout/everywhere")
    @page("POST", "/signout/everywhere", "Sign out everywhere")
    async def signout_everywhere(request: web.Request) -> web.StreamResponse:
        """End every session of this person (or organisation), on every device."""
        ended = await _console(request).sign_out_everywhere(signed_in(request))
        return redirect(request, "/signin", cookie=None,
                        notice=f"Signed out everywhere ({ended} sessions ended).")

    # --- the organisation's credential (OpenID4VP) ------------------------------------------

    @routes.post(f"{p}/signin/organisation")
    @page("POST", "/signin/organisation", "Sign in with the organisation's credential",
          roles=None)
    async def organisation_start(request: web.Request) -> web.StreamResponse:
        """Create a request for the MembershipCredential, bound to this browser."""
        verifier = organisation_signin(request)
        base = base_url(request)
        started = await verifier.start(request_uri_base=f"{base}{p}/oid4vp/request",
                                       response_uri=f"{base}{p}/oid4vp/response")
        response = redirect(request, f"/signin/organisation/{started.state}")
        browser = request.cookies.get(cookie_names(request)[1]) or ""
        await _console(request).store.bind_signin_request(started.state, token_hash(browser))
        return response

    @routes.get(f"{p}/signin/organisation/{{state}}")
    @page("GET", "/signin/organisation/{state}",
          "Sign in with the organisation's credential: the request", roles=None)
    async def organisation_wait(request: web.Request) -> web.StreamResponse:
        """The request as a link and a QR code, and how to answer it from the connector."""
        return await _organisation_page(request)

    @routes.post(f"{p}/signin/organisation/{{state}}")
    @page("POST", "/signin/organisation/{state}",
          "Sign in with the organisation's credential: continue", roles=None)
    async def organisation_finish(request: web.Request) -> web.StreamResponse:
        """A session for the organisation once its connector answered (in this browser)."""
        state = request.match_info["state"]
        console = _console(request)
        pending = await console.store.signin_request(state)
        browser = request.cookies.get(cookie_names(request)[1]) or ""
        if pending is None or pending.browser_hash != token_hash(browser):
            raise NotFound("no such sign-in request in this browser", code="request-unknown")
        if pending.status == "pending":
            return await _organisation_page(request, waiting=True)
        if pending.status != "done" or not pending.result or \
                not await console.store.claim_signin_request(state, console.now()):
            error = (pending.result or {}).get("error", "request-used")
            return await _organisation_page(request, failed=str(error))
        org = pending.result
        roles = config.organisation_roles(org, request)
        if not roles:
            return await _organisation_page(
                request, failed="organisation-not-allowed: your organisation's credential is "
                "valid, but this console does not admit it")
        cookie, _ = await console.open_session(
            kind="organisation", subject=org["did"], name=org.get("legal_name") or org["did"],
            roles=roles, organisation=org)
        return redirect(request, config.home, cookie=cookie,
                        notice=f"Signed in as {org.get('legal_name') or org['did']}.")

    @routes.get(f"{p}/signin/organisation/{{state}}/status")
    @page("GET", "/signin/organisation/{state}/status",
          "Sign in with the organisation's credential: has the connector answered?", roles=None)
    async def organisation_status(request: web.Request) -> web.StreamResponse:
        """``{"status": "pending" | "done" | "failed" | "claimed"}`` for this browser's request."""
        pending = await _console(request).store.signin_request(request.match_info["state"])
        browser = request.cookies.get(cookie_names(request)[1]) or ""
        if pending is None or pending.browser_hash != token_hash(browser):
            raise NotFound("no such sign-in request in this browser", code="request-unknown")
        return web.json_response({"status": pending.status})

    async def _organisation_page(request: web.Request, *, waiting: bool = False,
                                 failed: str | None = None) -> web.StreamResponse:
        state = request.match_info["state"]
        pending = await _console(request).store.signin_request(state)
        if pending is None or pending.expires_at < _console(request).now():
            raise NotFound("this sign-in request expired; start again", code="request-unknown")
        url = organisation_signin(request).authorization_url(
            state, request_uri_base=f"{base_url(request)}{p}/oid4vp/request")
        return await render(request, "console/organisation.html", {
            "state": state, "authorization_url": url, "qr": qr_svg(url),
            "waiting": waiting, "failed": failed, "status": pending.status})

    # --- the person's own account --------------------------------------------------------

    @routes.get(f"{p}/account")
    @page("GET", "/account", "My account")
    async def account(request: web.Request) -> web.StreamResponse:
        """Name, roles, second factor, sessions and API tokens."""
        return await _account_page(request)

    async def _account_page(request: web.Request, **extra: Any) -> web.StreamResponse:
        me = signed_in(request)
        console = _console(request)
        context: dict[str, Any] = {"scopes": SCOPES, **extra}
        if me.account_id is not None:
            context["account"] = await console.account(me.account_id)
            context["tokens"] = await console.store.tokens(me.account_id)
            context["sessions"] = await console.store.sessions_of(me.account_id)
            context["allowed_scopes"] = sorted(console.config.scopes_for(
                context["account"].roles))
        return await render(request, "console/account.html", context)

    @routes.get(f"{p}/account/password")
    @page("GET", "/account/password", "Choose a password", stages=("full", "password"))
    async def password_form(request: web.Request) -> web.StreamResponse:
        """Choose (or change) the password."""
        return await render(request, "console/password.html")

    @routes.post(f"{p}/account/password")
    @page("POST", "/account/password", "Set the password", stages=("full", "password"))
    async def password(request: web.Request) -> web.StreamResponse:
        """Set the password; other sessions of the person end."""
        fields = await form(request)
        me, console = signed_in(request), _console(request)
        assert me.account_id is not None
        if fields.get("password", "") != fields.get("confirm", ""):
            return await render(request, "console/password.html",
                                {"error": "the two passwords differ"}, status=400)
        try:
            await console.set_password(me.account_id, fields.get("password", ""))
        except InvalidRequest as error:
            return await render(request, "console/password.html", {"error": error.detail},
                                status=400)
        await console.sign_out_everywhere(me)
        account_ = await console.account(me.account_id)
        stage = "totp" if account_.totp_enabled and me.stage == "password" else "full"
        cookie, _ = await console.session_for_account(account_, stage=stage)
        if stage == "totp":
            return redirect(request, "/signin/totp", cookie=cookie)
        return redirect(request, config.home, cookie=cookie, notice="Password saved.")

    @routes.post(f"{p}/account/totp")
    @page("POST", "/account/totp", "Set up the second factor")
    async def totp_setup(request: web.Request) -> web.StreamResponse:
        """Show a new secret and its QR code; a code confirms it."""
        me = signed_in(request)
        assert me.account_id is not None
        secret, uri, qr = await _console(request).totp_setup(me.account_id)
        return await _account_page(request, totp_secret=secret, totp_uri=uri, totp_qr=qr)

    @routes.post(f"{p}/account/totp/confirm")
    @page("POST", "/account/totp/confirm", "Turn the second factor on")
    async def totp_confirm(request: web.Request) -> web.StreamResponse:
        """Turn it on once a code from the authenticator app is right."""
        me = signed_in(request)
        assert me.account_id is not None
        fields = await form(request)
        try:
            await _console(request).totp_confirm(me.account_id, fields.get("code", ""))
        except DataspaceError as error:
            return await _account_page(request, totp_error=error.detail)
        return redirect(request, "/account", notice="Second factor on.")

    @routes.post(f"{p}/account/totp/off")
    @page("POST", "/account/totp/off", "Turn the second factor off")
    async def totp_off(request: web.Request) -> web.StreamResponse:
        """Turn the second factor off (the password is asked again)."""
        me = signed_in(request)
        assert me.account_id is not None
        fields = await form(request)
        console = _console(request)
        account_ = await console.account(me.account_id)
        try:
            await console.password_signin(account_.email, fields.get("password", ""))
        except DataspaceError as error:
            return await _account_page(request, totp_error=error.detail)
        await console.totp_disable(me.account_id)
        return redirect(request, "/account", notice="Second factor off.")

    @routes.post(f"{p}/account/tokens")
    @page("POST", "/account/tokens", "Create an API token")
    async def token_create(request: web.Request) -> web.StreamResponse:
        """Create a token; it is shown once."""
        me = signed_in(request)
        assert me.account_id is not None
        fields = await form(request)
        days = fields.get("days", "").strip()
        try:
            token, stored = await _console(request).create_token(
                me.account_id, fields.get("name", ""),
                [s for s in fields.get("scopes", "").split(",") if s],
                float(days) if days else None)
        except (DataspaceError, ValueError) as error:
            detail = error.detail if isinstance(error, DataspaceError) else "days is a number"
            return await _account_page(request, token_error=detail)
        return await _account_page(request, new_token=token, new_token_name=stored.name)

    @routes.post(f"{p}/account/tokens/{{token_id}}/revoke")
    @page("POST", "/account/tokens/{token_id}/revoke", "Revoke an API token")
    async def token_revoke(request: web.Request) -> web.StreamResponse:
        """Revoke one of the person's tokens."""
        me = signed_in(request)
        await _console(request).revoke_token(request.match_info["token_id"],
                                             account_id=me.account_id)
        return redirect(request, "/account", notice="Token revoked.")

    # --- the organisation's people (admins) ------------------------------------------------

    @routes.get(f"{p}/people")
    @page("GET", "/people", "People and roles", roles=("admin",))
    async def people(request: web.Request) -> web.StreamResponse:
        """Everyone with an account, their roles, and the invitation form."""
        return await _people_page(request)

    async def _people_page(request: web.Request, **extra: Any) -> web.StreamResponse:
        console = _console(request)
        return await render(request, "console/people.html",
                            {"accounts": await console.store.accounts(),
                             "roles": console.config.people_roles(), **extra})

    @routes.post(f"{p}/people")
    @page("POST", "/people", "Invite a person", roles=("admin",))
    async def invite(request: web.Request) -> web.StreamResponse:
        """Create the account and mail an invitation link (shown once here too)."""
        fields = await form(request)
        try:
            account_, link_ = await _console(request).invite(
                fields.get("email", ""), fields.get("name", ""),
                [r for r in fields.get("roles", "").split(",") if r], base_url(request))
        except DataspaceError as error:
            return await _people_page(request, error=error.detail, form=fields)
        return await _people_page(request, invited=account_, link=link_)

    @routes.post(f"{p}/people/{{account_id}}")
    @page("POST", "/people/{account_id}", "Change a person's roles or access", roles=("admin",))
    async def person(request: web.Request) -> web.StreamResponse:
        """Set roles, disable or enable the account, or make a new sign-in link."""
        fields = await form(request)
        console = _console(request)
        account_id = request.match_info["account_id"]
        action = fields.get("action", "roles")
        if action == "roles":
            await console.set_roles(account_id, [r for r in fields.get("roles", "").split(",")
                                                 if r])
            return redirect(request, "/people", notice="Roles saved.")
        if action in ("disable", "enable"):
            if account_id == signed_in(request).account_id:
                raise InvalidRequest("you cannot disable your own account",
                                     code="account-self")
            await console.set_status(account_id, enabled=action == "enable")
            return redirect(request, "/people", notice=f"Account {action}d.")
        if action == "link":
            link_ = await console.new_link(account_id, "signin", base_url(request))
            return await _people_page(request, link=link_,
                                      invited=await console.account(account_id))
        raise InvalidRequest("action is roles, disable, enable or link", code="action-unknown")

    return routes
