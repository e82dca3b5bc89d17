"""One clock type: every injectable clock is servicekit's ``Clock`` (seconds as a float)."""

from __future__ import annotations

import re
import time

import identity
from servicekit.clock import Clock, datetime_from_epoch, epoch_from_datetime, system_clock
from tests.conftest import REPO_ROOT

# A clock spelled by hand instead of through servicekit.clock.Clock.
_HAND_MADE = re.compile(r"Callable\[\[\],\s*(float|datetime|float \| datetime)\]")


def test_the_system_clock_is_epoch_seconds() -> None:
    before = time.time()
    assert before <= system_clock() <= time.time()
    moment = datetime_from_epoch(1_750_000_000.0)
    assert moment.isoformat() == "2025-06-15T15:06:40+00:00"
    assert epoch_from_datetime(moment) == 1_750_000_000.0
    assert epoch_from_datetime(moment.replace(tzinfo=None)) == 1_750_000_000.0  # naive is UTC


def test_identity_uses_the_same_clock_type() -> None:
    assert identity.Clock is Clock
    assert identity.system_clock is system_clock


def test_no_package_spells_its_own_clock_type() -> None:
    found = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for package in ("connector", "dataspace", "identity", "marketplace", "policies",
                        "servicekit", "trust_anchor")
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _HAND_MADE.search(line)
    ]
    assert found == []


def test_the_tests_share_one_fake_clock() -> None:
    """Hand-moved clocks live in tests/fakes.py only."""
    clocks = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in sorted((REPO_ROOT / "tests").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.match(r"class \w*Clock\b", line)
    ]
    assert clocks == ["tests/fakes.py:16"]
