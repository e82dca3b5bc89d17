"""``dataspace policy check`` and ``dataspace policy validate``: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dataspace.cli import cli

POLICY = {
    "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
    "@id": "urn:p:cli",
    "@type": "Set",
    "target": "urn:data:traffic",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {"leftOperand": "purpose", "operator": "eq",
                 "rightOperand": "urn:purpose:research"},
                {"leftOperand": "dateTime", "operator": "lt",
                 "rightOperand": {"@value": "2030-01-01", "@type": "xsd:date"}},
            ],
            "duty": [{"@id": "urn:duty:attribute", "action": "attribute"}],
        }
    ],
}  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    def write(name: str, data: Any) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data) if not isinstance(data, str) else data, "utf-8")
        return path

    base = {"action": "read", "target": "urn:data:traffic", "dateTime": "2025-01-01T00:00:00Z"}
    return {
        "policy": write("policy.json", POLICY),
        "permit": write("permit.json", {**base, "purpose": "urn:purpose:research"}),
        "deny": write("deny.json", {**base, "purpose": "urn:purpose:ads"}),
        "bad-context": write("bad-context.json", {**base, "count": "many"}),
        "bad-policy": write("bad-policy.json", {**POLICY, "permission": [{"action": "lease"}]}),
        "not-json": write("not-json.json", "{"),
        "no-time": write("no-time.json", {"action": "read", "target": "urn:data:traffic",
                                          "purpose": "urn:purpose:research"}),
    }  # fmt: skip


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["policy", *args])


def test_check_permit_exits_0_with_reasons_and_duties(files: dict[str, Path]) -> None:
    result = _run("check", str(files["policy"]), "--context", str(files["permit"]))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("PERMIT (permitted) policy urn:p:cli")
    assert "purpose eq urn:purpose:research: satisfied" in result.output
    assert "duty: attribute (duty urn:duty:attribute)" in result.output


def test_check_deny_exits_1(files: dict[str, Path]) -> None:
    result = _run("check", str(files["policy"]), "--context", str(files["deny"]))
    assert result.exit_code == 1
    assert result.output.startswith("DENY (no-applicable-permission)")
    assert "not satisfied by urn:purpose:ads" in result.output


def test_check_json(files: dict[str, Path]) -> None:
    result = _run("check", str(files["policy"]), "--context", str(files["deny"]), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["permitted"] is False
    assert data["reasons"][0]["code"] == "no-applicable-permission"
    assert data["duties"] == []
    permit = _run("check", str(files["policy"]), "--context", str(files["permit"]), "--json")
    assert json.loads(permit.stdout)["duties"][0]["id"] == "urn:duty:attribute"


def test_check_without_date_time_uses_now(files: dict[str, Path]) -> None:
    result = _run("check", str(files["policy"]), "--context", str(files["no-time"]))
    assert result.exit_code == 0  # now is before 2030


@pytest.mark.parametrize(
    ("policy", "context", "message"),
    [
        ("bad-policy", "permit", "deprecated-action at /permission/0/action"),
        ("policy", "bad-context", "invalid-context-value at /count"),
        ("not-json", "permit", "is not JSON"),
        ("policy", "missing", "cannot read context"),
    ],
)
def test_check_invalid_input_exits_2_with_one_stderr_line(
    files: dict[str, Path], policy: str, context: str, message: str
) -> None:
    context_path = files.get(context, files["policy"].parent / "missing.json")
    result = _run("check", str(files[policy]), "--context", str(context_path))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert message in lines[0]


def test_check_invalid_policy_json_output(files: dict[str, Path]) -> None:
    result = _run("check", str(files["bad-policy"]), "--context", str(files["permit"]), "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["error"] == "invalid-policy"
    assert data["issues"][0] == {
        "code": "deprecated-action",
        "path": "/permission/0/action",
        "message": "'lease' is a deprecated ODRL action (it has no replacement)",
    }


def test_validate(files: dict[str, Path]) -> None:
    ok = _run("validate", str(files["policy"]))
    assert ok.exit_code == 0
    assert "valid" in ok.stdout
    bad = _run("validate", str(files["bad-policy"]))
    assert bad.exit_code == 2
    assert bad.stdout.splitlines() == [
        "deprecated-action at /permission/0/action: "
        "'lease' is a deprecated ODRL action (it has no replacement)"
    ]
    assert bad.stderr.startswith("error: invalid policy")
    as_json = _run("validate", str(files["bad-policy"]), "--json")
    assert [i["code"] for i in json.loads(as_json.stdout)["issues"]] == ["deprecated-action"]
    assert json.loads(_run("validate", str(files["policy"]), "--json").stdout) == {
        "valid": True, "issues": []
    }  # fmt: skip


def test_validate_gives_the_answer_a_connector_gives(tmp_path: Path) -> None:
    """One validation: what `dataset add` accepts, `policy validate` accepts, and no more."""
    from connector.services.checks import policy_problems

    unnamed = {"permission": [{"action": "use"}]}  # dataset add accepts and enforces it
    dropped = {**POLICY, "constraint": [{"leftOperand": "purpose", "operator": "eq",
                                         "rightOperand": "urn:purpose:research"}]}
    for document, valid in ((unnamed, True), (POLICY, True), (dropped, False)):
        path = tmp_path / "policy.json"
        path.write_text(json.dumps(document))
        result = _run("validate", str(path), "--json")
        assert (result.exit_code == 0) is valid, result.output
        assert json.loads(result.stdout)["issues"] == policy_problems(document)
    # A policy-level constraint would be dropped from the offer: refused, with its pointer.
    assert policy_problems(dropped)[0]["code"] == "member-not-offered"
    assert policy_problems(dropped)[0]["path"] == "/constraint"


def test_check_takes_a_policy_without_an_id(tmp_path: Path, files: dict[str, Path]) -> None:
    path = tmp_path / "unnamed.json"
    path.write_text(json.dumps({k: v for k, v in POLICY.items() if k != "@id"}))
    result = _run("check", str(path), "--context", str(files["permit"]))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("PERMIT (permitted) policy urn:policy:unnamed")
