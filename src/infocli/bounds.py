"""Deprecated: the variational bounds, critics and SSGE surrogates now live in
:mod:`infocli.torch` (:mod:`~infocli.torch.bounds`, :mod:`~infocli.torch.critics`,
:mod:`~infocli.torch.gradients`).

``infocli.bounds`` keeps every name it had for one release and warns on import.
"""

from __future__ import annotations

import warnings

from .torch.bounds import *  # noqa: F401,F403
from .torch.bounds import _canonical, _check_scores, _diag_offdiag, _log_mean_exp  # noqa: F401
from .torch.critics import *  # noqa: F401,F403
from .torch.critics import _mlp  # noqa: F401
from .torch.gradients import *  # noqa: F401,F403
from .torch.gradients import _stein_check  # noqa: F401
from .torch import bounds as _b, critics as _c, gradients as _g

__all__ = [*_b.__all__, *_c.__all__, *_g.__all__]

warnings.warn("infocli.bounds is deprecated and will be removed in the next release; import "
              "from infocli.torch instead", DeprecationWarning, stacklevel=2)
