"""Every example script runs against a real local data space and does what it says."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.local.conftest import Up, free_base_port

pytestmark = pytest.mark.slow
EXAMPLES = REPO_ROOT / "examples"


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    running = Up(tmp_path_factory.mktemp("examples") / "space", free_base_port())
    yield running
    running.interrupt()


def run(script: str, space: Up, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / script), "--data-dir",
                           str(space.data_dir), *extra],
                          capture_output=True, text=True, timeout=120, cwd=space.data_dir.parent)


def management(space: Up, name: str, method: str, path: str, body: Any = None) -> Any:
    service = space.services()[name]
    request = urllib.request.Request(
        str(service["management_url"]) + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {service['admin_api_key']}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


@pytest.mark.parametrize(("script", "said"), [
    # The operator onboards a member.
    ("operator.py", ["Approved; the transaction code", "Trondheim Bysykkel AS (active)"]),
    # The company pulls the free and open air-quality data (parking is sold).
    ("company.py", ["halden-air-quality", "Halden sentrum", "PM10", "Tistedal"]),
])
def test_a_script_runs_and_says(space: Up, script: str, said: list[str]) -> None:
    result = run(script, space)
    assert result.returncode == 0, result.stderr
    for text in said:
        assert text in result.stdout


def test_the_municipality_publishes_and_answers_a_request(space: Up) -> None:
    first = run("municipality.py", space)
    assert first.returncode == 0, first.stderr
    assert "halden-school-energy (RESTRICTED)" in first.stdout
    assert "Audit log:" in first.stdout
    # The company asks for the restricted dataset; the municipality's script answers.
    halden = space.services()["halden"]
    asked = management(space, "example-analytics", "POST", "/api/v1/negotiations", {
        "counterparty_address": halden["dsp_url"], "dataset_id": "halden-school-energy"})
    second = run("municipality.py", space, "--wait", "20")
    assert second.returncode == 0, second.stderr
    assert "approved the request of" in second.stdout
    for _ in range(100):
        state = management(space, "example-analytics", "GET",
                           f"/api/v1/negotiations/{asked['id']}")["state"]
        if state == "FINALIZED":
            break
        time.sleep(0.1)
    assert state == "FINALIZED"


def test_examples_readme_lists_every_script() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    for script in sorted(p.name for p in EXAMPLES.glob("*.py")):
        assert f"`{script}`" in readme
