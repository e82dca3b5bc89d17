"""The marketplace's use cases: the only code that reaches the store and other services."""

__all__: list[str] = []
