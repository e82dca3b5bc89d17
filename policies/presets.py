"""Ready-made offers: the traffic light, licences and pricing-plan templates.

The traffic light of the Norwegian Digitalisation Agency (Digdir) classifies
datasets by access level:

* green, ``PUBLIC``: an open offer under a licence (NLOD 2.0 by default) whose
  only duty is attribution;
* yellow, ``RESTRICTED``: an offer to data-space members (a
  ``MembershipCredential``) that needs the provider's approval (an
  ``obtainConsent`` duty the negotiation holds for) or a purchase (a
  ``DataProductPurchaseCredential`` naming the product);
* red, ``NON_PUBLIC``: never offered; asking for an offer raises
  :class:`~policies.errors.NotOfferableError`.

Licences use the EU Publications Office licence authority URIs (the ones
DCAT-AP-NO expects), each with the URL of its text.

Plan templates (:func:`subscription`, :func:`calls_per_period`,
:func:`research_use`, :func:`pay_per_use`, :func:`metered`, :func:`purchase`)
return :class:`PlanTerms` that add up
(``subscription(...) + calls_per_period(1000, "P1D")``) and become an offer
with :func:`plan_offer`. Every builder goes through
:func:`~policies.parse.parse_policy`, so what it returns is valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from policies.errors import NotOfferableError
from policies.model import Policy
from policies.parse import parse_policy
from policies.profile import DST_PROFILE_IRI
from policies.serialize import to_dsp
from policies.vocabulary import PolicyType

__all__ = [
    "MEMBERSHIP_CREDENTIAL",
    "PURCHASE_CREDENTIAL",
    "RESEARCH_PURPOSES",
    "AccessLevel",
    "Licence",
    "PlanTerms",
    "agreement_from_offer",
    "calls_per_period",
    "metered",
    "pay_per_use",
    "plan_offer",
    "purchase",
    "research_use",
    "subscription",
    "traffic_light_offer",
]

MEMBERSHIP_CREDENTIAL = "MembershipCredential"
PURCHASE_CREDENTIAL = "DataProductPurchaseCredential"
#: Research purposes of the W3C Data Privacy Vocabulary.
RESEARCH_PURPOSES = (
    "https://w3id.org/dpv#ResearchAndDevelopment",
    "https://w3id.org/dpv#AcademicResearch",
    "https://w3id.org/dpv#NonCommercialResearch",
)
_LICENCE_AUTHORITY = "http://publications.europa.eu/resource/authority/licence/"


class AccessLevel(StrEnum):
    """Digdir's access levels; the traffic-light colour is :attr:`colour`."""

    PUBLIC = "PUBLIC"
    RESTRICTED = "RESTRICTED"
    NON_PUBLIC = "NON_PUBLIC"

    @property
    def colour(self) -> str:
        """``green``, ``yellow`` or ``red``."""
        return {"PUBLIC": "green", "RESTRICTED": "yellow", "NON_PUBLIC": "red"}[self.value]


class Licence(StrEnum):
    """Licences by their EU Publications Office authority URI."""

    NLOD_2_0 = _LICENCE_AUTHORITY + "NLOD_2_0"
    CC_BY_4_0 = _LICENCE_AUTHORITY + "CC_BY_4_0"
    CC0 = _LICENCE_AUTHORITY + "CC0"

    @property
    def document(self) -> str:
        """Where the licence text is published."""
        return {
            "NLOD_2_0": "http://data.norge.no/nlod/no/2.0",
            "CC_BY_4_0": "https://creativecommons.org/licenses/by/4.0/",
            "CC0": "https://creativecommons.org/publicdomain/zero/1.0/",
        }[self.name]


def _credential(ctype: str) -> dict[str, Any]:
    return {"leftOperand": "dst:credentialType", "operator": "eq", "rightOperand": ctype}


