"""TCK mode: what the Eclipse DSP TCK expects of a connector under test.

Off by default (``CONNECTOR_TCK__ENABLED=true`` turns it on). It

* seeds the dataset, offer and agreement ids of the TCK's sample
  configuration (``CAT0101``, ``ACN0101`` with offer ``CD123:ACN0101:456``,
  agreements ``ATP0101``, ``ATPC0101``...), idempotently at start-up;
* scripts our side of each scenario by those ids (for dataset ``ACN0205`` the
  provider offers, pauses and terminates; for agreement ``ATPC0203`` the
  consumer suspends then terminates...), overriding the default decisions;
* serves the two trigger endpoints the TCK posts to when it plays the
  provider: ``POST /dsp/tck/negotiations`` and ``POST /dsp/tck/transfers``
  (see :mod:`connector.routes.dsp.tck`);
* accepts the TCK's fixed ``Authorization`` value as its participant.
"""

from __future__ import annotations

import time
from typing import Any

from connector.core import ControlPlane
from connector.domain.catalog import AccessLevel, Approval, Backend, Dataset, Offer, PolicyRecord
from connector.domain.negotiation import Negotiation, NegotiationAction, Role
from connector.domain.transfer import Transfer, TransferAction
from connector.services.steps import Step
from connector.store import catalog as catalog_store
from connector.store.agreements import Agreement, get_agreement, insert_agreement

__all__ = [
    "CATALOG_DATASETS",
    "NEGOTIATION_SCRIPTS",
    "TRANSFER_SCRIPTS",
    "TckScript",
    "offer_id_for",
    "seed",
]

_N = NegotiationAction
_T = TransferAction
_PAUSE = 0.1


def _s(action: str, delay: float = 0.0) -> Step:
    return Step(action, delay)


#: Scenario behaviour by dataset id, then by event (a missing event: do nothing).
NEGOTIATION_SCRIPTS: dict[str, dict[str, list[Step]]] = {
    # CN: we are the provider
    "ACN0101": {"requested": [_s(_N.OFFER)]},
    "ACN0102": {"requested": [_s(_N.OFFER)], "counter-requested": [_s(_N.TERMINATE)]},
    "ACN0103": {"requested": [_s(_N.OFFER)], "accepted": [_s(_N.AGREE)],
                "verified": [_s(_N.FINALIZE)]},
    "ACN0104": {"requested": [_s(_N.AGREE)], "verified": [_s(_N.FINALIZE)]},
    "ACN0201": {"requested": [_s(_N.TERMINATE)]},
    "ACN0202": {},
    "ACN0203": {"requested": [_s(_N.AGREE)]},
    "ACN0204": {"requested": [_s(_N.OFFER)]},
    "ACN0205": {"requested": [_s(_N.OFFER), _s(_N.TERMINATE, _PAUSE)]},
    "ACN0206": {"requested": [_s(_N.OFFER)], "accepted": [_s(_N.TERMINATE)]},
    "ACN0207": {"requested": [_s(_N.AGREE)], "verified": [_s(_N.TERMINATE)]},
    "ACN0301": {"requested": [_s(_N.AGREE)], "verified": [_s(_N.FINALIZE)]},
    "ACN0302": {"requested": [_s(_N.OFFER)]},
    "ACN0303": {"requested": [_s(_N.OFFER)]},
    "ACN0304": {"requested": [_s(_N.OFFER)]},
    # CN_C: we are the consumer
    "ACNC0101": {"offered": [_s(_N.ACCEPT)], "agreed": [_s(_N.VERIFY)]},
    "ACNC0102": {"offered": [_s(_N.REQUEST)]},
    "ACNC0103": {"offered": [_s(_N.TERMINATE)]},
    "ACNC0104": {"agreed": [_s(_N.VERIFY)]},
    "ACNC0201": {},
    "ACNC0202": {"initiated": [_s(_N.TERMINATE, _PAUSE)]},
    "ACNC0203": {"agreed": [_s(_N.TERMINATE)]},
    "ACNC0204": {},
    "ACNC0205": {"offered": [_s(_N.ACCEPT)]},
    "ACNC0206": {"agreed": [_s(_N.VERIFY)]},
    "ACNC0301": {},
    "ACNC0302": {},
    "ACNC0303": {},
    "ACNC0304": {"offered": [_s(_N.ACCEPT)]},
    "ACNC0305": {"offered": [_s(_N.ACCEPT)]},
    "ACNC0306": {"offered": [_s(_N.ACCEPT)]},
}

