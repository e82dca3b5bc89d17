"""The connector: Dataspace Protocol control plane and the policy-enforcing data plane.

``create_app(settings)`` builds it; ``ConnectorSettings`` configures it. The
seams other parts plug into: :mod:`connector.auth` (who calls us, what we
present) and :mod:`connector.signaling` (control plane ↔ data plane).
"""

from connector.app import create_app
from connector.settings import ConnectorSettings

__all__ = ["ConnectorSettings", "create_app"]
