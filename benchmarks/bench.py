"""Helpers every benchmark script shares: timing loops, tables, JSON results."""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def unshadow() -> None:
    """Drop ``benchmarks/`` from ``sys.path``: a script named like a package would shadow it."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]


#: Calls between two looks at the clock.
_BATCH = 200


class _Rounds:
    """Best calls per second over ``rounds`` rounds of about ``seconds`` each.

    Iterate :meth:`batches` and make :data:`_BATCH` calls per step; the
    clock is read between batches only, so it costs the calls nothing.
    """

    def __init__(self, seconds: float, rounds: int) -> None:
        self.seconds, self.rounds, self.best = seconds, rounds, 0.0

    def batches(self) -> Iterator[None]:
        """One step per batch of calls, round after round."""
        for _ in range(self.rounds):
            count, start = 0, time.perf_counter()
            deadline = start + self.seconds
            while True:
                yield
                count += _BATCH
                now = time.perf_counter()
                if now >= deadline:
                    break
            self.best = max(self.best, count / (now - start))


def rate_sync(call: Callable[[], object], seconds: float, rounds: int) -> float:
    """Best calls per second over ``rounds`` rounds of about ``seconds`` each."""
    timing = _Rounds(seconds, rounds)
    for _ in timing.batches():
        for _ in range(_BATCH):
            call()
    return timing.best


async def rate_tight(call: Callable[[], Awaitable[object]], seconds: float, rounds: int) -> float:
    """Like :func:`rate_sync` for a coroutine, awaited back to back (no latency bookkeeping)."""
    timing = _Rounds(seconds, rounds)
    for _ in timing.batches():
        for _ in range(_BATCH):
            await call()
    return timing.best


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def rate_async(call: Callable[[], Awaitable[object]], seconds: float, rounds: int,
                     *, concurrency: int = 1) -> tuple[float, list[float]]:
    """Best calls per second with ``concurrency`` workers, and latencies (s) of that round."""
    import asyncio

    best, best_latencies = 0.0, []
    for _ in range(rounds):
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def worker(latencies: list[float] = latencies, deadline: float = deadline) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await call()
                latencies.append(time.perf_counter() - started)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        rate = len(latencies) / (time.perf_counter() - start)
        if rate > best:
            best, best_latencies = rate, latencies
    return best, best_latencies


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return statistics.median(values) if values else float("nan")


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print an aligned text table."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  ".join(cell.rjust(widths[i]) if i else cell.ljust(widths[i])
                        for i, cell in enumerate(row)))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``results`` with machine details to ``benchmarks/results/<name>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": results,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {path}")
    return path
