"""Use cases of the trust anchor, between its HTTP routes and its store."""
