"""``dataspace keys generate`` and ``dataspace did show``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataspace.cli import cli
from identity import KeyStore, did_key_from_jwk


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"DATASPACE_KEY_PASSPHRASE": "s3cret passphrase"})


def test_generate_prints_public_key_only(runner: CliRunner, tmp_path: Path) -> None:
    store = tmp_path / "keys"
    result = runner.invoke(cli, ["keys", "generate", "--store", str(store), "--name", "ta"])
    assert result.exit_code == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["alg"] == "EdDSA"
    assert output["public_jwk"]["kid"] == output["kid"]
    assert "d" not in output["public_jwk"]
    private = KeyStore(store, "s3cret passphrase").load("ta").export_private_jwk()["d"]
    assert private not in result.output
    assert stat.S_IMODE((store / "ta.jwk.json").stat().st_mode) == 0o600
    assert output["did_key"] == did_key_from_jwk(output["public_jwk"])


def test_generate_p256_with_passphrase_file(tmp_path: Path) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text("from a file\n")
    result = CliRunner(env={"DATASPACE_KEY_PASSPHRASE": ""}).invoke(
        cli,
        [
            "keys",
            "generate",
            "--type",
            "p256",
            "--store",
            str(tmp_path / "k"),
            "--passphrase-file",
            str(secret),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["alg"] == "ES256"
    assert KeyStore(tmp_path / "k", "from a file").load("default").alg == "ES256"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["keys", "generate"], {"DATASPACE_KEY_PASSPHRASE": ""}, "DATASPACE_KEY_PASSPHRASE"),
        (["keys", "generate", "--name", "../escape"], None, "key-name-invalid"),
        (["keys", "generate", "--passphrase-file", "/does/not/exist"], None, "passphrase file"),
        (["did", "show", "--name", "missing"], None, "key-not-in-store"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    runner: CliRunner, tmp_path: Path, args: list[str], env: dict[str, str] | None, message: str
) -> None:
    result = runner.invoke(cli, [*args, "--store", str(tmp_path)], env=env)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_existing_key_is_kept(runner: CliRunner, tmp_path: Path) -> None:
    args = ["keys", "generate", "--store", str(tmp_path)]
    assert runner.invoke(cli, args).exit_code == 0
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert "key-exists" in result.stderr
    assert runner.invoke(cli, [*args, "--force"]).exit_code == 0


def test_did_show_key_and_web(runner: CliRunner, tmp_path: Path) -> None:
    generated = json.loads(
        runner.invoke(cli, ["keys", "generate", "--store", str(tmp_path)]).stdout
    )
    shown = runner.invoke(
        cli, ["did", "show", "--store", str(tmp_path)], env={"DATASPACE_KEY_PASSPHRASE": ""}
    )
    assert shown.exit_code == 0, shown.stderr
    as_key = json.loads(shown.stdout)
    assert as_key["did"] == generated["did_key"] == as_key["didDocument"]["id"]

    web = runner.invoke(
        cli,
        [
            "did",
            "show",
            "--store",
            str(tmp_path),
            "--web",
            "http://127.0.0.1:8600",
            "--service",
            "CredentialService=http://127.0.0.1:8600/api/credentials",
            "--document",
        ],
    )
    assert web.exit_code == 0, web.stderr
    document = json.loads(web.stdout)
    assert document["id"] == "did:web:127.0.0.1%3A8600"
    assert document["assertionMethod"] == [f"did:web:127.0.0.1%3A8600#{generated['kid']}"]
    assert document["service"][0]["type"] == "CredentialService"
    bad = runner.invoke(
        cli, ["did", "show", "--store", str(tmp_path), "--web", "http://x.org", "--service", "nope"]
    )
    assert bad.exit_code == 2
    assert "TYPE=URL" in bad.stderr