def traffic_light_offer(
    level: AccessLevel,
    *,
    offer_id: str,
    assigner: str,
    licence: Licence | None = Licence.NLOD_2_0,
    product: str | None = None,
    approval: bool = True,
    membership_credential: str = MEMBERSHIP_CREDENTIAL,
    purchase_credential: str = PURCHASE_CREDENTIAL,
) -> Policy:
    """The default offer of a dataset at ``level``.

    Green: anyone may ``use`` it (ODRL ``use`` covers reading, reproducing,
    distributing and deriving; not ``transfer``), with a duty to attribute the
    assigner; the licence is carried as ``dct:license``. Yellow: members may use
    it after the provider's approval (``approval``), or after buying
    ``product`` (a purchase credential whose ``product`` claim names it).
    Red: raises :class:`NotOfferableError`.
    """
    doc: dict[str, Any] = {"@id": offer_id, "@type": "Offer", "assigner": assigner}
    if licence is not None:
        doc["dct:license"] = {"@id": str(licence)}
    if level is AccessLevel.NON_PUBLIC:
        raise NotOfferableError(f"{offer_id}: NON_PUBLIC (red) datasets are never offered")
    if level is AccessLevel.PUBLIC:
        doc["permission"] = [
            {"action": "use", "duty": [{"action": "attribute", "attributedParty": assigner}]}
        ]
        return parse_policy(doc)
    if not approval and product is None:
        raise ValueError("a RESTRICTED offer needs approval, a product to buy, or both")
    doc["profile"] = DST_PROFILE_IRI
    permissions: list[dict[str, Any]] = []
    if approval:
        permissions.append(
            {
                "action": "use",
                "constraint": [_credential(membership_credential)],
                "duty": [{"action": "obtainConsent", "consentingParty": assigner}],
            }
        )
    if product is not None:
        claim = {
            "leftOperand": f"dst:claim/{purchase_credential}/product",
            "operator": "eq",
            "rightOperand": product,
        }
        permissions.append(
            {
                "action": "use",
                "constraint": [{"and": [_credential(membership_credential), claim]}],
            }
        )
    doc["permission"] = permissions
    return parse_policy(doc)


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """Constraints and duties of a pricing plan; ``+`` combines plans."""

    constraints: tuple[dict[str, Any], ...] = ()
    duties: tuple[dict[str, Any], ...] = ()
    uses_profile: bool = False

    def __add__(self, other: PlanTerms) -> PlanTerms:
        return PlanTerms(
            self.constraints + other.constraints,
            self.duties + other.duties,
            self.uses_profile or other.uses_profile,
        )


def _when(value: datetime | str) -> dict[str, str]:
    text = value.isoformat() if isinstance(value, datetime) else value
    return {"@value": text, "@type": "xsd:dateTime"}


