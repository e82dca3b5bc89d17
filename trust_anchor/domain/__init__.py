"""The trust anchor's domain: participants, credentials, registries. No aiohttp, no SQL."""

__all__: list[str] = []
