"""The trust anchor: participant onboarding, credential issuance, registries, status lists."""

__all__: list[str] = []
