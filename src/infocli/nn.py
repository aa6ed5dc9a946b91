"""Deprecated: the KNIFE modules and training tools now live in :mod:`infocli.torch`.

``infocli.nn`` keeps every name it had (KNIFE densities, the EM mixture fit,
the variational bounds, critics and SSGE surrogates) for one release and
warns on import; import from :mod:`infocli.torch` instead.
"""

from __future__ import annotations

import warnings

from .torch import *  # noqa: F401,F403
from .torch import __all__  # noqa: F401
from .torch.densities import EpochFn, _check_choice, _init_means  # noqa: F401
from .torch.mixture import (_component_log_pdf, _m_step, _mixture_log_prob,  # noqa: F401
                            _mixture_marginal, _validation_score)

warnings.warn("infocli.nn is deprecated and will be removed in the next release; import "
              "from infocli.torch instead", DeprecationWarning, stacklevel=2)
