"""ptmscope: map and security-assess the supply chain of pre-trained ML models."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ptmscope")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
