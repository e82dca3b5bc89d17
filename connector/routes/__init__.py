"""HTTP routes: ``dsp`` (the Dataspace Protocol port) and ``management`` (the owner's API)."""

__all__: list[str] = []
