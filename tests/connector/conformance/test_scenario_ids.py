"""Each conformance test uses the ids the DSP TCK gives its scenario, and TCK mode seeds them.

The table below is the TCK's own list: the scenario keys and ids of
``config/tck/sample.tck.properties`` in the Eclipse Dataspace TCK
(``eclipse-dataspacetck/dsp-tck``, the DSP 2025-1 suites), restricted to the
scenarios its test classes define in the version this suite follows
(``TP_01`` holds only ``TP:01-01`` there; the file's ``TP_01_02``..``05``
keys name scenarios of later versions, which this suite does not play).

One entry departs from the file: it gives ``TP_C_01_05`` the agreement
``ATPC0104``, a slip (every other key follows the ``A<suite><NNMM>`` pattern,
and the TCK's reference runtime seeds ``ATPC0105`` for it). The scenario's
agreement is ``ATPC0105``; TCK mode seeds both, so a TCK run with the file
as published works too.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from connector import tck

_HERE = Path(__file__).parent
_LABEL = re.compile(r"^(CAT|CN_C|CN|TP_C|TP|MET):(\d\d)-(\d\d):")
_ID = re.compile(r"\b(?:ACNC|ACN|ATPC|ATP|CAT)\d{4}\b")


def _range(suite: str, group: int, last: int) -> list[str]:
    return [f"{suite}:{group:02d}-{n:02d}" for n in range(1, last + 1)]


def _tck_id(scenario: str) -> str:
    """The TCK's ``A<suite><NNMM>`` id (``CAT<NNMM>`` for the catalog)."""
    suite, numbers = scenario.split(":")
    digits = numbers.replace("-", "")
    return f"CAT{digits}" if suite == "CAT" else "A" + suite.replace("_", "") + digits


#: Scenario -> the dataset (CAT, CN, CN_C) or agreement (TP, TP_C) id the TCK uses.
TCK_SCENARIOS: dict[str, str] = {
    scenario: _tck_id(scenario)
    for scenario in [
        *_range("CAT", 1, 3),
        *_range("CN", 1, 4), *_range("CN", 2, 7), *_range("CN", 3, 4),
        *_range("CN_C", 1, 4), *_range("CN_C", 2, 6), *_range("CN_C", 3, 6),
        *_range("TP", 1, 1), *_range("TP", 2, 5), *_range("TP", 3, 6),
        *_range("TP_C", 1, 5), *_range("TP_C", 2, 5), *_range("TP_C", 3, 6),
    ]
}
#: What config/tck/sample.tck.properties says where it differs (see the docstring).
SAMPLE_FILE_SLIPS = {"TP_C:01-05": "ATPC0104"}


def _scenario_tests() -> dict[str, tuple[str, set[str]]]:
    """Scenario label -> (test, ids it uses), from every conformance module.

    A module plays a scenario either in a test function whose docstring
    starts with the label (the ids: those its body mentions), or as an
    entry of its ``SCENARIOS`` table (the ids: the entry's id and those its
    title mentions).
    """
    found: dict[str, tuple[str, set[str]]] = {}

    def add(label: str, test: str, ids: set[str]) -> None:
        assert label not in found, f"{label} is played twice ({test})"
        found[label] = (test, ids)

    for module in sorted(_HERE.glob("test_*.py")):
        if module.name == Path(__file__).name:
            continue
        tree = ast.parse(module.read_text("utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                continue
            match = _LABEL.match(ast.get_docstring(node) or "")
            if not node.name.startswith("test_") or match is None or match[1] == "MET":
                continue
            add(f"{match[1]}:{match[2]}-{match[3]}", f"{module.name}::{node.name}", {
                i for constant in ast.walk(node) if isinstance(constant, ast.Constant)
                and isinstance(constant.value, str) for i in _ID.findall(constant.value)
            })
        table = importlib.import_module(f"{__package__}.{module.stem}")
        for scenario in getattr(table, "SCENARIOS", ()):
            match = _LABEL.match(f"{scenario.label}:")
            assert match is not None, scenario.label
            add(scenario.label, f"{module.name}::test_scenario[{scenario.label}]",
                {*_ID.findall(scenario.id), *_ID.findall(scenario.title)})
    return found


def test_the_table_is_the_tcks_62_scenarios() -> None:
    assert len(TCK_SCENARIOS) == 62
    assert TCK_SCENARIOS["TP_C:01-05"] == "ATPC0105"
    assert TCK_SCENARIOS["CN_C:02-06"] == "ACNC0206"
    assert TCK_SCENARIOS["CAT:01-03"] == "CAT0103"


def test_every_tck_scenario_is_played_once_and_nothing_else() -> None:
    assert sorted(_scenario_tests()) == sorted(TCK_SCENARIOS)


@pytest.mark.parametrize("scenario", sorted(TCK_SCENARIOS))
def test_the_scenario_uses_the_tcks_id(scenario: str) -> None:
    test, ids = _scenario_tests()[scenario]
    assert ids == {TCK_SCENARIOS[scenario]}, f"{test} uses {sorted(ids)}"


def test_tck_mode_seeds_every_id_the_tck_uses() -> None:
    provider_datasets = {*tck.CATALOG_DATASETS,
                         *(k for k in tck.NEGOTIATION_SCRIPTS if not k.startswith("ACNC"))}
    for scenario, expected in TCK_SCENARIOS.items():
        suite = scenario.split(":")[0]
        if suite == "CAT":
            # CAT:01-03 asks for a dataset that must stay unknown.
            assert (expected in provider_datasets) is (scenario != "CAT:01-03"), scenario
        elif suite in ("CN", "CN_C"):
            assert expected in tck.NEGOTIATION_SCRIPTS, scenario
            assert (expected in provider_datasets) is (suite == "CN"), scenario
        else:
            assert expected in tck.TRANSFER_SCRIPTS, scenario
    for scenario, published in SAMPLE_FILE_SLIPS.items():
        assert published in tck.TRANSFER_SCRIPTS, scenario
