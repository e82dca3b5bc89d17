"""Bitstring Status List interop with ``@digitalbazaar/vc-bitstring-status-list`` under Node.

The npm dependencies are installed on first use (``npm ci`` from the committed
lock file); without ``node`` on the machine these tests are skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from identity import StatusList

NODE_DIR = Path(__file__).resolve().parents[1] / "interop" / "node"
SCRIPT = NODE_DIR / "status-list.mjs"

pytestmark = pytest.mark.node


@pytest.fixture(scope="session")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are needed for the interop tests")
    if not (NODE_DIR / "node_modules" / "@digitalbazaar" / "vc-bitstring-status-list").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return node


def run(node: str, command: str, payload: dict[str, Any]) -> dict[str, Any]:
    result = subprocess.run(
        [node, str(SCRIPT), command],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_digital_bazaar_decodes_our_list(node: str) -> None:
    ours = StatusList()
    for index in (0, 9, 4242, 131_071):
        ours.set(index)
    probe = [0, 1, 8, 9, 10, 4241, 4242, 131_070, 131_071]
    theirs = run(node, "decode", {"encodedList": ours.encode(), "indices": probe})
    assert theirs == {"length": 131_072, "set": [0, 9, 4242, 131_071]}


def test_we_decode_digital_bazaars_list(node: str) -> None:
    encoded = run(node, "encode", {"length": 131_072, "set": [3, 77, 131_071]})["encodedList"]
    ours = StatusList.decode(encoded)
    assert len(ours) == 131_072
    assert [i for i in range(len(ours)) if ours.get(i)] == [3, 77, 131_071]
    assert ours.to_bytes()[0] == 0x10  # index 3 is the fourth bit from the left
