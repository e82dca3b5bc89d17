"""``python -m trust_anchor``: run the trust anchor with settings from the environment."""

from servicekit.logging import configure_logging
from servicekit.runner import run_service
from trust_anchor.app import create_app
from trust_anchor.settings import TrustAnchorSettings


def main() -> None:
    """Build settings, configure logging, serve until stopped."""
    settings = TrustAnchorSettings()
    configure_logging(settings.log_level, json=settings.log_json, service=settings.name)
    run_service(create_app, settings)


if __name__ == "__main__":
    main()
