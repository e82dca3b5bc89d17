"""Running implementations we did not write, under Node.js, from the tests.

Each interop folder under ``tests/interop/`` has a ``package.json`` and a
committed lock file; :func:`node_with` installs its packages (``npm ci``) the
first time a test needs them and returns the ``node`` executable. Without
Node.js and npm the interop tests are skipped with the reason, except in CI,
where they fail (see ``tests/machine.py``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.machine import missing

INTEROP = Path(__file__).resolve().parent / "interop"
#: Our scripts that run third-party packages (one ``package.json`` for all of them);
#: the ``node`` fixture gives the executable with those packages installed.
NODE_SCRIPTS = INTEROP / "node"


def node_with(folder: Path, marker: str) -> str:
    """``node``, with ``folder``'s npm packages installed (``marker`` is one of them)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing("Node.js and npm (for the interop tests)", "apt-get install nodejs npm")
    if not (folder / "node_modules" / marker).exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(folder)],
                       check=True, capture_output=True, timeout=600)
    return node


def run_script(node: str, script: Path, command: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run ``script command`` with ``payload`` as JSON on stdin; its stdout as JSON."""
    result = subprocess.run([node, str(script), command], input=json.dumps(payload),
                            capture_output=True, text=True, timeout=60, check=True)
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer
