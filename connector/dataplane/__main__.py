"""``python -m connector.dataplane [--workers N]``: the data plane alone (connector settings)."""

from __future__ import annotations

import argparse

from connector.dataplane.app import create_data_plane_app
from connector.settings import ConnectorSettings
from servicekit.runner import run_from_environment


def main() -> None:
    """Build settings once, configure logging, serve until a stop signal."""
    parser = argparse.ArgumentParser(prog="python -m connector.dataplane")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes sharing the port (SO_REUSEPORT)")
    args = parser.parse_args()
    run_from_environment(create_data_plane_app, ConnectorSettings, workers=max(1, args.workers))


if __name__ == "__main__":
    main()
