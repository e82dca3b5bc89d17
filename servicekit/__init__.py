"""Shared service plumbing: settings, logging, app factory, errors, database, HTTP client."""

__all__: list[str] = []
