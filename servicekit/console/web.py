"""The pages' plumbing: sessions from cookies, CSRF on every form, security headers,
rendering templates, and the ``page`` decorator that says who may open a page.

A page handler is declared with :func:`page`; the middleware installed by
:func:`~servicekit.console.install.install_console` then, for page routes only:

- loads who is signed in from the session cookie (``request[PRINCIPAL]``);
- refuses a POST whose ``csrf_token`` field is missing or wrong (403): the
  session's token once signed in, the pre-session cookie's before (sign-in forms);
- renders errors as an HTML page for a browser (problem+json for a script);
- adds ``Content-Security-Policy`` (no inline script or style), ``X-Frame-Options``,
  ``Referrer-Policy``, ``Cache-Control: no-store`` and the rest.
"""

from __future__ import annotations

import secrets as _random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web

from servicekit.console.accounts import Principal
from servicekit.console.config import ConsoleConfig
from servicekit.console.errors import CsrfRefused, RoleRequired
from servicekit.console.keys import CONSOLE, CONSOLE_CONFIG, ORGANISATION_SIGNIN, PRINCIPAL
from servicekit.console.secrets import same
from servicekit.errors import DataspaceError, InvalidRequest, NotFound, Unauthorized
from servicekit.home import prefers_html
from servicekit.openapi import operation

