"""A test that needs a missing system tool: skipped with the reason outside CI, failed in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

NEEDS_NODE = '''
from tests.nodejs import INTEROP, node_with


def test_needs_node():
    node_with(INTEROP / "anything", "a-package")
'''


def run_without_node(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """Run a test that needs Node.js with a PATH that holds only Python."""
    (tmp_path / "test_needs_node.py").write_text(NEEDS_NODE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(Path(sys.executable).parent)  # no node, no npm
    env["PYTHONPATH"] = str(REPO_ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-ra", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_needs_node.py")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)


def test_outside_ci_it_is_skipped_with_the_reason(tmp_path: Path) -> None:
    result = run_without_node(tmp_path, ci=None)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "NOT RUN: Node.js and npm (for the interop tests) is not installed: " \
           "`apt-get install nodejs npm`; in CI (CI=true) this fails" in result.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_it_fails(tmp_path: Path, ci: str) -> None:
    result = run_without_node(tmp_path, ci=ci)
    assert result.returncode == 1, result.stdout
    assert "1 failed" in result.stdout
    assert "`apt-get install nodejs npm` (required in CI)" in result.stdout


def test_ci_false_is_not_ci(tmp_path: Path) -> None:
    assert run_without_node(tmp_path, ci="false").returncode == 0
