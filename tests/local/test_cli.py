"""The ``dataspace`` command's plumbing: quick start-up, one short help per command."""

from __future__ import annotations

import importlib
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dataspace.cli import COMMANDS, _short_help, cli
from dataspace.cli.connector import COMMANDS as CONNECTOR_COMMANDS
from dataspace.cli.connector import connector
from dataspace.cli.trust_anchor import COMMANDS as TRUST_ANCHOR_COMMANDS
from dataspace.cli.trust_anchor import trust_anchor
from tests.conftest import free_port
from tests.local.conftest import DATASPACE

#: What the sub-commands need and the bare group must not import (about a second).
HEAVY = ("aiohttp", "sqlalchemy", "pydantic", "pydantic_settings", "connector",
         "trust_anchor", "identity", "servicekit", "rich")


def _imported_after(code: str) -> list[str]:
    """The heavy top-level modules a fresh interpreter holds after running ``code``."""
    loaded = "{m.split('.')[0] for m in sys.modules}"
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted({loaded} & {set(HEAVY)!r})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=60)
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_command_imports_no_service_or_web_library() -> None:
    assert _imported_after("import dataspace.cli") == []


def test_help_and_version_import_no_sub_command() -> None:
    run = ("from dataspace.cli import cli\n"
           "for args in (['--help'], ['version'], ['--version']):\n"
           "    try:\n"
           "        cli(args, prog_name='dataspace')\n"
           "    except SystemExit as stop:\n"
           "        assert stop.code == 0, (args, stop.code)")
    assert _imported_after(run) == []


#: Each lazy group: the words that reach it, the group, and its table of commands.
LAZY_GROUPS = [([], cli, COMMANDS), (["connector"], connector, CONNECTOR_COMMANDS),
               (["trust-anchor"], trust_anchor, TRUST_ANCHOR_COMMANDS)]


@pytest.mark.parametrize(("words", "group", "table"), LAZY_GROUPS,
                         ids=["dataspace", "connector", "trust-anchor"])
def test_help_lists_every_command_with_its_own_short_help(
        words: list[str], group: click.Group, table: dict[str, tuple[str, str]]) -> None:
    result = CliRunner().invoke(cli, [*words, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for name, (module, short) in table.items():
        importlib.import_module(module)
        command = group.commands[name]  # the module registered the command it is listed for
        assert command.get_short_help_str(200) == _short_help(short, 200), name
        assert re.search(rf"^  {re.escape(name)} +{re.escape(short)}$", result.output, re.M)


@pytest.mark.parametrize("words", [
    ["connector"], ["connector", "dataset", "list"], ["connector", "credentials", "list"],
    ["connector", "pull"], ["connector", "audit", "verify"], ["connector", "requests"],
    ["operator"], ["credential"], ["participant"], ["keys"], ["did"], ["policy"], ["db"],
    ["up"], ["demo"], ["trust-anchor"],
], ids=" ".join)
def test_a_sub_command_help_imports_no_service_or_web_library(words: list[str]) -> None:
    # The libraries load inside the functions that use them: a newcomer's
    # `--help` answers at once, not after a second of imports.
    run = ("from dataspace.cli import cli\n"
           "try:\n"
           f"    cli({[*words, '--help']!r}, prog_name='dataspace')\n"
           "except SystemExit as stop:\n"
           "    assert stop.code == 0, stop.code")
    assert _imported_after(run) == []


def test_a_lazy_command_runs() -> None:
    result = CliRunner().invoke(cli, ["policy", "--help"])
    assert result.exit_code == 0, result.output
    assert "validate" in result.output


# --- a port that is taken ---------------------------------------------------------------


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dataspace", *args], capture_output=True,
                          text=True, timeout=60)


def test_serve_on_a_taken_port_exits_1_with_one_line(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _serve("trust-anchor", "serve", "--dev", "--port", str(port),
                        "--data-dir", str(tmp_path / "ta"))
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"error: port {port} is in use; use another --port\n"
    assert not (tmp_path / "ta" / "service.json").exists()


def test_connector_serve_checks_its_management_port_too(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _serve("connector", "serve", "--dev", "--port", str(free_port()),
                        "--management-port", str(port), "--data-dir", str(tmp_path / "c"))
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"error: port {port} is in use; use another --management-port\n"


def test_every_command_module_is_listed() -> None:
    # A module that adds a top-level command must name it in COMMANDS, or the
    # lazy group would never import it and `dataspace --help` would not list it.
    import pkgutil

    import dataspace.cli as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"dataspace.cli.{module.name}")
    assert set(cli.commands) == {*COMMANDS, "version"}


@pytest.mark.parametrize(("group", "table"), [(connector, CONNECTOR_COMMANDS),
                                               (trust_anchor, TRUST_ANCHOR_COMMANDS)],
                         ids=["connector", "trust-anchor"])
def test_every_module_of_a_command_group_is_listed(
        group: click.Group, table: dict[str, tuple[str, str]]) -> None:
    import pkgutil

    assert group.callback is not None
    package = importlib.import_module(group.callback.__module__)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    assert set(group.commands) == set(table)


def test_the_key_types_offered_are_identity_s() -> None:
    from dataspace.cli.keys import KEY_TYPES
    from identity import KeyType

    assert tuple(t.value for t in KeyType) == KEY_TYPES


def test_a_table_shows_its_cells_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    from dataspace.cli.common import print_table

    print_table(("ID", "TITLE"), [("did:key:z6Mk1", "[b]Air[/b] :smile:"), ("urn:x", None)])
    header, first, second = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "TITLE"]
    assert first.split() == ["did:key:z6Mk1", "[b]Air[/b]", ":smile:"]
    assert second.split() == ["urn:x"]


@pytest.mark.parametrize("service", ["trust-anchor", "connector", "marketplace"])
def test_db_upgrade_migrates_each_service_to_its_newest_revision(
        service: str, tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    package = {"trust-anchor": "trust_anchor"}.get(service, service)
    store = importlib.import_module(f"{package}.store")
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    result = subprocess.run([*DATASPACE, "db", "upgrade", service, "--database-url", url],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    head = ScriptDirectory(str(store.MIGRATIONS)).get_current_head()
    assert result.stdout == f"{service}: database at revision {head}\n"
    unknown = subprocess.run([*DATASPACE, "db", "upgrade", "nothing", "--database-url", url],
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2
