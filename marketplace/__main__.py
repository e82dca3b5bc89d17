"""``python -m marketplace``: run the marketplace with settings from the environment."""

from marketplace.app import create_app
from marketplace.settings import MarketplaceSettings
from servicekit.runner import run_from_environment


def main() -> None:
    """Build settings, configure logging, serve until stopped."""
    run_from_environment(create_app, MarketplaceSettings)


if __name__ == "__main__":
    main()