__all__ = [
    "PAGE_HEADERS",
    "base_url",
    "console_middleware",
    "cookie_names",
    "form",
    "may",
    "organisation_signin",
    "page",
    "principal_of",
    "redirect",
    "render",
    "set_session_cookie",
    "signed_in",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_H = TypeVar("_H", bound=Handler)
_PAGE = "__console_page__"
_NOTICE = web.RequestKey("console_notice_out", str)
_CSRF_OUT = web.RequestKey("console_csrf_out", str)
_FORM = web.RequestKey("console_form", dict)
#: A notice for the next page, when this request ends in a redirect.
_NOTICE_OUT = web.RequestKey("console_notice_next", str)

#: Headers on every page: nothing inline runs, nothing frames the page.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_names(request: web.Request) -> tuple[str, str, str]:
    """The session, pre-session CSRF and notice cookie names of this service.

    Cookies do not tell ports apart, so the names carry the service's port:
    two services on one host keep their sessions apart.
    """
    secure = _secure(request)
    tag = f"{request.url.port or ''}"
    base = "__Host-ds" if secure else "ds"
    return f"{base}_session{tag}", f"{base}_csrf{tag}", f"{base}_notice{tag}"


def _secure(request: web.Request) -> bool:
    console = request.config_dict.get(CONSOLE)
    if console is not None and console.settings.secure_cookies is not None:
        return console.settings.secure_cookies
    return request.scheme == "https" or request.headers.get("X-Forwarded-Proto") == "https"


def set_session_cookie(request: web.Request, response: web.StreamResponse, cookie: str | None
                       ) -> None:
    """Put (or, with None, remove) the session cookie on ``response``."""
    name = cookie_names(request)[0]
    if cookie is None:
        response.del_cookie(name, path="/")
        return
    console = request.config_dict[CONSOLE]
    response.set_cookie(name, cookie, path="/", httponly=True, samesite="Lax",
                        secure=_secure(request),
                        max_age=int(console.settings.session_hours * 3600))


def principal_of(request: web.Request) -> Principal | None:
    """Who is signed in to this page (None when nobody is)."""
    return request.get(PRINCIPAL)


def signed_in(request: web.Request) -> Principal:
    """Who is signed in, on a page whose ``page`` decorator admits signed-in people only."""
    principal: Principal | None = request.get(PRINCIPAL)
    if principal is None:
        raise Unauthorized("sign in first", code="sign-in-required")
    return principal


def may(request: web.Request, *roles: str) -> bool:
    """Whether somebody is signed in with one of ``roles`` (admins hold every role):
    what a page asks before it shows an action's button."""
    principal: Principal | None = request.get(PRINCIPAL)
    return principal is not None and principal.has(*roles)


def base_url(request: web.Request) -> str:
    """The address the browser reached the service at (a connector's management port)."""
    return f"{request.scheme}://{request.host}"


def organisation_signin(request: web.Request) -> Any:
    """The service's OpenID4VP verifier (404 when it offers no sign-in by credential)."""
    verifier = request.config_dict.get(ORGANISATION_SIGNIN)
    if verifier is None:
        raise NotFound("this service does not offer signing in with a credential",
                       code="organisation-signin-off")
    return verifier


def redirect(request: web.Request, path: str, *, notice: str | None = None,
             cookie: str | bool | None = False) -> web.HTTPSeeOther:
    """A 303 to ``path`` (under the prefix unless absolute), with a one-time notice.

    ``cookie``: a new session cookie to set, None to remove it, False to leave it.
    """
    config = request.config_dict[CONSOLE_CONFIG]
    target = path if path.startswith(("/", "http")) and (
        not config.prefix or path.startswith(config.prefix) or path.startswith("http")) \
        else config.url(path)
    response = web.HTTPSeeOther(target)
    for header, value in PAGE_HEADERS.items():
        response.headers[header] = value
    if notice:
        response.set_cookie(cookie_names(request)[2], quote(notice[:300]), path="/",
                            httponly=True, samesite="Lax", secure=_secure(request), max_age=60)
    if cookie is not False:
        set_session_cookie(request, response, cookie if isinstance(cookie, str) else None)
    return response


async def form(request: web.Request) -> dict[str, str]:
    """The posted form's fields (read once; the CSRF check reads it first)."""
    if _FORM in request:
        return request[_FORM]
    try:
        data = await request.post()
    except ValueError as exc:  # a broken multipart body (no boundary, bad parts)
        raise InvalidRequest(f"the form could not be read: {exc}", code="form-invalid") from exc
    fields = {key: str(value) for key, value in data.items() if isinstance(value, str)}
    for key in data:
        values = data.getall(key)
        if len(values) > 1:
            fields[key] = ",".join(str(v) for v in values if isinstance(v, str))
    request[_FORM] = fields
    return fields


async def render(request: web.Request, template: str, context: Mapping[str, Any] | None = None,
                 *, status: int = 200) -> web.Response:
    """Render ``template`` with the console's context: who is signed in, the CSRF token,
    the menu, the notice."""
    config: ConsoleConfig = request.config_dict[CONSOLE_CONFIG]
    principal = principal_of(request)
    values: dict[str, Any] = {
        "config": config,
        "principal": principal,
        "csrf": principal.csrf if principal is not None else request.get(_CSRF_OUT)
        or request.cookies.get(cookie_names(request)[1], ""),
        "nav": [item for item in config.nav
                if principal is not None and principal.stage == "full"
                and (not item.roles or principal.has(*item.roles))],
        "url": config.url,
        "path": request.path,
        "notice": request.get(_NOTICE, ""),
        **config.globals,
    }
    if config.context is not None:
        values.update(await config.context(request))
    values.update(context or {})
    response = aiohttp_jinja2.render_template(template, request, values, status=status)
    return response


def page(method: str, path: str, summary: str, *, roles: tuple[str, ...] | None = (),
         stages: tuple[str, ...] = ("full",)) -> Callable[[_H], _H]:
    """Declare a page handler: who may open it, and its OpenAPI line.

    ``roles``: () anyone signed in; a tuple, one of these roles (admins pass);
    None, anyone (signed in or not). ``stages``: the session stages admitted.
    """

    def decorate(handler: _H) -> _H:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if roles is not None:
                principal = principal_of(request)
                config = request.config_dict[CONSOLE_CONFIG]
                if principal is None:
                    raise redirect(request, f"/signin?next={quote(request.path_qs)}")
                if principal.stage not in stages:
                    step = {"totp": "/signin/totp", "password": "/account/password"}
                    raise redirect(request, step.get(principal.stage, "/signin"))
                if roles and not principal.has(*roles):
                    labels = [getattr(config.role(r), "label", r) for r in roles]
                    raise RoleRequired("this page needs one of the roles: " + ", ".join(labels))
            return await handler(request)

        wrapped.__name__ = handler.__name__
        wrapped.__doc__ = handler.__doc__
        setattr(wrapped, _PAGE, (method, path))
        documented = operation(
            summary, tags=["console"], response_content_type="text/html",
            request={"type": "object", "properties": {"csrf_token": {"type": "string"}}}
            if method == "POST" else None,
            request_content_type="application/x-www-form-urlencoded",
            responses={200: "The page (HTML)", 303: "Where to go next",
                       403: "The form's CSRF token is missing or wrong"})(wrapped)
        return documented  # type: ignore[return-value]

    return decorate


def is_page(request: web.Request) -> bool:
    """Whether the matched route is a console page."""
    return hasattr(request.match_info.handler, _PAGE)


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sessions, CSRF, HTML errors and security headers for page routes."""
    if not is_page(request):
        return await handler(request)
    console = request.config_dict.get(CONSOLE)
    session_name, csrf_name, notice_name = cookie_names(request)
    principal = await console.principal(request.cookies.get(session_name)) \
        if console is not None else None
    if principal is not None and principal.kind == "organisation" and console is not None \
            and not await console.organisation_still_valid(
                principal, request.config_dict.get(ORGANISATION_SIGNIN)):
        principal = None
        request[_NOTICE] = request[_NOTICE_OUT] = (
            "Your organisation's credential is no longer valid (revoked, suspended or "
            "expired), so you were signed out.")
    request[PRINCIPAL] = principal
    if notice_name in request.cookies:
        from urllib.parse import unquote
        request[_NOTICE] = unquote(request.cookies[notice_name])
    if principal is None and not request.cookies.get(csrf_name):
        request[_CSRF_OUT] = _random.token_urlsafe(32)
    try:
        if request.method not in _SAFE:
            await _check_csrf(request, principal, csrf_name)
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and prefers_html(request.headers.get("Accept")):
            response = await _error_page(request, DataspaceError(exc.reason, code="http-error"),
                                         exc.status)
        elif exc.status >= 400:
            raise
        else:
            response = exc
    except DataspaceError as error:
        if not prefers_html(request.headers.get("Accept")):
            raise  # a script gets problem+json, like everywhere else
        response = await _error_page(request, error, error.status)
    for header, value in PAGE_HEADERS.items():
        response.headers.setdefault(header, value)
    if _CSRF_OUT in request:
        response.set_cookie(csrf_name, request[_CSRF_OUT], path="/", httponly=True,
                            samesite="Strict", secure=_secure(request))
    if _NOTICE_OUT in request and isinstance(response, web.HTTPRedirection):
        response.set_cookie(notice_name, quote(request[_NOTICE_OUT]), path="/", httponly=True,
                            samesite="Lax", secure=_secure(request), max_age=60)
    elif _NOTICE in request:
        response.del_cookie(notice_name, path="/")
    if isinstance(response, web.HTTPException):
        raise response
    return response


async def _check_csrf(request: web.Request, principal: Principal | None, csrf_name: str) -> None:
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise CsrfRefused("pages accept forms only")
    fields = await form(request)
    sent = fields.get("csrf_token", "")
    expected = principal.csrf if principal is not None else request.cookies.get(csrf_name, "")
    if not sent or not expected or not same(sent, expected):
        raise CsrfRefused("the form was refused: it is missing its security token or it "
                          "expired; reload the page and try again")
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise CsrfRefused("the form was sent from another site")


async def _error_page(request: web.Request, error: DataspaceError, status: int
                      ) -> web.StreamResponse:
    try:
        return await render(request, "console/error.html", {"error": error}, status=status)
    except Exception:  # the error page must not fail on a broken context
        return web.Response(text=f"{error.title}: {error.detail}", status=status,
                            content_type="text/plain")
