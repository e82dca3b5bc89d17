"""The trust anchor as people run it: `dataspace trust-anchor serve` and the CLI around it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

DATASPACE = [sys.executable, "-m", "dataspace"]


def run(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*DATASPACE, *args], capture_output=True, text=True, env=env,
                            timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    port = free_port()
    data = tmp_path / "ta"
    env = {**os.environ, "DATASPACE_KEY_PASSPHRASE": "participant secret",
           "TA_KEY_PASSPHRASE": "operator secret", "TA_KEY_SCRYPT_N": "1024"}
    log = tmp_path / "trust-anchor.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [*DATASPACE, "trust-anchor", "serve", "--dev", "--port", str(port),
             "--data-dir", str(data)],
            env=env, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 20
        while not (data / "service.json").exists():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the trust anchor did not start"
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as response:
            assert response.status == 200
        yield data, env
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_onboarding_through_the_cli(served: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    ta_dir, env = served
    info = json.loads((ta_dir / "service.json").read_text())
    assert oct((ta_dir / "service.json").stat().st_mode & 0o777) == "0o600"
    assert info["role"] == "trust-anchor"
    assert info["did"].startswith("did:web:127.0.0.1%3A")
    me = str(tmp_path / "company")

    did = run("participant", "init", "--data-dir", me, env=env).stdout.strip()
    assert did.startswith("did:key:z6Mk")
    applying = run(
        "participant", "apply", "--data-dir", me, "--trust-anchor", info["base_url"],
        "--legal-name", "Example Analytics AS", "--org-number", "912 345 678",
        "--contact-name", "Kari", "--contact-email", "kari@example.no",
        "--role", "consumer", env=env)
    applied = json.loads(applying.stdout)
    assert applied["state"] == "submitted"
    # The next step is printed (on stderr: stdout stays the application's JSON).
    assert "wait for the operator's approval" in applying.stderr
    assert f"`dataspace participant collect --data-dir {me} --tx-code CODE`" in applying.stderr

    listed = run("operator", "list", "--data-dir", str(ta_dir), "--state", "submitted",
                 env=env).stdout
    header, row = listed.splitlines()[:2]
    assert header.split() == ["ID", "STATUS", "LEGAL", "NAME", "DID"]
    assert row.split() == [applied["id"], "submitted", "Example", "Analytics", "AS", did]
    assert f"Next: `dataspace operator approve ID --data-dir {ta_dir}`" in listed
    none = run("operator", "list", "--data-dir", str(ta_dir), "--state", "revoked",
               env=env).stdout
    assert none == "No applications that are revoked.\n"
    approved = json.loads(run("operator", "approve", applied["id"], "--data-dir", str(ta_dir),
                              "--reason", "checked", env=env).stdout)
    assert approved["status"] == "active"

    # Without the transaction code the wallet cannot collect.
    refused = run("participant", "collect", "--data-dir", me, env=env, check=False)
    assert refused.returncode == 2
    assert "tx-code-required" in refused.stderr
    credential = run("participant", "collect", "--data-dir", me, "--tx-code",
                     approved["tx_code"], env=env).stdout.strip()
    assert credential.count(".") == 2
    assert (Path(me) / "credentials" / "MembershipCredential.jwt").exists()

    revoked = run("operator", "revoke", applied["id"], "--data-dir", str(ta_dir),
                  "--reason", "test", env=env).stdout
    assert "is now revoked" in revoked
    status = json.loads(run("participant", "status", "--data-dir", me, env=env).stdout)
    assert status["status"] == "revoked"


def test_operator_errors_are_one_line(served: tuple[Path, dict[str, str]]) -> None:
    ta_dir, env = served
    result = run("operator", "approve", "p-nope", "--data-dir", str(ta_dir), env=env,
                 check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "participant-not-found" in result.stderr
    wrong_key = run("operator", "list", "--data-dir", str(ta_dir), "--api-key", "dsk_wrong",
                    env=env, check=False)
    assert wrong_key.returncode == 2
    assert "api-key-required" in wrong_key.stderr


def test_negative_steps_need_a_reason(served: tuple[Path, dict[str, str]]) -> None:
    ta_dir, env = served
    for action in ("reject", "suspend", "revoke"):
        result = run("operator", action, "p-nope", "--data-dir", str(ta_dir), env=env,
                     check=False)
        assert result.returncode == 2, result.stderr
        assert "Missing option '--reason'" in result.stderr
    # With a reason the command reaches the trust anchor (which knows no p-nope).
    result = run("operator", "reject", "p-nope", "--data-dir", str(ta_dir), "--reason",
                 "unknown company", env=env, check=False)
    assert "participant-not-found" in result.stderr
