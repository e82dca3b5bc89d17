"""The owner's management API (``/api/v1``), served on the management port only."""

__all__: list[str] = []