def subscription(start: datetime | str | None, end: datetime | str | None) -> PlanTerms:
    """Use from ``start`` (inclusive) until ``end`` (exclusive); ``None`` leaves that side open."""
    if start is None and end is None:
        raise ValueError("a subscription needs a start, an end, or both")
    constraints: list[dict[str, Any]] = []
    if start is not None:
        constraints.append(
            {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": _when(start)}
        )
    if end is not None:
        constraints.append(
            {"leftOperand": "dateTime", "operator": "lt", "rightOperand": _when(end)}
        )
    return PlanTerms(constraints=tuple(constraints))


def calls_per_period(limit: int, period: str = "P1M") -> PlanTerms:
    """At most ``limit`` calls per ``period`` (``count`` counts prior calls in the period)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return PlanTerms(
        constraints=(
            {
                "leftOperand": "count",
                "operator": "lt",
                "rightOperand": {"@value": str(limit), "@type": "xsd:integer"},
            },
            {
                "leftOperand": "timeInterval",
                "operator": "eq",
                "rightOperand": {"@value": period, "@type": "xsd:duration"},
            },
        )
    )


def research_use(purposes: Sequence[str] = RESEARCH_PURPOSES) -> PlanTerms:
    """Use only for one of ``purposes`` (DPV research purposes by default)."""
    return PlanTerms(
        constraints=(
            {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": list(purposes)},
        )
    )


def pay_per_use(
    price: Decimal | str, currency: str = "NOK", *, meter_endpoint: str | None = None
) -> PlanTerms:
    """Pay ``price`` per use: a ``compensate`` duty and a ``dst:meter`` duty to report each use."""
    amount = {"@value": str(Decimal(price)), "@type": "xsd:decimal"}
    compensate = {
        "action": {
            "rdf:value": {"@id": "odrl:compensate"},
            "refinement": [
                {
                    "leftOperand": "payAmount",
                    "operator": "eq",
                    "rightOperand": amount,
                    "unit": currency,
                },
            ],
        }
    }
    return PlanTerms(duties=(compensate,)) + metered(meter_endpoint)


def metered(meter_endpoint: str | None = None) -> PlanTerms:
    """A ``dst:meter`` duty: report each use (to ``meter_endpoint``) for usage billing."""
    meter: dict[str, Any] = {"action": "dst:meter"}
    if meter_endpoint is not None:
        meter["action"] = {
            "rdf:value": {"@id": "dst:meter"},
            "refinement": [
                {
                    "leftOperand": "dst:endpoint",
                    "operator": "eq",
                    "rightOperand": {"@id": meter_endpoint},
                },
            ],
        }
    return PlanTerms(duties=(meter,), uses_profile=True)


def purchase(
    product: str, *, plan: str | None = None, credential: str = PURCHASE_CREDENTIAL
) -> PlanTerms:
    """Only for holders of a purchase ``credential`` whose ``product`` claim names ``product``.

    Given ``plan``, its ``plan`` claim must name that plan too: a credential
    bought on one plan does not open another plan's offer of the same product.
    """
    claims = [("product", product)] + ([("plan", plan)] if plan is not None else [])
    return PlanTerms(
        constraints=tuple(
            {"leftOperand": f"dst:claim/{credential}/{name}", "operator": "eq",
             "rightOperand": value}
            for name, value in claims
        ),
        uses_profile=True,
    )


def plan_offer(
    terms: PlanTerms,
    *,
    offer_id: str,
    assigner: str,
    target: str | None = None,
    membership_credential: str | None = MEMBERSHIP_CREDENTIAL,
    action: str = "use",
) -> Policy:
    """An Offer granting ``action`` under ``terms`` (to members, unless the credential is None)."""
    constraints = list(terms.constraints)
    uses_profile = terms.uses_profile
    if membership_credential is not None:
        constraints.insert(0, _credential(membership_credential))
        uses_profile = True
    permission: dict[str, Any] = {"action": action}
    if constraints:
        permission["constraint"] = constraints
    if terms.duties:
        permission["duty"] = list(terms.duties)
    doc: dict[str, Any] = {"@id": offer_id, "@type": "Offer", "assigner": assigner}
    if uses_profile:
        doc["profile"] = DST_PROFILE_IRI
    if target is not None:
        doc["target"] = target
    doc["permission"] = [permission]
    return parse_policy(doc)


def agreement_from_offer(
    offer: Policy,
    *,
    agreement_id: str,
    assignee: str,
    target: str,
    timestamp: datetime | None = None,
) -> Policy:
    """The Agreement an accepted ``offer`` becomes: its rules, for ``assignee`` on ``target``."""
    if offer.type is not PolicyType.OFFER:
        raise ValueError(f"{offer.uid} is a {offer.type}, not an Offer")
    doc = to_dsp(offer)
    doc.update({"@id": agreement_id, "@type": "Agreement", "assignee": assignee, "target": target})
    if timestamp is not None:
        doc["timestamp"] = timestamp.isoformat().replace("+00:00", "Z")
    return parse_policy(doc)
