"""``dataspace policy``: validate ODRL policies and explain decisions.

``dataspace policy check POLICY.json --context CTX.json`` prints the decision
with its reasons and the duties to perform; exit 0 permit, 1 deny, 2 invalid
policy or context. ``dataspace policy validate POLICY.json`` exits 0 when the
policy is valid and 2 with its issues (code, JSON pointer, message) when not.

Both give the answer a connector gives when the policy is offered with a
dataset (:func:`connector.services.checks.policy_problems`, the one
validation): ``@id`` is optional (a connector names its policies and offers
itself; ``check`` calls an unnamed policy ``urn:policy:unnamed``) and
``@type`` defaults to ``Offer``.
The context file is a JSON object keyed by ODRL left operands (``dateTime``,
``purpose``, ``count``...) plus ``assignee``, ``action`` and ``target``; see
:mod:`policies.context`. Without ``dateTime`` the current time is used.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from dataspace.cli import cli
from dataspace.cli.common import fail, print_json

if TYPE_CHECKING:
    from policies import Decision, Issue

__all__ = ["policy"]

_file = click.Path(path_type=Path, dir_okay=False)
#: What ``check`` calls a policy without an ``@id``.
UNNAMED = "urn:policy:unnamed"


def _read_json(path: Path, what: str, as_json: bool) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"cannot read {what} {path}: {exc.strerror}", "unreadable-file", as_json)
    except ValueError as exc:
        _fail(f"{what} {path} is not JSON: {exc}", "invalid-json", as_json)


def _fail(message: str, code: str, as_json: bool, issues: tuple[Issue, ...] = ()) -> NoReturn:
    if as_json:
        print_json({"error": code, "message": message, "issues": [i.to_dict() for i in issues]})
    fail(message)


@cli.group()
def policy() -> None:
    """Validate ODRL policies and explain decisions."""


@policy.command()
@click.argument("policy_file", type=_file)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def validate(policy_file: Path, as_json: bool) -> None:
    """Check that POLICY_FILE is a policy a connector would offer (exit 0), or list its issues.

    The same check as a connector's ``dataset add`` (exit 2 with the issues).
    """
    from connector.services.checks import policy_problems
    from policies import Issue

    issues = [Issue(**problem)
              for problem in policy_problems(_read_json(policy_file, "policy", as_json))]
    if issues:
        count = f"{len(issues)} issue{'s' if len(issues) > 1 else ''}"
        if not as_json:
            for issue in issues:
                click.echo(str(issue))
        _fail(
            f"invalid policy {policy_file}: {count} ({issues[0]})",
            "invalid-policy",
            as_json,
            tuple(issues),
        )
    if as_json:
        print_json({"valid": True, "issues": []})
    else:
        click.echo(f"valid: {policy_file}")


def _print_decision(decision: Decision) -> None:
    verdict = "PERMIT" if decision.permitted else "DENY"
    click.echo(f"{verdict} ({decision.basis}) policy {decision.policy_id}")
    for reason in decision.reasons:
        click.echo(f"  - {reason.message}")
    for duty in decision.duties:
        extras = ", ".join(f"{k}={v}" for k, v in {**duty.parameters, **duty.parties}.items())
        when = "".join(
            f" {label} {moment.isoformat()}"
            for label, moment in (("after", duty.not_before), ("by", duty.not_after))
            if moment is not None
        )
        click.echo(f"  duty: {duty.action} ({duty.origin} {duty.id}){when} {extras}".rstrip())


@policy.command()
@click.argument("policy_file", type=_file)
@click.option("--context", "context_file", type=_file, required=True, help="Request context JSON.")
@click.option("--json", "as_json", is_flag=True, help="Print the Decision as JSON.")
def check(policy_file: Path, context_file: Path, as_json: bool) -> None:
    """Decide the request in --context against POLICY_FILE: exit 0 permit, 1 deny."""
    from policies import (
        ContextError,
        PolicyValidationError,
        RequestContext,
        compile_policy,
        parse_policy,
    )

    document = _read_json(policy_file, "policy", as_json)
    if isinstance(document, dict):
        # The defaults a connector applies (see the module docstring).
        document = {**document, "@id": document.get("@id") or UNNAMED,
                    "@type": document.get("@type") or "Offer"}
    data = _read_json(context_file, "context", as_json)
    try:
        parsed = parse_policy(document)
    except PolicyValidationError as exc:
        _fail(f"{policy_file}: {exc}", exc.code, as_json, exc.issues)
    if isinstance(data, dict) and "dateTime" not in data:
        data = {**data, "dateTime": datetime.now(UTC).isoformat()}
    try:
        ctx = RequestContext.from_mapping(data)
        compiled = compile_policy(parsed)
    except (ContextError, PolicyValidationError) as exc:
        source = context_file if isinstance(exc, ContextError) else policy_file
        _fail(f"{source}: {exc}", exc.code, as_json, exc.issues)
    decision = compiled.explain(ctx)
    if as_json:
        print_json(decision.to_dict())
    else:
        _print_decision(decision)
    sys.exit(0 if decision.permitted else 1)
