"""The people of the local data space's consoles: one admin per organisation, and Halden's
data owner (the municipal workflow has datasets answered for by their owner).

After the services start, :func:`seed_consoles` makes each account if it is missing, and
a fresh one-time sign-in link for it either way (so a second ``dataspace up`` on the same
data directory prints working links again without making anyone twice). The links are
returned to be printed, never stored: they are secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataspace.consoles import ConsoleAdmin, ConsoleUnavailable, console_site
from servicekit.errors import DataspaceError

if TYPE_CHECKING:
    from dataspace.local.supervisor import ServiceSpec

__all__ = ["PEOPLE", "ConsolePerson", "SignIn", "seed_consoles"]


@dataclass(frozen=True)
class ConsolePerson:
    """Someone who signs in to a service's console."""

    email: str
    name: str
    roles: tuple[str, ...]


#: Per service (by name in the local data space): who gets an account.
PEOPLE: dict[str, tuple[ConsolePerson, ...]] = {
    "trust-anchor": (ConsolePerson("operator@trust-anchor.local", "Operatør",
                                   ("admin",)),),
    "marketplace": (ConsolePerson("admin@marketplace.local", "Markedsplassens drift",
                                  ("admin",)),),
    "halden": (ConsolePerson("admin@halden.kommune.no", "Halden kommune, administrator",
                             ("admin", "data_owner")),
               ConsolePerson("dataeier@halden.kommune.no", "Halden kommune, dataeier",
                             ("data_owner",))),
    "example-analytics": (ConsolePerson("admin@example-analytics.no",
                                        "Example Analytics, administrator", ("admin",)),),
}


@dataclass(frozen=True)
class SignIn:
    """A person's way into a console: the one-time link, or why there is none."""

    service: str
    console_url: str
    email: str
    roles: tuple[str, ...]
    link: str | None
    #: Why there is no link (the console is not there yet), or "" when there is one.
    problem: str = ""


async def seed_consoles(specs: Sequence[ServiceSpec], *, grace: float = 30.0,
                        log: Callable[[str], None] | None = None,
                        people_of: Mapping[str, tuple[ConsolePerson, ...]] = PEOPLE,
                        ) -> list[SignIn]:
    """Make every account of ``people_of`` (by service name) that is missing in the
    services ``specs``; a fresh sign-in link for each.

    A service without the console's accounts API yet gives a :class:`SignIn` without a
    link that says so; other refusals raise ``console-seed-failed``.
    """
    found: list[SignIn] = []
    for spec in specs:
        people = people_of.get(spec.name, ())
        info = spec.service_json()
        site = console_site(info) if info is not None else None
        if site is None or not people:
            continue
        async with ConsoleAdmin(site, grace=grace) as admin:
            for person in people:
                try:
                    made = await admin.link(person.email, person.name, person.roles)
                except ConsoleUnavailable as error:
                    if log is not None:
                        log(f"  {error.detail}")
                    found += [SignIn(spec.name, site.console_url, p.email, p.roles, None,
                                     error.detail) for p in people]
                    break
                except DataspaceError as error:
                    raise DataspaceError(f"{spec.name}: could not make the console account "
                                         f"{person.email}: {error.detail}",
                                         code="console-seed-failed") from None
                if made.created and log is not None:
                    log(f"  {spec.name}: made the console account {person.email} "
                        f"({', '.join(person.roles)})")
                found.append(SignIn(spec.name, site.console_url, person.email,
                                    tuple(made.account.get("roles", person.roles)),
                                    made.signin_link))
    return found
