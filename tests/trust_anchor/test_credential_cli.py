"""``dataspace credential issue|verify`` against a real trust anchor on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from identity.keys import KeyPair
from identity.signer import Signer
from identity.vp_issue import issue_vp_data_integrity
from tests.trust_anchor.conftest import TrustAnchor
from tests.trust_anchor.vc_corpus import base_credential


async def dataspace(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dataspace", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "DATASPACE_ADMIN_API_KEY": ""})
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_issue_then_verify_with_the_cli(trust_anchor: TrustAnchor, tmp_path: Path) -> None:
    source = tmp_path / "degree.json"
    source.write_text(json.dumps(base_credential()))
    secured_file = tmp_path / "degree.vc.json"
    connection = ["--url", trust_anchor.url]
    code, out, err = await dataspace(
        "credential", "issue", str(source), *connection, "--api-key", trust_anchor.admin_key,
        "--proof-format", "eddsa-rdfc-2022", "--out", str(secured_file))
    assert code == 0, err
    assert "eddsa-rdfc-2022 (Data Integrity)" in out
    assert "VerifiableCredential, ExampleDegreeCredential" in out
    assert "Next: dataspace credential verify" in out
    secured = json.loads(secured_file.read_text())
    assert secured["proof"]["cryptosuite"] == "eddsa-rdfc-2022"

    code, out, err = await dataspace("credential", "verify", str(secured_file), *connection)
    assert code == 0, err
    assert out.splitlines()[0].split() == ["verified", "yes"]
    code, out, err = await dataspace("credential", "verify", "-", *connection, "--json",
                                     stdin=secured_file.read_text())
    assert code == 0, err
    assert json.loads(out)["credential"]["issuer"] == trust_anchor.did

    # vc+jwt through stdin, as JSON for scripts
    code, out, err = await dataspace(
        "credential", "issue", "-", *connection, "--api-key", trust_anchor.admin_key, "--json",
        stdin=json.dumps(base_credential()))
    assert code == 0, err
    assert json.loads(out)["type"] == "EnvelopedVerifiableCredential"

    # a tampered credential is a negative answer (1), with the reason
    secured["credentialSubject"]["degree"] = "Doctor of Philosophy"
    secured_file.write_text(json.dumps(secured))
    code, out, err = await dataspace("credential", "verify", str(secured_file), *connection)
    assert code == 1
    assert "proof-invalid" in out

    # a presentation, with its challenge and domain
    holder = Signer.for_did_key(KeyPair.generate())
    vp_file = tmp_path / "vp.json"
    vp_file.write_text(json.dumps(issue_vp_data_integrity(
        holder, [], domain="https://verifier.example.org", challenge="n-1")))
    code, out, err = await dataspace("credential", "verify", str(vp_file), "--presentation",
                                     "--challenge", "n-1", *connection)
    assert code == 0, err
    assert holder.did in out
    code, out, err = await dataspace("credential", "verify", str(vp_file), "--presentation",
                                     "--challenge", "n-2", *connection)
    assert code == 1
    assert "nonce-mismatch" in out


async def test_refusals_are_one_line_with_the_pointer(
    trust_anchor: TrustAnchor, tmp_path: Path
) -> None:
    bad = base_credential()
    bad["validFrom"] = "yesterday"
    source = tmp_path / "bad.json"
    source.write_text(json.dumps(bad))
    code, out, err = await dataspace("credential", "issue", str(source), "--url", trust_anchor.url,
                                     "--api-key", trust_anchor.admin_key)
    assert code == 2
    assert err.strip().splitlines() == [
        "error: datetime-invalid: /validFrom is not an XML Schema dateTimeStamp "
        "(e.g. 2025-01-31T12:00:00Z) (at /validFrom)"]
    source.write_text("not json")
    code, _out, err = await dataspace("credential", "verify", str(source), "--url",
                                      trust_anchor.url)
    assert code == 2
    assert err.startswith("error: ")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(base_credential()))
    code, _out, err = await dataspace("credential", "issue", str(good))
    assert code == 2
    assert "--url" in err
