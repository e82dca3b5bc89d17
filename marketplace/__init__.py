"""The marketplace: data products, pricing plans, orders, payments and usage billing."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dataspace-toolkit")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
