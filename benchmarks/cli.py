"""Benchmark of the command line's start-up: how long a newcomer waits for each call.

Each row runs a fresh process (the console script's own interpreter) and
takes the median wall time of ``--runs`` runs, after one warm-up run that
fills the file-system cache:

* ``python -c pass``: the interpreter alone, the floor every command pays;
* ``dataspace --help`` and ``dataspace version``: must stay under 0.3 s
  (the ``dataspace`` group imports a sub-command's module only when it runs);
* ``dataspace X --help`` for every command ``X`` of the group, and a few
  nested ones (``dataspace connector dataset list --help``...): a sub-command
  module loads what its commands need only when they run, so its help is
  quick too.

The ratio column is each median over ``python -c pass``. Prints a table and
writes ``benchmarks/results/cli.json``; exits 1 if ``--help`` or ``version``
is over the 0.3 s budget.

    .venv/bin/python benchmarks/cli.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import bench

from dataspace.cli import COMMANDS as COMMAND_TABLE

BUDGET = 0.3
COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("dataspace --help", ["-m", "dataspace", "--help"]),
    ("dataspace version", ["-m", "dataspace", "version"]),
    *((f"dataspace {name} --help", ["-m", "dataspace", name, "--help"])
      for name in sorted(COMMAND_TABLE)),
    *((f"dataspace {' '.join(words)} --help", ["-m", "dataspace", *words, "--help"])
      for words in (("connector", "dataset", "list"), ("connector", "pull"),
                    ("connector", "audit", "verify"), ("connector", "requests"))),
]
BUDGETED = {"dataspace --help", "dataspace version"}


def wall_time(args: list[str]) -> float:
    """Seconds from spawning ``python args`` to its exit (which must be 0)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    """Run every command, print the table, write the results; 1 if over budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    medians: dict[str, float] = {}
    results: dict[str, dict[str, float]] = {}
    for name, args in COMMANDS:
        wall_time(args)  # warm-up: the file-system cache, .pyc files
        times = [wall_time(args) for _ in range(options.runs)]
        medians[name] = statistics.median(times)
        results[name] = {"median_s": medians[name], "min_s": min(times), "max_s": max(times),
                         "runs": options.runs}
    floor = medians["python -c pass"]
    rows = []
    for name, _ in COMMANDS:
        results[name]["ratio_to_python"] = medians[name] / floor
        verdict = ("ok" if medians[name] < BUDGET else "OVER") if name in BUDGETED else ""
        rows.append([name, medians[name] * 1000, results[name]["min_s"] * 1000,
                     medians[name] / floor, verdict])
    bench.print_table(f"CLI start-up, median of {options.runs} runs (budget {BUDGET} s)",
                      ["command", "median ms", "min ms", "x python", "budget"], rows)
    bench.write_results("cli", {"budget_s": BUDGET, "commands": results})
    return 0 if all(medians[name] < BUDGET for name in BUDGETED) else 1


if __name__ == "__main__":
    sys.exit(main())
