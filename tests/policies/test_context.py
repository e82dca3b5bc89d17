"""Building request contexts from JSON (what the CLI reads) and directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from policies import ContextError, DutyState, RequestContext


def test_from_mapping_types_every_key() -> None:
    ctx = RequestContext.from_mapping(
        {
            "action": "odrl:write",
            "target": "urn:t",
            "assignee": "did:web:acme.example",
            "dateTime": "2025-05-01T10:00:00+02:00",
            "count": 3,
            "elapsedTime": "P1DT2H",
            "delayPeriod": "PT30M",
            "meteredTime": "PT90S",
            "timeInterval": "P7D",
            "purpose": "urn:purpose:research",
            "recipient": "did:web:ntnu.no",
            "spatial": "urn:place:norway",
            "payAmount": "12.50",
            "payUnit": "NOK",
            "percentage": 25,
            "version": "2.1",
            "event": {"urn:event:a": "before"},
            "credentials": {"MembershipCredential": {"role": "member"}},
            "partOf": {"urn:t": "urn:c", "did:web:ntnu.no": ["urn:g:1", "urn:g:2"]},
            "duties": {"urn:d:1": "violated"},
            "language": "nb",
            "dst:endpoint": "https://hooks.example",
        }
    )
    assert ctx.action == "modify"  # write is exactly modify in ODRL 2.2
    assert ctx.now == datetime(2025, 5, 1, 8, tzinfo=UTC)
    assert ctx.elapsed_time == timedelta(days=1, hours=2)
    assert ctx.metered_time == timedelta(seconds=90)
    assert ctx.pay_amount == Decimal("12.50")
    assert ctx.percentage == Decimal(25)
    assert ctx.events == {"urn:event:a": "before"}
    assert ctx.credentials == {"MembershipCredential": ({"role": "member"},)}
    assert ctx.part_of == {"urn:t": ("urn:c",), "did:web:ntnu.no": ("urn:g:1", "urn:g:2")}
    assert ctx.duties == {"urn:d:1": DutyState.VIOLATED}
    assert ctx.extra == {"language": "nb", "dst:endpoint": "https://hooks.example"}


def test_credentials_as_a_list_of_types_and_events_as_a_list() -> None:
    ctx = RequestContext.from_mapping(
        {"action": "use", "credentials": ["A", "B"], "event": ["urn:e:1", "urn:e:2"]}
    )
    assert ctx.credentials is not None
    assert set(ctx.credentials) == {"A", "B"}
    assert ctx.events == {"urn:e:1": "during", "urn:e:2": "during"}


@pytest.mark.parametrize(
    ("data", "code", "path"),
    [
        ({"action": "use", "count": -1}, "invalid-context-value", "/count"),
        ({"action": "use", "count": True}, "invalid-context-value", "/count"),
        ({"action": "use", "dateTime": "yesterday"}, "invalid-context-value", "/dateTime"),
        ({"action": "use", "elapsedTime": "P1M"}, "invalid-context-value", "/elapsedTime"),
        ({"action": "use", "purpose": ["a:b", "c:d"]}, "invalid-context-value", "/purpose"),
        ({"action": "use", "event": {"urn:e": "soon"}}, "invalid-context-value", "/event"),
        ({"action": "use", "duties": {"urn:d": "done"}}, "invalid-context-value", "/duties"),
        ({"action": "use", "credentials": "A"}, "invalid-context-value", "/credentials"),
        ({"action": "use", "partner": "gold"}, "unknown-context-key", "/partner"),
        ({"action": "dance"}, "invalid-context-value", "/action"),
        ({"target": "urn:t"}, "missing-context-value", "/action"),
    ],
)
def test_malformed_contexts_are_rejected(data: dict[str, object], code: str, path: str) -> None:
    with pytest.raises(ContextError) as raised:
        RequestContext.from_mapping(data)
    assert [(i.code, i.path) for i in raised.value.issues] == [(code, path)]


def test_direct_construction_normalises_action_and_naive_time() -> None:
    ctx = RequestContext(action="http://www.w3.org/ns/odrl/2/copy", now=datetime(2025, 1, 1))
    assert ctx.action == "reproduce"
    assert ctx.now == datetime(2025, 1, 1, tzinfo=UTC)
    assert "reproduce" in repr(ctx)


def test_context_is_slotted() -> None:
    ctx = RequestContext(action="use")
    with pytest.raises(AttributeError):
        ctx.colour = "red"  # type: ignore[attr-defined]
