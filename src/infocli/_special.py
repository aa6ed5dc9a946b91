"""Special functions the light paths need, in NumPy (no SciPy import).

Importing ``scipy.special`` costs ~0.3 s of a fresh process (it loads SciPy's
array-API layer); a small ``infocli mi`` needs only the digamma function, on
neighbour counts and half-integers. Accuracy: relative error < 1e-14 against
``scipy.special.digamma`` for x >= 0.5 (tested).
"""

from __future__ import annotations

import numpy as np

_EULER = 0.57721566490153286061
#: B_2k / (2k) of the asymptotic series psi(x) ~ log x - 1/(2x) - sum B_2k/(2k x^2k)
_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)
_SHIFT = 10.0


def digamma(x):
    """psi(x) for x > 0 (scalar or array; a scalar gives a float).

    psi(x) = psi(x + m) - sum_{j<m} 1/(x + j) up to x + m >= 10, then the
    asymptotic series to x^-14 (truncation error < 1e-16 there).
    """
    a = np.asarray(x, dtype=np.float64)
    scalar = a.ndim == 0
    a = np.atleast_1d(a)
    out = np.zeros(a.shape)
    bad = ~(a > 0)
    y = np.where(bad, _SHIFT, a)
    while True:  # at most 10 rounds
        low = y < _SHIFT
        if not low.any():
            break
        out[low] -= 1.0 / y[low]
        y = np.where(low, y + 1.0, y)
    inv2 = 1.0 / (y * y)
    series = np.zeros(y.shape)
    for c in reversed(_SERIES):
        series = (series + c) * inv2
    out += np.log(y) - 0.5 / y - series
    out[bad] = np.nan
    return float(out[0]) if scalar else out


def average_ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks 1..n of each column of ``a`` (n, d) as float64 (tied values get
    the mean of their ranks), as ``scipy.stats.rankdata(method="average", axis=0)``."""
    a = np.asarray(a, dtype=np.float64)
    out = np.empty(a.shape, dtype=np.float64)
    cols = a.reshape(len(a), -1)
    flat = out.reshape(len(a), -1)
    for j in range(cols.shape[1]):
        _, inverse, counts = np.unique(cols[:, j], return_inverse=True, return_counts=True)
        avg = np.cumsum(counts) - (counts - 1) / 2.0
        flat[:, j] = avg[inverse.ravel()]
    return out


__all__ = ["digamma", "average_ranks", "_EULER"]
