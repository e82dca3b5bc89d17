"""Trust primitives: keys, DIDs, verifiable credentials and presentations, tokens, status lists."""

__all__: list[str] = []
