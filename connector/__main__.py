"""``python -m connector``: run the connector with settings from the environment and TOML."""

from __future__ import annotations

from connector.app import create_app
from connector.settings import ConnectorSettings
from servicekit.logging import configure_logging
from servicekit.runner import run_service


def main() -> None:
    """Build settings once, configure logging, serve until a stop signal."""
    settings = ConnectorSettings()
    configure_logging(settings.log_level, json=settings.log_json, service=settings.name)
    run_service(create_app, settings)


if __name__ == "__main__":
    main()