#: Scenario behaviour by agreement id, then by event.
TRANSFER_SCRIPTS: dict[str, dict[str, list[Step]]] = {
    # TP: we are the provider
    "ATP0101": {"requested": [_s(_T.START), _s(_T.TERMINATE, _PAUSE)]},
    "ATP0201": {"requested": [_s(_T.START)]},
    "ATP0202": {"requested": [_s(_T.START), _s(_T.COMPLETE, _PAUSE)]},
    "ATP0203": {"requested": [_s(_T.START), _s(_T.SUSPEND, _PAUSE), _s(_T.TERMINATE, _PAUSE)]},
    "ATP0204": {"requested": [_s(_T.START), _s(_T.SUSPEND, _PAUSE), _s(_T.START, _PAUSE),
                              _s(_T.COMPLETE, _PAUSE)]},
    "ATP0205": {"requested": [_s(_T.TERMINATE)]},
    "ATP0301": {},
    "ATP0302": {},
    "ATP0303": {"requested": [_s(_T.START)]},
    "ATP0304": {"requested": [_s(_T.START)]},
    "ATP0305": {"requested": [_s(_T.START)]},
    "ATP0306": {"requested": [_s(_T.START)]},
    # TP_C: we are the consumer
    # The TCK's sample configuration gives TP_C:01-05 ATPC0104 (a slip): seeded both ways.
    "ATPC0101": {}, "ATPC0102": {}, "ATPC0103": {}, "ATPC0104": {}, "ATPC0105": {},
    "ATPC0201": {"started": [_s(_T.TERMINATE)]},
    "ATPC0202": {"started": [_s(_T.COMPLETE)]},
    "ATPC0203": {"started": [_s(_T.SUSPEND), _s(_T.TERMINATE, _PAUSE)]},
    "ATPC0204": {"started": [_s(_T.SUSPEND), _s(_T.START, _PAUSE), _s(_T.COMPLETE, _PAUSE)]},
    "ATPC0205": {"initiated": [_s(_T.TERMINATE, _PAUSE)]},
    "ATPC0301": {}, "ATPC0302": {}, "ATPC0303": {}, "ATPC0304": {}, "ATPC0305": {},
    "ATPC0306": {},
}

#: Datasets the catalog scenarios look for (CAT0103 must stay unknown).
CATALOG_DATASETS = ("CAT0101", "CAT0102")
#: The dataset the seeded transfer agreements are about.
TRANSFER_DATASET = "TCK-TRANSFER-DATASET"


def offer_id_for(dataset_id: str) -> str:
    """The offer id the TCK's sample configuration pairs with a dataset."""
    return f"CD123:{dataset_id}:456"


class TckScript:
    """Scripted decisions for the TCK's ids; every other id gets the default ones."""

    def negotiation_steps(self, negotiation: Negotiation, event: str) -> list[Step] | None:
        """Steps for a scripted dataset, None otherwise."""
        script = NEGOTIATION_SCRIPTS.get(negotiation.dataset_id or "")
        if script is None:
            return None
        return list(script.get(event, []))

    def transfer_steps(self, transfer: Transfer, event: str) -> list[Step] | None:
        """Steps for a scripted agreement, None otherwise."""
        script = TRANSFER_SCRIPTS.get(transfer.agreement_id)
        if script is None:
            return None
        return list(script.get(event, []))


_USE: dict[str, Any] = {"permission": [{"action": "use"}]}


async def seed(plane: ControlPlane) -> None:
    """Insert the TCK's datasets, offers and agreements that are missing."""
    participant = plane.settings.tck.participant_id
    now = time.time()
    provider_datasets = [*CATALOG_DATASETS, TRANSFER_DATASET,
                         *(k for k in NEGOTIATION_SCRIPTS if not k.startswith("ACNC"))]
    async with plane.transaction() as tx:
        conn = tx.conn
        if await catalog_store.get_policy(conn, "tck-use") is None:
            await catalog_store.insert_policy(conn, PolicyRecord(
                id="tck-use", title="TCK: use", body=_USE, created_at=now, updated_at=now))
        for dataset_id in provider_datasets:
            if await catalog_store.get_dataset(conn, dataset_id) is not None:
                continue
            await catalog_store.insert_dataset(conn, Dataset(
                id=dataset_id, title=f"TCK dataset {dataset_id}",
                access_level=AccessLevel.PUBLIC,
                backend=Backend(type="http", address="http://127.0.0.1:9/tck"),
                created_at=now, updated_at=now,
            ))
            await catalog_store.insert_offer(conn, Offer(
                id=offer_id_for(dataset_id), dataset_id=dataset_id, policy_id="tck-use",
                access_policy_id=None, approval=Approval.AUTO, created_at=now, policy=_USE,
            ))
        for agreement_id in TRANSFER_SCRIPTS:
            if await get_agreement(conn, agreement_id) is not None:
                continue
            consumer = agreement_id.startswith("ATPC")
            role = Role.CONSUMER if consumer else Role.PROVIDER
            assigner, assignee = (participant, plane.did) if consumer else (
                plane.did, participant)
            await insert_agreement(conn, Agreement(
                id=agreement_id, negotiation_id=None, role=role,
                dataset_id=TRANSFER_DATASET, assigner=assigner, assignee=assignee,
                policy={"@id": agreement_id, "@type": "Agreement", "target": TRANSFER_DATASET,
                        "assigner": assigner, "assignee": assignee, **_USE},
                counterparty_id=participant, counterparty_address=None, created_at=now,
            ))
