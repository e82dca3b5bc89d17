"""Fixtures shared by every test package.

``TEST_DATABASE_URL`` (set by ``.ci/run``) adds PostgreSQL to the store and
end-to-end tests; without it they run on SQLite only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DATASPACE_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder with specifications and conformance suites."""
    assert SHARED.is_dir(), f"../shared is missing beside the clone: {SHARED}"
    return SHARED
