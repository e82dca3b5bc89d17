"""Bitstring Status List interop with ``@digitalbazaar/vc-bitstring-status-list`` under Node.

The npm dependencies are installed on first use (``npm ci`` from the committed
lock file). Without Node.js and npm these tests are skipped with the reason,
except in CI, where they fail (see ``tests/machine.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from identity import StatusList
from tests.nodejs import NODE_SCRIPTS, run_script

SCRIPT = NODE_SCRIPTS / "status-list.mjs"

pytestmark = pytest.mark.node


def run(node: str, command: str, payload: dict[str, Any]) -> dict[str, Any]:
    return run_script(node, SCRIPT, command, payload)


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
