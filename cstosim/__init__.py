"""cstosim: agent-based simulation of military-alliance cohesion, exit and fracture."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``__version__``, read from the installed metadata only when asked for (start-up time)."""
    if name != "__version__":
        raise AttributeError(f"module 'cstosim' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cstosim")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+unknown"
