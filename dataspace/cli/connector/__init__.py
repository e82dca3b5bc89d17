"""``dataspace connector``: run a connector, and drive one through its management API.

``serve`` runs it. The other commands talk to a running connector's
management API (:mod:`dataspace.cli.connector.client`), found through
``<data-dir>/service.json`` (``management_url`` and ``admin_api_key``) or
given with ``--url`` and ``--api-key``. Each command lives in the module of
its concept and is imported only when it runs, as the ``dataspace`` group
does with its commands (a test checks :data:`COMMANDS` against the modules).
"""

from __future__ import annotations

from dataspace.cli import LazyGroup, cli

__all__ = ["COMMANDS", "connector"]

_HERE = "dataspace.cli.connector"

#: Each sub-command: (the module that defines it, its one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": (f"{_HERE}.serve",
              "Run the connector until Ctrl-C; writes <data-dir>/service.json when ready."),
    "dataset": (f"{_HERE}.datasets", "The datasets this connector offers."),
    "negotiate": (f"{_HERE}.pull",
                  "Negotiate a contract for a dataset; exit 1 if the provider terminates or "
                  "the wait ends."),
    "transfer": (f"{_HERE}.pull",
                 "Start an HTTP-pull transfer; prints it and its endpoint data reference."),
    "pull": (f"{_HERE}.pull",
             "Fetch data through the provider's data plane with the transfer's access token."),
    "audit": (f"{_HERE}.audit", "The data plane's tamper-evident audit log."),
    "membership": (f"{_HERE}.membership",
                   "Make this connector a member: apply at the trust anchor, collect the "
                   "credential."),
    "credentials": (f"{_HERE}.membership", "The connector's own verifiable credentials."),
    "requests": (f"{_HERE}.contracts",
                 "Contract requests waiting for your approval: who asks (verified), what, for "
                 "which use."),
    "approve": (f"{_HERE}.contracts",
                "Approve a request: the agreement is sent to the requester."),
    "reject": (f"{_HERE}.contracts",
               "Reject a request: the negotiation ends, and the requester is told why."),
    "catalog": (f"{_HERE}.contracts",
                "A provider's catalog (its DSP URL): every dataset you may request, with its "
                "offers."),
    "negotiations": (f"{_HERE}.contracts",
                     "Contract negotiations, newest first; or one (exit 1 when it ended "
                     "without agreement)."),
    "agreements": (f"{_HERE}.contracts",
                   "Agreements we hold (consumer) and granted (provider), newest first."),
    "transfers": (f"{_HERE}.contracts",
                  "Transfers, newest first (ours and the counter-party's process ids)."),
    "receipt": (f"{_HERE}.contracts",
                "The provider's signed usage receipt for one of our transfers, its signature "
                "checked."),
}


@cli.group(cls=LazyGroup, lazy=COMMANDS)
def connector() -> None:
    """A Dataspace Protocol connector: publish datasets, negotiate contracts, pull data."""
