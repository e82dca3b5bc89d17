"""The marketplace: data products, pricing plans, orders, payments and usage billing."""

__all__: list[str] = []
