"""The training wing: information measures as torch modules and losses.

One module per idea, all device-agnostic torch code:

* :mod:`infocli.torch.densities` - KNIFE densities (``KNIFE``,
  ``ClassConditionalKNIFE``, ``ConditionalKNIFE``), the ``KNIFEMI`` regulariser
  and ``fit_density``;
* :mod:`infocli.torch.mixture` - Gaussian mixtures by EM (``fit_mixture``,
  ``select_mixture``), the capacity search the ``knife`` estimator starts from;
* :mod:`infocli.torch.bounds` - variational MI bounds on a critic score matrix
  and the ReMINE penalty (``objective``);
* :mod:`infocli.torch.critics` - ready critics (``ConcatCritic``,
  ``SeparableCritic``);
* :mod:`infocli.torch.gradients` - the spectral Stein score estimator and the
  EGE / MIGE gradient surrogates;
* :mod:`infocli.torch.tracking` - ``Tracker``: per-epoch measures of a model's
  layers on a fixed probe set, written as records;
* :mod:`infocli.torch.metrics` - ``InformationMetric``: update / compute /
  reset over an epoch with bounded memory;
* :mod:`infocli.torch.integrations` - a Lightning callback, tracker records to
  TensorBoard / W&B / Lightning loggers, and the metric as a torchmetrics
  ``Metric`` (each tool imported only when its adapter is made).

Every public name is importable from ``infocli.torch`` itself. The estimators
(``knife``, ``mine``, ...) import from here; on import this package loads only
torch, NumPy and :mod:`infocli.errors` - never the command line, the batch
engine or the bench; tracking and metrics call the public estimation functions
(:func:`infocli.mutual_information`, ...) when they measure. (Inside it, ``import torch`` is absolute and means
PyTorch.) ``infocli.nn`` and ``infocli.bounds`` are the former homes; they
still work for one release, with a ``DeprecationWarning``.
"""

from __future__ import annotations

from .bounds import *  # noqa: F401,F403
from .bounds import __all__ as _bounds_all
from .critics import *  # noqa: F401,F403
from .critics import __all__ as _critics_all
from .densities import *  # noqa: F401,F403
from .densities import __all__ as _densities_all
from .gradients import *  # noqa: F401,F403
from .gradients import __all__ as _gradients_all
from .integrations import *  # noqa: F401,F403
from .integrations import __all__ as _integrations_all
from .metrics import *  # noqa: F401,F403
from .metrics import __all__ as _metrics_all
from .mixture import *  # noqa: F401,F403
from .mixture import __all__ as _mixture_all
from .tracking import *  # noqa: F401,F403
from .tracking import __all__ as _tracking_all

__all__ = [*_densities_all, *_mixture_all, *_bounds_all, *_critics_all, *_gradients_all,
           *_tracking_all, *_metrics_all, *_integrations_all]
