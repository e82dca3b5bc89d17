"""The provider's pages of the connector console: what a municipality publishing data uses.

- ``/`` the dashboard (:mod:`~connector.pages.provider_dashboard`, served by the
  management root for a signed-in browser);
- ``/datasets``, ``/datasets/new``, ``/datasets/{id}`` with the policy form
  (:mod:`~connector.pages.provider_datasets`, :mod:`~connector.pages.provider_policy`);
- ``/requests``, ``/agreements``, ``/transfers``
  (:mod:`~connector.pages.provider_requests`);
- ``/audit``, ``/audit.csv``, ``/membership`` (:mod:`~connector.pages.provider_audit`).

Viewers and legal advisers read; data stewards, domain leads and data owners
keep datasets; data owners approve the requests for their own datasets
(:mod:`connector.services.approval_rule`); administrators do everything.
"""

from __future__ import annotations

from connector.pages import provider_audit, provider_datasets, provider_requests
from connector.pages.provider_common import routes

__all__ = ["routes"]

# the modules add their pages to ``routes`` when imported
_PAGES = (provider_audit, provider_datasets, provider_requests)
