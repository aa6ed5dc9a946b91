"""Linear codes of wide variables for ``auto``: principal components whose number
is chosen by the information they keep on held-out rows.

A layer's activations, an embedding or an image has hundreds to thousands of
columns, while its dependence on another variable usually lives in a few
directions. The Gaussian plug-in on all columns is then mostly noise (its
variance grows like d_x d_y / n) and, when a covariance is nearly singular,
meaningless. Principal components keep the directions of largest variance, but
the variance they explain says nothing about the information they keep. So the
number of components r is chosen by that information, measured honestly:

1. the rows are split in two halves (seeded);
2. on the first half: principal components of each side, then the canonical
   directions of the first r codes of x and of y (r = 1, 2, 3, 4, 6, 8, ...);
3. on the second half: the correlation rho_j of each pair of canonical
   variates, directions fixed, and the Gaussian information
   -1/2 sum_j log(1 - rho_j^2) they carry. Directions fitted on other rows
   cannot overfit these: the curve rises while components add information and
   flattens (or falls) once they add only noise;
4. r is the smallest value whose held-out information is within one standard
   error of the best (the "one standard error" rule of cross-validation).

The codes are then refitted on all rows. By data processing,
I(X; Y) >= I(P_r X; Q_r Y) for any fixed projections, so MI on the codes is a
lower bound unless the codes are sufficient; ``plateau`` records whether the
held-out curve had flattened by the largest r tried (no linear direction left
that adds information), the evidence that they are.

Constant columns (image borders, dead units) are dropped first: they carry
no information and make every covariance singular.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: a side is "wide" from this many columns on: the codes are considered for it
WIDE = 32
#: component counts tried (each capped by the side's columns and the rows)
GRID = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
#: rows per component needed in the training half (keeps the CCA well determined)
ROWS_PER_DIM = 20
_TAG = 0x7264  # "rd": sub-seeds apart from every other stream


def varying(a: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``a`` that are not constant."""
    return np.flatnonzero(a.std(axis=0) > 0)


def standardise(a: np.ndarray) -> np.ndarray:
    """The non-constant columns of ``a`` (float64) at zero mean and unit variance
    (constant columns carry no information)."""
    a = np.asarray(a, dtype=np.float64)
    a = a[:, varying(a)]
    return (a - a.mean(axis=0)) / a.std(axis=0)


#: power iterations of the randomised range finder (Halko, Martinsson & Tropp 2011)
_POWER = 4
_OVERSAMPLE = 10


