"""Shared service plumbing: settings, logging, app factory, errors, database, HTTP client.

Every service stands on these pieces; none of them knows about a particular
service, and this package imports nothing else of ours. Import what you need
from its module (``servicekit.errors``, ``servicekit.app``...): the package
itself re-exports nothing, so importing one light module (the clock, the
errors) does not load aiohttp, SQLAlchemy and Prometheus with it.
"""

__all__: list[str] = []
