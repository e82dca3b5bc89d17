"""``python -m connector.dataplane [--workers N]``: the data plane alone (connector settings)."""

from __future__ import annotations

import argparse

from connector.dataplane.app import create_data_plane_app
from connector.settings import ConnectorSettings
from servicekit.logging import configure_logging
from servicekit.runner import run_service


def main() -> None:
    """Build settings once, configure logging, serve until a stop signal."""
    parser = argparse.ArgumentParser(prog="python -m connector.dataplane")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing the port (SO_REUSEPORT)")
    args = parser.parse_args()
    settings = ConnectorSettings()
    configure_logging(settings.log_level, json=settings.log_json, service=settings.name)
    run_service(create_data_plane_app, settings, workers=max(1, args.workers))


if __name__ == "__main__":
    main()
