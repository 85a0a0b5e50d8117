"""cstosim: agent-based simulation of military-alliance cohesion, exit and fracture."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cstosim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
