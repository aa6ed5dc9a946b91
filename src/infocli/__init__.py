"""infocli: differential entropy, conditional entropy and mutual information from data.

>>> import infocli
>>> est = infocli.mutual_information(x, y)            # KSG by default
>>> est.value, est.stderr, est.unit

Functions return an :class:`Estimate`; they never print. Heavy libraries are
imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .errors import (
    DeviceError,
    EstimationError,
    InfocliError,
    InputError,
    ParameterError,
)
from .result import Estimate

if TYPE_CHECKING:  # pragma: no cover
    from .api import (conditional_mutual_information, dse, dse_spectrum, dsmi, entropy,
                      mutual_information)
    from .matrix import mi_matrix
    from .screening import feature_mi, rank_features
    from .screening import feature_mi, rank_features

__all__ = [
    "__version__",
    "Estimate",
    "InfocliError",
    "InputError",
    "ParameterError",
    "DeviceError",
    "EstimationError",
    "entropy",
    "mutual_information",
    "conditional_mutual_information",
    "dse",
    "dsmi",
    "dse_spectrum",
    "available_estimators",
    "mi_matrix",
    "feature_mi",
    "rank_features",
]


def available_estimators(measure: str | None = None) -> list[str]:
    """Names of registered estimators (optionally only those estimating ``measure``)."""
    from . import registry

    if measure is None:
        return [s.name for s in registry.all_specs()]
    return registry.names_for(measure)


def __getattr__(name: str):
    if name in ("entropy", "mutual_information", "conditional_mutual_information", "dse",
                "dsmi", "dse_spectrum"):
        from . import api

        return getattr(api, name)
    if name in ("feature_mi", "rank_features"):
        from . import screening

        return getattr(screening, name)
    if name == "mi_matrix":
        from .matrix import mi_matrix

        return mi_matrix
    raise AttributeError(f"module 'infocli' has no attribute {name!r}")