def _pcs(a: np.ndarray, r: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean, top-r principal axes as columns) of ``a``.

    Exact (an eigendecomposition of the smaller Gram matrix) when r is a sizeable
    share of the columns; otherwise by randomised subspace iteration (Halko,
    Martinsson & Tropp 2011, alg. 4.4: r + 10 directions, 4 power iterations with
    re-orthonormalisation), O(n d r) instead of O(n d^2 + d^3): 1,024 columns and
    5,000 rows in a fraction of a second. Codes are fixed projections either way, so
    the data-processing bound holds whatever axes are found; the subspace iteration
    finds the leading ones to working precision when the spectrum has a gap.
    """
    mean = a.mean(axis=0)
    c = a - mean
    n, d = c.shape
    k = r + _OVERSAMPLE
    if 2 * k >= min(n, d):
        if d <= n:
            w, v = np.linalg.eigh(c.T @ c)
            return mean, v[:, ::-1][:, :r]
        w, u = np.linalg.eigh(c @ c.T)
        w, u = w[::-1][:r], u[:, ::-1][:, :r]
        return mean, (c.T @ u) / np.sqrt(np.maximum(w, 1e-300))
    q = c @ np.random.default_rng([seed, _TAG, 1]).standard_normal((d, k))
    q = np.linalg.qr(q)[0]
    for _ in range(_POWER):
        q = np.linalg.qr(c.T @ q)[0]
        q = np.linalg.qr(c @ q)[0]
    _, _, vt = np.linalg.svd(q.T @ c, full_matrices=False)
    return mean, vt[:r].T


def _whiten(c: np.ndarray) -> np.ndarray | None:
    cov = c.T @ c / len(c)
    w, v = np.linalg.eigh(cov)
    if w[0] <= 1e-10 * max(w[-1], 1e-300):
        return None
    return (v / np.sqrt(w)) @ v.T


def _heldout_mi(tx, ty, vx, vy) -> tuple[float, float] | None:
    """Gaussian information of held-out canonical pairs: directions from the training
    codes (tx, ty), correlations on the validation codes (vx, vy)."""
    mx, my = tx.mean(axis=0), ty.mean(axis=0)
    tx, ty, vx, vy = tx - mx, ty - my, vx - mx, vy - my
    wx, wy = _whiten(tx), _whiten(ty)
    if wx is None or wy is None:
        return None
    a, _, bt = np.linalg.svd((tx @ wx).T @ (ty @ wy) / len(tx), full_matrices=False)
    u = vx @ wx @ a
    v = vy @ wy @ bt.T
    u = (u - u.mean(axis=0)) / np.maximum(u.std(axis=0), 1e-300)
    v = (v - v.mean(axis=0)) / np.maximum(v.std(axis=0), 1e-300)
    rho = np.clip((u * v).mean(axis=0), 0.0, 1 - 1e-12)
    mi = float(-0.5 * np.log1p(-rho ** 2).sum())
    # delta method: var of -1/2 log(1 - rho^2) is about rho^2 / n per pair
    se = float(math.sqrt(float((rho ** 2).sum()) / len(vx)))
    return mi, se


def choose_codes(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any] | None:
    """The number of principal components of x and y (each side reduced only when it
    has at least :data:`WIDE` columns) chosen by held-out information.

    Returns ``{"r": {"x": rx, "y": ry}, "curve": [{"r": .., "mi": .., "se": ..}],
    "plateau": bool}``, or None when neither side is wide or the rows are too few.
    """
    n = len(x)
    dims = {"x": x.shape[1], "y": y.shape[1]}
    wide = {v: d >= WIDE for v, d in dims.items()}
    if not any(wide.values()):
        return None
    half = n // 2
    order = np.random.default_rng([seed, _TAG]).permutation(n)
    train, val = order[:half], order[half:]
    top = max(1, half // (2 * ROWS_PER_DIM))
    grid = [r for r in GRID if r <= top and r < max(dims.values())]
    if max(dims.values()) <= top:
        grid.append(max(dims.values()))  # every column: the codes are the data
    if not grid:
        return None
    fitted = {}
    for v, a in (("x", x), ("y", y)):
        r_max = min(max(grid), dims[v]) if wide[v] else dims[v]
        mean, axes = _pcs(a[train], r_max)
        fitted[v] = ((a[train] - mean) @ axes, (a[val] - mean) @ axes)
    curve = []
    for r in grid:
        rx = min(r, dims["x"]) if wide["x"] else dims["x"]
        ry = min(r, dims["y"]) if wide["y"] else dims["y"]
        if rx + ry >= half // ROWS_PER_DIM:
            break
        got = _heldout_mi(fitted["x"][0][:, :rx], fitted["y"][0][:, :ry],
                          fitted["x"][1][:, :rx], fitted["y"][1][:, :ry])
        if got is None:
            break
        curve.append({"r": r, "x": rx, "y": ry, "mi": got[0], "se": got[1]})
        if (not wide["x"] or rx == dims["x"]) and (not wide["y"] or ry == dims["y"]):
            break  # nothing left to add
    if not curve:
        return None
    best = max(curve, key=lambda c: c["mi"])
    pick = next(c for c in curve if c["mi"] >= best["mi"] - best["se"])
    last = curve[-1]
    # flattened: the largest r tried adds nothing beyond noise to the chosen one
    plateau = last["r"] > pick["r"] and last["mi"] <= pick["mi"] + 2 * max(last["se"], 1e-12)
    return {"r": {"x": pick["x"], "y": pick["y"]}, "curve": curve, "plateau": bool(plateau)}


def codes(a: np.ndarray, r: int) -> np.ndarray:
    """The first ``r`` principal-component scores of ``a`` (all rows)."""
    if r >= a.shape[1]:
        return a
    mean, axes = _pcs(a, r)
    return (a - mean) @ axes
