"""``python -m trust_anchor``: run the trust anchor with settings from the environment."""

from servicekit.runner import run_from_environment
from trust_anchor.app import create_app
from trust_anchor.settings import TrustAnchorSettings


def main() -> None:
    """Build settings, configure logging, serve until stopped."""
    run_from_environment(create_app, TrustAnchorSettings)


if __name__ == "__main__":
    main()
