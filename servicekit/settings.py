"""The settings base every service extends.

Values come, strongest first, from: keyword arguments (command-line flags),
environment variables with the service's prefix (``TA_PORT``,
``CONNECTOR_DATABASE_URL``; nested fields with ``__``), a TOML file (named by
``<PREFIX>CONFIG_FILE`` or the ``config_file`` keyword), and the defaults.
Settings are built once in ``__main__`` and passed into ``create_app``.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from servicekit.console.config import ConsoleSettings

__all__ = ["ServiceSettings"]

# The TOML file named by ``ServiceSettings.load(config_file=...)`` for the
# duration of that call; a ContextVar keeps concurrent loads apart.
_config_file: ContextVar[Path | None] = ContextVar("config_file", default=None)


class ServiceSettings(BaseSettings):
    """What every service needs: where to listen, where to keep state, how to log."""

    model_config = SettingsConfigDict(
        env_prefix="DATASPACE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    #: The role written to ``service.json`` (``trust-anchor``, ``provider``...).
    service_role: ClassVar[str] = "service"
    #: The default port of the service (the command-line contract's table).
    default_port: ClassVar[int] = 8000

    name: str = "service"
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    public_url: str | None = Field(
        default=None,
        description="The URL other parties reach this service at; defaults to http://host:port.",
    )
    data_dir: Path = Path(".dataspace")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to a SQLite file under data_dir.",
    )
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL schema holding this service's tables (created if missing).",
    )
    dev: bool = Field(
        default=False, description="Allow plain HTTP and did:web on loopback (development only)."
    )
    log_level: str = "INFO"
    log_json: bool | None = Field(
        default=None, description="JSON log lines; by default when stderr is not a terminal."
    )
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings,
                                     description="The web console's sign-in and sessions.")
    key_passphrase: str | None = Field(
        default=None,
        repr=False,
        description="Passphrase that encrypts private keys at rest.",
    )

    @model_validator(mode="after")
    def _default_port(self) -> Self:
        if self.port == 0 and "port" not in self.model_fields_set:
            self.port = self.default_port
        return self

    @property
    def base_url(self) -> str:
        """The externally visible base URL, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.port}"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to ``<data_dir>/<name>.sqlite3``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.name}.sqlite3').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags, then environment, then the TOML file, then defaults."""
        prefix = str(settings_cls.model_config.get("env_prefix", ""))
        toml_path = _config_file.get() or os.environ.get(f"{prefix}CONFIG_FILE")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Self:
        """Build settings from flags (``overrides`` that are not None) and a TOML file.

        A TOML file given here is read below flags and environment variables,
        exactly as one named by ``<PREFIX>CONFIG_FILE``.
        """
        flags = {k: v for k, v in overrides.items() if v is not None}
        if config_file is None:
            return cls(**flags)
        token = _config_file.set(config_file)
        try:
            return cls(**flags)
        finally:
            _config_file.reset(token)
