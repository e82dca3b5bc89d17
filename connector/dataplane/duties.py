"""The duties of a permitted request: what the permission obliges the data plane to do.

* ``compensate`` / ``dst:meter``: the use is billable (metered into the
  usage reports of a pay-per-use agreement);
* ``attribute``: the response names the attributed party (``Attribution``
  header; the policy's assigner when the duty names nobody);
* ``dst:notify`` / ``inform``: one usage notice per use to the HTTP(S)
  endpoint the duty names (``dst:endpoint``, else the informed party),
  buffered by the :class:`~connector.dataplane.notices.Notifier`. A ``HEAD``
  is not a use, so it notifies nobody.

Other duties are named in the audit record and left to the parties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.dataplane.flows import Flow
from connector.dataplane.notices import Notifier
from policies import DutyDirective

__all__ = ["Duties", "perform_duties"]


@dataclass(slots=True)
class Duties:
    """What the duties of one permitted request asked for."""

    actions: list[str] = field(default_factory=list)
    billable: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def perform_duties(duties: Sequence[DutyDirective], flow: Flow, *, assigner: Any,
                   use: bool, notifier: Notifier) -> Duties:  # fmt: skip
    """Perform (or note) each duty of a permitted request to ``flow``."""
    done = Duties()
    for duty in duties:
        action = duty.action
        done.actions.append(action)
        if action in ("compensate", "dst:meter"):
            done.billable = True
        elif action == "attribute":
            party = duty.parties.get("attributedParty") or assigner
            if party:
                done.headers["Attribution"] = str(getattr(party, "uid", party))
        elif action in ("dst:notify", "inform") and use:
            endpoint = duty.parameters.get("dst:endpoint") or duty.parties.get(
                "informedParty", "")
            if endpoint.startswith(("https://", "http://")):
                notifier.add(flow.agreement_id, flow.transfer_id, flow.consumer_id, endpoint)
    return done
