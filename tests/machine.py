"""What the machine the tests run on must have, beyond the Python packages.

Chromium (the browser tests) and Node.js with npm (the interoperability tests
against other implementations) come from the system's packages. Outside CI a
test that needs a missing one is skipped, with the reason and the command
that installs it in the skip line (``-ra`` prints it in the summary); in CI
(``CI`` set to ``true``, as ``.ci/run`` and every CI service do) it fails:
a CI run must not pass by running less.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["in_ci", "missing"]


def in_ci() -> bool:
    """Whether this run is CI (the ``CI`` environment variable is set and not false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(what: str, install: str) -> NoReturn:
    """``what`` is not installed: fail in CI, skip loudly elsewhere."""
    message = f"{what} is not installed: `{install}`"
    if in_ci():
        pytest.fail(f"{message} (required in CI)", pytrace=False)
    pytest.skip(f"NOT RUN: {message}; in CI (CI=true) this fails")
