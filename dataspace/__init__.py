"""The ``dataspace`` command line and the local data space."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dataspace-toolkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
