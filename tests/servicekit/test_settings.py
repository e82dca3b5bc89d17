"""Settings: flags beat environment beat TOML beat defaults."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", env_nested_delimiter="__",
                                      extra="forbid")
    default_port: ClassVar[int] = 8620
    name: str = "demo"


def test_defaults_and_derived_values(tmp_path: Path) -> None:
    settings = DemoSettings(data_dir=tmp_path)
    assert settings.port == 8620
    assert settings.base_url == "http://127.0.0.1:8620"
    assert settings.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/demo.sqlite3"


def test_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "demo.toml"
    toml.write_text('port = 9001\nlog_level = "DEBUG"\nname = "from-toml"\n')
    monkeypatch.setenv("DEMO_PORT", "9002")
    settings = DemoSettings.load(config_file=toml, name=None)
    assert settings.name == "from-toml"  # only the TOML file sets it
    assert settings.log_level == "DEBUG"
    assert settings.port == 9002  # environment beats TOML
    settings = DemoSettings.load(config_file=toml, port=9003)
    assert settings.port == 9003  # flags beat both


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "demo.toml"
    toml.write_text("dev = true\n")
    monkeypatch.setenv("DEMO_CONFIG_FILE", str(toml))
    assert DemoSettings().dev is True


def test_unknown_and_invalid_settings_fail_fast(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        DemoSettings(port=70000)
    toml = tmp_path / "bad.toml"
    toml.write_text("colour = 'blue'\n")
    with pytest.raises(ValidationError):
        DemoSettings.load(config_file=toml)


def test_passphrase_is_not_in_repr() -> None:
    settings = DemoSettings(key_passphrase="correct horse")
    assert "correct horse" not in repr(settings)
