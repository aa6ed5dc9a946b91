"""Preparing continuous columns for kNN estimators: scaling and ties.

kNN estimators need (a) columns on comparable scales, since the max-norm
neighbourhood mixes them, and (b) no zero distances, since they take log ε.

* Scaling: each column is divided by its standard deviation (and centred).
  MI estimates are then scale-free; entropy estimates add back
  ``sum(log sd)`` (h(aX) = h(X) + log|a|), so they stay in the data's units.
* Ties: a column with repeated values is treated as a quantised continuous
  variable and *dequantised*: seeded uniform noise of width equal to the
  column's smallest non-zero gap between distinct values is added to every
  value of that column. This removes zero distances without changing the
  grid-scale structure. Every jittered column is reported in the warnings,
  by its column name where the input has names, with the width in the
  data's units (the gap of the column as given, before scaling).
  ``ties="error"`` refuses tied data instead.
"""

from __future__ import annotations

import numpy as np

from ..errors import Hint, InputError
from ._common import Context


def prepare(
    x: np.ndarray, var: str, ctx: Context, *, standardize: bool, ties: str
) -> tuple[np.ndarray, float]:
    """Return (prepared copy of x, sum of log scales removed).

    Parameters
    ----------
    x : ndarray, shape (n_samples, n_dims), float64
    var : "x", "y" or "z" (used in messages via ``ctx.name``)
    """
    x = np.array(x, dtype=np.float64, copy=True, order="C")
    sd = x.std(axis=0)
    name = ctx.name(var)
    const = np.flatnonzero(sd == 0)
    if const.size == 1:
        j = int(const[0])
        raise InputError(
            f"{name}: {ctx.column(var, j)} is constant ({float(x[0, j]):g} in every row); a constant "
            "has no differential entropy", hint=Hint("drop_constant", var)
        )
    if const.size:  # every one of them in one message, by name
        shown = ", ".join(f"{ctx.column(var, int(j)).removeprefix('column ')} "
                          f"(= {float(x[0, j]):g})" for j in const[:20])
        raise InputError(
            f"{name}: {const.size} constant columns: {shown}"
            f"{', ...' if const.size > 20 else ''}; a constant has no differential entropy",
            hint=Hint("drop_constant", var)
        )
    log_scale = 0.0
    scale = np.ones(x.shape[1])
    if standardize:
        x -= x.mean(axis=0)
        x /= sd
        log_scale = float(np.log(sd).sum())
        scale = sd
    _dequantise(x, var, ctx, ties, scale)
    return x, log_scale


def _dequantise(x: np.ndarray, var: str, ctx: Context, ties: str,
                scale: np.ndarray) -> None:
    """Jitter tied columns in place; ``scale`` converts x's units back to the data's."""
    n = x.shape[0]
    name = ctx.name(var)
    for j in range(x.shape[1]):
        s = np.sort(x[:, j])
        gaps = np.diff(s)
        n_tied = int(np.count_nonzero(gaps == 0))
        if n_tied == 0:
            continue
        if ties == "error":
            raise InputError(
                f"{name}: {ctx.column(var, j)} has {n_tied} tied values (repeated values make "
                "kNN distances zero); use --param ties=jitter to dequantise them"
            )
        width = float(gaps[gaps > 0].min())
        x[:, j] += (ctx.rng.random(n) - 0.5) * width
        data_width = width * float(scale[j])  # in the units of the column as given
        raw = (getattr(ctx, "raw_gaps", None) or {}).get(var)
        scored = raw is not None and j < len(raw) and raw[j] is not None
        if scored:  # x holds normal scores: say the width in the column's own units
            data_width = float(raw[j])
        ctx.details.setdefault("ties", {})[f"{var}[{j}]"] = {"repeated": n_tied,
                                                            "width": data_width}
        ctx.warn(
            f"{name}: {ctx.column(var, j)} has {n_tied} repeated values (of {n}); added "
            f"seeded uniform jitter of width {data_width:.3g} (the smallest gap between its "
            "distinct values, in the column's units"
            + (", applied to its normal scores" if scored else "") + ") to make it continuous"
        )
