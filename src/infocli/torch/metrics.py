"""A torchmetrics-style accumulator of an information measure over an epoch.

:class:`InformationMetric` follows the ``update`` / ``compute`` / ``reset``
protocol: ``update(x, y)`` adds a batch of rows (detached, moved to the CPU),
``compute()`` estimates the measure on the rows kept and returns an
:class:`infocli.Estimate` (value, stderr, interval, verdict), ``reset()``
forgets them. Memory is bounded: at most ``max_rows`` rows are kept, chosen by
seeded reservoir sampling (Vitter's algorithm R: every row seen so far is kept
with the same probability), so an epoch of any length costs ``max_rows``
rows. While fewer rows than ``max_rows`` have been seen, every row is kept and
``compute()`` equals a one-shot estimate on the concatenated batches.

The estimators are imported when ``compute()`` runs, not on import.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import InputError, ParameterError

__all__ = ["InformationMetric"]


def _rows(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    return a.reshape(len(a), -1) if a.ndim != 1 else a


class InformationMetric:
    """Accumulate rows over batches and estimate I(X;Y) (or H(X)) on them.

    Parameters
    ----------
    measure : {"mutual_information", "entropy"}
        With ``entropy``, ``update`` takes x only.
    estimator : str
        Registry name (default ``auto``).
    max_rows : int
        Rows kept at most (reservoir sampling beyond).
    discrete_y : bool, optional
        Whether y holds class labels (default: inferred by infocli).
    unit : {"nats", "bits"}
    seed : int
        Seed of the reservoir and of the estimate.
    check : {"off", "fast", "full"}, optional
        Reliability check level.
    **params
        Estimator parameters.

    Attributes
    ----------
    n_seen : int
        Rows passed to ``update`` since the last ``reset``.
    """

    def __init__(self, measure: str = "mutual_information", *, estimator: str = "auto",
                 max_rows: int = 10000, discrete_y: bool | None = None, unit: str = "nats",
                 seed: int = 0, check: str | None = None, **params: Any) -> None:
        if measure not in ("mutual_information", "entropy"):
            raise ParameterError(f"measure={measure!r}: expected mutual_information or entropy")
        if max_rows < 2:
            raise ParameterError(f"max_rows must be >= 2, got {max_rows}")
        self.measure, self.estimator, self.max_rows = measure, estimator, int(max_rows)
        self.discrete_y, self.unit, self.seed, self.check = discrete_y, unit, int(seed), check
        self.params = params
        self.reset()

    def reset(self) -> None:
        """Forget every row (start of a new epoch)."""
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._filled = 0
        self.n_seen = 0
        self._rng = np.random.default_rng(self.seed)

    def update(self, x: Any, y: Any = None) -> None:
        """Add a batch: x (B, ...) and, for MI, y (B,) labels or (B, ...) values."""
        xb = _rows(x)
        need_y = self.measure == "mutual_information"
        if need_y != (y is not None):
            raise InputError("update(x, y) needs y for mutual_information and no y for entropy")
        yb = _rows(y) if need_y else None
        if yb is not None and len(yb) != len(xb):
            raise InputError(f"x has {len(xb)} rows but y has {len(yb)}")
        if self._x is None:
            self._x = np.empty((self.max_rows, *xb.shape[1:]), dtype=xb.dtype)
            if yb is not None:
                self._y = np.empty((self.max_rows, *yb.shape[1:]), dtype=yb.dtype)
        elif xb.shape[1:] != self._x.shape[1:]:
            raise InputError(f"x batches must keep their shape: {xb.shape[1:]} after "
                             f"{self._x.shape[1:]}")
        for i in range(len(xb)):
            # algorithm R: the t-th row seen (t from 0) replaces a random kept row with
            # probability max_rows / (t + 1)
            t = self.n_seen
            self.n_seen += 1
            if self._filled < self.max_rows:
                slot = self._filled
                self._filled += 1
            else:
                slot = int(self._rng.integers(t + 1))
                if slot >= self.max_rows:
                    continue
            self._x[slot] = xb[i]
            if yb is not None:
                self._y[slot] = yb[i]

    def kept(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The rows kept (x, y), in arrival order while nothing was replaced."""
        if self._x is None:
            raise InputError("no rows: call update() first")
        y = None if self._y is None else self._y[:self._filled]
        return self._x[:self._filled], y

    def compute(self):
        """The estimate on the rows kept, an :class:`infocli.Estimate`."""
        import infocli

        x, y = self.kept()
        common = dict(estimator=self.estimator, unit=self.unit, seed=self.seed,
                      check=self.check, params=self.params)
        if self.measure == "entropy":
            return infocli.entropy(x, **common)
        return infocli.mutual_information(x, y, discrete_y=self.discrete_y, **common)
