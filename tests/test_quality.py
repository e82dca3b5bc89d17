"""The code-quality gates run as tests, so the README's one test command covers them.

ruff (lint), mypy (strict on every package; see pyproject.toml) and
import-linter (the dependency rule of ARCHITECTURE.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib

from tests.conftest import REPO_ROOT

PACKAGES = ["dataspace", "trust_anchor", "connector", "marketplace", "policies", "identity",
            "servicekit"]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(REPO_ROOT / ".venv" / "bin")) or shutil.which(
        name, path=str(sys.prefix) + "/bin"
    )
    assert path, f"{name} is not installed; pip install -e '.[test]'"
    return path


def test_ruff() -> None:
    result = _run(_tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = _run(_tool("mypy"), *PACKAGES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_strict_for_every_package() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    strict = {module for override in config["tool"]["mypy"].get("overrides", [])
              if override.get("strict") for module in override["module"]}
    assert {f"{package}.*" for package in PACKAGES} <= strict


def test_dependency_rule() -> None:
    result = _run(_tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
