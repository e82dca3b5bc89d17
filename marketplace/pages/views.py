"""What the portal's pages show of the marketplace's resources, in words (no I/O here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from marketplace.domain.catalog import LIFECYCLE, LifecycleStatus
from marketplace.domain.money import vat_minor
from marketplace.domain.ordering import BUYER
from marketplace.domain.pricing import PriceType, PricingPlan, plan_policy
from policies import explain

__all__ = [
    "FACET_LABELS",
    "ORDER_STATES",
    "VERBS",
    "PlanView",
    "amount",
    "money_text",
    "offering_rows",
    "order_view",
    "plan_view",
    "spec_facts",
]

#: The search facets, as the page names them.
FACET_LABELS = {"theme": "Theme", "publisher": "Provider", "accessLevel": "Access level",
                "licence": "Licence", "format": "Format", "priceType": "Price type"}
_PRICE_TYPES = {"oneTime": "one-time", "recurring": "subscription", "usage": "pay per use"}
#: An order's state: what to call it and its badge (colour is never the only signal).
ORDER_STATES = {
    "acknowledged": ("received", ""), "held": ("awaiting the provider's approval", "warn"),
    "inProgress": ("awaiting payment", "warn"), "pending": ("pending", "warn"),
    "completed": ("completed", "ok"), "rejected": ("rejected", "bad"),
    "failed": ("failed", "bad"), "cancelled": ("cancelled", "bad"),
    "assessingCancellation": ("being cancelled", "warn"),
    "pendingCancellation": ("being cancelled", "warn"),
}


def money_text(money: Mapping[str, Any] | None) -> str:
    """TMF ``Money`` JSON (``{"unit": "NOK", "value": 12.5}``) → ``"NOK 12.50"``."""
    if not money or money.get("value") is None:
        return ""
    return f"{money.get('unit', '')} {Decimal(str(money['value'])):,.2f}".replace(",", "\u202f")


def amount(minor: int, currency: str) -> str:
    """``12500, "NOK"`` → ``"NOK 125.00"``."""
    return f"{currency} {Decimal(minor).scaleb(-2):,.2f}".replace(",", "\u202f")


@dataclass(frozen=True)
class PlanView:
    """One plan as the product page shows it."""

    id: str
    name: str
    kind: str
    price: str
    vat: str
    total: str
    per: str
    free: bool
    summary: str
    lines: tuple[str, ...]
    colour: str | None


def _per(plan: PricingPlan) -> str:
    if plan.price_type is PriceType.RECURRING and plan.recurring_charge_period_type:
        length = plan.recurring_charge_period_length or 1
        unit = plan.recurring_charge_period_type.value
        return f"every {unit}" if length == 1 else f"every {length} {unit}s"
    if plan.price_type is PriceType.USAGE and plan.unit_of_measure is not None:
        measure = plan.unit_of_measure
        text = f"per {measure.units.value}" if measure.amount == 1 else \
            f"per {measure.amount} {measure.units.value}s"
        if plan.included_quota:
            text += f", the first {plan.included_quota} each period included"
        return text
    return "once"


def plan_view(plan_id: str, plan: PricingPlan, *, product_id: str, provider: str) -> PlanView:
    """A plan's price with VAT and its policy (the ODRL offer it maps to) in plain words."""
    currency = plan.price.unit.value
    net = plan.price.minor
    vat = vat_minor(net, plan.vat_rate)
    policy = plan_policy(plan, offer_id=f"urn:offer:{plan_id}", assigner=provider,
                         product_id=product_id, plan_id=plan_id)
    said = explain(policy)
    rate = plan.vat_rate.normalize()
    return PlanView(
        id=plan_id, name=plan.name, kind=_PRICE_TYPES.get(plan.price_type.value,
                                                         plan.price_type.value),
        price=amount(net, currency), vat=f"{rate:f} % VAT: {amount(vat, currency)}",
        total=amount(net + vat, currency), per=_per(plan), free=plan.is_free,
        summary=said.summary, lines=said.lines, colour=said.colour)


def _values(item: Mapping[str, Any]) -> list[str]:
    return [str(v.get("value")) for v in item.get("productSpecCharacteristicValue") or []
            if isinstance(v, Mapping)]


def spec_facts(spec: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The data product's facts (themes, formats, licence, access level, SLA...) as pairs."""
    if not spec:
        return []
    names = {"theme": "Themes", "format": "Formats", "licence": "Licence",
             "accessLevel": "Access level", "sample": "Sample", "keyword": "Keywords"}
    facts: list[tuple[str, str]] = []
    for item in spec.get("productSpecCharacteristic") or []:
        if not isinstance(item, Mapping):
            continue
        name = str(item.get("name") or "")
        label = names.get(name) or (f"Service level: {name[4:]}" if name.startswith("sla.")
                                    else name)
        facts.append((label, ", ".join(_values(item))))
    return facts


def order_view(order: Mapping[str, Any]) -> dict[str, Any]:
    """An order's lines for the lists: product, plan, state (words and badge), amount due."""
    item = (order.get("productOrderItem") or [{}])[0]
    total = (order.get("orderTotalPrice") or [{}])[0].get("price", {}).get(
        "taxIncludedAmount") or {}
    state = str(order.get("state") or "")
    label, badge = ORDER_STATES.get(state, (state, ""))
    parties = {p.get("role"): p.get("id") for p in order.get("relatedParty") or []}
    return {
        "id": order.get("id"), "date": str(order.get("orderDate") or "")[:10],
        "product": (item.get("productOffering") or {}).get("name") or "",
        "offering": (item.get("productOffering") or {}).get("id") or "",
        "plan": ((item.get("itemPrice") or [{}])[0]).get("name") or "",
        "state": state, "state_label": label, "badge": badge,
        "total": money_text(total),
        "buyer": parties.get(BUYER) or "",
        "seller": (order.get("seller") or {}).get("id") or "",
        "purpose": order.get("purpose") or "",
    }


#: What the button that moves an offering to a lifecycle status says.
VERBS = {"inStudy": "Back to study", "inDesign": "Move to design", "inTest": "Move to test",
          "launched": "Launch", "retired": "Retire", "obsolete": "Make obsolete"}


def offering_rows(offerings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Offerings for a table: name, state, version, privacy and the life-cycle moves allowed."""
    rows = []
    for o in offerings:
        state = LifecycleStatus(o.get("lifecycleStatus", "inStudy"))
        moves = sorted(LIFECYCLE.targets(state), key=list(VERBS).index)
        rows.append({"id": o["id"], "name": o.get("name", ""), "state": state.value,
                     "version": o.get("version", ""), "private": bool(o.get("isPrivate")),
                     "moves": [(m.value, VERBS[m.value]) for m in moves]})
    return rows
