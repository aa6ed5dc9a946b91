"""Integrations with the tools researchers train with: Lightning, TensorBoard, W&B, torchmetrics.

None of them is a dependency of infocli: each is imported when its adapter is
made, and a missing one raises an :class:`~infocli.errors.InfocliError` naming
the package to install (``pip install "infocli[train]"`` installs all four).

* :func:`log_records` - send :class:`~infocli.torch.Tracker` records to a
  logger: a TensorBoard ``SummaryWriter``, a W&B run, a Lightning logger or any
  callable. A tracker does it itself with ``Tracker(..., loggers=[...])``.
* :func:`lightning_callback` - a Lightning ``Callback`` that steps a tracker at
  the end of every training epoch, logs its records to the trainer's loggers and
  closes it at the end of training.
* :func:`torchmetrics_metric` - :class:`~infocli.torch.InformationMetric` as a
  ``torchmetrics.Metric``, usable inside a ``MetricCollection``.

Scalars are named ``<prefix>/<measure>/<layer>`` (value), with ``.../lo`` and
``.../hi`` for the 95 % interval when there is one and ``.../reliable`` (1 or 0)
when the check ran; the step is the epoch.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from ..errors import InfocliError

__all__ = ["log_records", "record_scalars", "lightning_callback", "torchmetrics_metric"]


def _require(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InfocliError(f"this needs the {package!r} package: pip install {package} "
                           f"(or pip install \"infocli[train]\")") from exc


def record_scalars(record: dict[str, Any], prefix: str = "infocli") -> dict[str, float]:
    """The scalars of one tracker record: value, interval ends, verdict (finite only)."""
    base = f"{prefix}/{record['measure']}/{record['layer']}"
    out = {}
    for key, name in (("value", base), ("lo", f"{base}/lo"), ("hi", f"{base}/hi")):
        v = record.get(key)
        if v is not None and math.isfinite(v):
            out[name] = float(v)
    if record.get("reliable") is not None:
        out[f"{base}/reliable"] = float(bool(record["reliable"]))
    return out


def log_records(records: Iterable[dict[str, Any]], logger: Any, *,
                prefix: str = "infocli") -> None:
    """Send tracker records to ``logger``, one step per epoch.

    ``logger`` is one of:

    * a TensorBoard ``SummaryWriter`` (anything with ``add_scalar``):
      ``add_scalar(name, value, global_step=epoch)``;
    * a Lightning logger (``log_metrics``): ``log_metrics(scalars, step=epoch)``;
    * a W&B run or the ``wandb`` module (``log``): ``log({**scalars, "epoch":
      epoch})`` without a step, so W&B's own step counter (which training may
      advance per batch) stays monotonic; plot against ``epoch``;
    * any other callable: called with the list of records.
    """
    records = list(records)
    by_epoch: dict[int, dict[str, float]] = {}
    for r in records:
        by_epoch.setdefault(int(r["epoch"]), {}).update(record_scalars(r, prefix))
    if hasattr(logger, "add_scalar"):
        for epoch, scalars in by_epoch.items():
            for name, v in scalars.items():
                logger.add_scalar(name, v, global_step=epoch)
    elif hasattr(logger, "log_metrics"):
        for epoch, scalars in by_epoch.items():
            logger.log_metrics(scalars, step=epoch)
    elif hasattr(logger, "log") and callable(logger.log):
        for epoch, scalars in by_epoch.items():
            logger.log({**scalars, "epoch": epoch})
    elif callable(logger):
        logger(records)
    else:
        raise InfocliError(f"cannot log to a {type(logger).__name__}: expected a SummaryWriter "
                           "(add_scalar), a Lightning logger (log_metrics), a W&B run (log) "
                           "or a callable taking the records")


def lightning_callback(tracker: Any, *, log: bool = True, prefix: str = "infocli",
                       close: bool = True):
    """A Lightning ``Callback`` that runs ``tracker`` at the end of each training epoch.

    Parameters
    ----------
    tracker : infocli.torch.Tracker
        Made on the ``LightningModule`` (or a submodule) before ``fit``.
    log : bool
        Also send the new records to every logger of the trainer
        (:func:`log_records`).
    close : bool
        Measure the last epoch (``force=True``) and remove the tracker's hooks
        when training ends.

    Works with ``lightning`` (``lightning.pytorch``) or the older
    ``pytorch_lightning`` package, whichever is installed.
    """
    try:
        from lightning.pytorch import Callback
    except ImportError:
        Callback = _require("pytorch_lightning", "lightning").Callback

    class InformationTrackerCallback(Callback):
        def __init__(self) -> None:
            self.tracker = tracker
            self._last_epoch: int | None = None

        def _log(self, trainer: Any, records: list[dict[str, Any]]) -> None:
            if log and records:
                for logger in trainer.loggers:
                    log_records(records, logger, prefix=prefix)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            epoch = int(trainer.current_epoch)
            self._last_epoch = epoch
            self._log(trainer, self.tracker.step(epoch))

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            if not close:
                return
            last = self._last_epoch
            if last is not None and last not in self.tracker.measured_epochs:
                self._log(trainer, self.tracker.step(last, force=True))
            self.tracker.close()

    return InformationTrackerCallback()


def torchmetrics_metric(measure: str = "mutual_information", **kwargs: Any):
    """:class:`~infocli.torch.InformationMetric` as a ``torchmetrics.Metric``.

    Same parameters as ``InformationMetric``; ``update(x, y)`` and ``reset()``
    behave the same. ``compute()`` returns the value as a 0-d float64 tensor, as
    torchmetrics and Lightning's ``log`` expect (a ``MetricCollection`` cannot
    carry other objects), and keeps the full :class:`infocli.Estimate` (stderr,
    interval, verdict, warnings) in the metric's ``estimate`` attribute.
    Calling the metric (``forward``) only accumulates. Rows are kept in the process that sees them (a
    seeded reservoir of ``max_rows``): in distributed training, call it on one
    rank or gather the features first.
    """
    tm = _require("torchmetrics", "torchmetrics")
    from .metrics import InformationMetric

    inner = InformationMetric(measure, **kwargs)

    class InformationTorchMetric(tm.Metric):
        full_state_update = False
        higher_is_better = None
        is_differentiable = False

        def __init__(self) -> None:
            super().__init__()
            self.inner = inner
            self.estimate = None

        def update(self, x: Any, y: Any = None) -> None:  # type: ignore[override]
            self.inner.update(x, y)

        def forward(self, x: Any, y: Any = None) -> None:  # type: ignore[override]
            # torchmetrics' forward computes a per-batch value by resetting and
            # merging registered states; the reservoir is not one, so a call only
            # accumulates (a per-batch MI of a few rows would mean little anyway)
            self.update(x, y)

        def compute(self):  # type: ignore[override]
            import torch

            self.estimate = self.inner.compute()
            return torch.tensor(self.estimate.value, dtype=torch.float64)

        def reset(self) -> None:
            super().reset()
            self.inner.reset()

    return InformationTorchMetric()
