"""``python -m connector``: run the connector with settings from the environment and TOML."""

from __future__ import annotations

from connector.app import create_app
from connector.settings import ConnectorSettings
from servicekit.runner import run_from_environment


def main() -> None:
    """Build settings once, configure logging, serve until a stop signal."""
    run_from_environment(create_app, ConnectorSettings)


if __name__ == "__main__":
    main()
