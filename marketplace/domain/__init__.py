"""The marketplace's domain: TM Forum resources, states, pricing and rating; no I/O."""

__all__: list[str] = []
