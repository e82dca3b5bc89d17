"""The connector: Dataspace Protocol control plane and the policy-enforcing data plane.

``connector.app.create_app(settings)`` builds it from
``connector.settings.ConnectorSettings``. The seams other parts plug into:
:mod:`connector.auth` (who calls us, what we present to peers) and
:mod:`connector.signaling` (control plane ↔ data plane). Nothing is imported
here but the version, so importing a submodule stays cheap and free of cycles.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dataspace-toolkit")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
