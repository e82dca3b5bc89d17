"""The web consoles' shared sign-in, sessions, pages and API tokens.

Every service's pages are built on this package: personal accounts (argon2id
passwords, optional TOTP, invitation and reset links, lock-out), signing in with the
organisation's credential (OpenID4VP; the verifier itself comes from the service),
sessions in the service's database behind a cookie, CSRF on every form, security
headers, scoped API tokens, Jinja2 templates and server-side SVG charts. Import the
modules (``servicekit.console.install``, ``.web``, ``.charts``); the package itself
re-exports nothing, so a light import stays light.
"""

__all__: list[str] = []
