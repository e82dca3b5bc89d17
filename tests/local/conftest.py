"""Helpers for tests that run `dataspace up` as a real process."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DATASPACE = [sys.executable, "-m", "dataspace"]


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port() -> int:
    """A base port below the ephemeral range with every port `up` uses free."""
    offsets = (0, 10, 20, 21, 22, 30, 31, 32, 90)
    while True:
        base = random.randrange(20000, 30000, 100)
        if all(_free(base + offset) for offset in offsets):
            return base


def children_of(pid: int) -> set[int]:
    """Every descendant process of ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


class Up:
    """A running `dataspace up`."""

    def __init__(self, data_dir: Path, base_port: int) -> None:
        self.data_dir = data_dir
        self.log = data_dir.parent / f"up-{time.monotonic_ns()}.log"
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(
                [*DATASPACE, "up", "--data-dir", str(data_dir), "--base-port", str(base_port)],
                stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while "The data space is up" not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def services(self) -> dict[str, dict[str, object]]:
        data = json.loads((self.data_dir / "dataspace.json").read_text())
        return {s["name"]: s for s in data["services"]}

    def interrupt(self) -> float:
        """Ctrl-C; returns how long until every child was gone."""
        children = children_of(self.process.pid)
        assert children, "up has no children"
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        while any(alive(pid) for pid in children) and time.monotonic() - started < 30:
            time.sleep(0.05)
        assert not [pid for pid in children if alive(pid)], "children outlived up"
        return time.monotonic() - started


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """A `dataspace up` for the tests of one module (a test may stop it itself)."""
    running = Up(tmp_path_factory.mktemp("up") / "space", free_base_port())
    yield running
    if running.process.poll() is None:
        running.interrupt()
