"""The local data space: every service as a supervised process on loopback (`dataspace up`)."""

__all__: list[str] = []
