"""``python -m marketplace``: run the marketplace with settings from the environment."""

from marketplace.app import create_app
from marketplace.settings import MarketplaceSettings
from servicekit.logging import configure_logging
from servicekit.runner import run_service


def main() -> None:
    """Build settings, configure logging, serve until stopped."""
    settings = MarketplaceSettings()
    configure_logging(settings.log_level, json=settings.log_json, service=settings.name)
    run_service(create_app, settings)


if __name__ == "__main__":
    main()
