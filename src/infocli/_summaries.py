"""Low-dimensional summaries of (X, Y) that the reliability check tests.

Everything here works on the normal scores of X and Y (per-column ranks mapped
to N(0, 1), which leaves MI unchanged), whitened per variable, on a seeded
subset of at most ``ROWS`` rows:

* the **canonical pairs** (u_j, v_j): the directions of largest correlation
  (CCA). Under a Gaussian copula each pair is a bivariate Gaussian with MI
  -1/2 log(1 - rho_j^2);
* the **radii** |x|, |y| of the whitened scores (a one-column side is kept as
  it is, not folded). For an elliptical law (a
  Student-t, any scale mixture of Gaussians) the dependence sits in the shared
  scale, i.e. in the radii, which a kNN estimate in the full dimension
  misses (KSG gives 0.22 nats for a true 0.45 on Student-t 5 x 5, dof 2, at
  n = 5,000; on the radii it gives 0.41-0.44);
* a **linearity test** (Ramsey's RESET, 1969): under a Gaussian copula the
  regression of each canonical variate of one side on the scores of the other
  is linear with a residual independent of them, so nonlinear features
  (squares, cubes, x_i |x|^2, pairwise products) add nothing beyond chance.
  The F test gives a z-score, and the gain in explained variance, read as
  Gaussian information 1/2 log(RSS_lin / RSS_full) less its chance level
  p / (2 dof), estimates the information the covariance does not see (a
  spiral x -> R(|x|) x of a Gaussian: 0.17-0.20 nats found, 0.16-0.18 missed).

By data processing, I(X; Y) >= I(f(X); g(Y)) for any f, g: the KSG value on
a 2-D summary (nearly unbiased in two dimensions) is a lower bound on the
MI, up to its noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: rows the summaries are computed on (a seeded subset beyond it)
ROWS = 5000
#: kNN terms are correlated: their per-sample stderr is ~30 % too small
_KNN_SE = 1.3
_TAG = 0x7375  # "su": sub-seeds apart from every other stream


@dataclass(frozen=True)
class Canonical:
    """Whitened normal scores and their canonical directions."""

    xw: np.ndarray  # (n, dx)
    yw: np.ndarray  # (n, dy)
    a: np.ndarray  # (dx, r): x directions, columns
    rho: np.ndarray  # (r,) canonical correlations, descending
    bt: np.ndarray  # (r, dy): y directions, rows

    @property
    def n(self) -> int:
        return len(self.xw)

    def pair(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        return self.xw @ self.a[:, j], self.yw @ self.bt[j]


def _inv_sqrt(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    if w.min() <= 1e-10 * max(w.max(), 1e-300):
        raise np.linalg.LinAlgError("singular")
    return (v / np.sqrt(w)) @ v.T


def canonical(x: np.ndarray, y: np.ndarray, seed: int) -> Canonical | None:
    """Whiten normal scores ``x`` (n, dx) and ``y`` (n, dy) and find their canonical
    directions; None when a covariance is singular or the rows are too few."""
    n = len(x)
    xs, ys = x.reshape(n, -1).astype(np.float64), y.reshape(n, -1).astype(np.float64)
    if n > ROWS:
        rows = np.sort(np.random.default_rng([seed, _TAG, 5]).choice(n, ROWS, replace=False))
        xs, ys = xs[rows], ys[rows]
        n = ROWS
    if n < 5 * (xs.shape[1] + ys.shape[1]) + 20:
        return None
    xs = xs - xs.mean(0)
    ys = ys - ys.mean(0)
    try:
        xw = xs @ _inv_sqrt(xs.T @ xs / n)
        yw = ys @ _inv_sqrt(ys.T @ ys / n)
        a, rho, bt = np.linalg.svd(xw.T @ yw / n, full_matrices=False)
    except np.linalg.LinAlgError:
        return None
    return Canonical(xw, yw, a, np.minimum(rho, 1 - 1e-12), bt)


def _ksg(u: np.ndarray, v: np.ndarray, seed: int) -> tuple[float, float] | None:
    """KSG (k = 3, algorithm 1) of two columns (or two small blocks of columns),
    called below the public API (whose validation the summaries do not need), with
    its noise."""
    from .errors import InfocliError
    from .estimators import knn
    from .estimators._common import Context

    ctx = Context(rng=np.random.default_rng([seed, _TAG, 7]), device="cpu",
                  names={"x": "summary of x", "y": "summary of y"}, write_files=False)
    try:
        raw = knn.ksg_mi(ctx, u.reshape(len(u), -1), v.reshape(len(v), -1), k=3, algorithm=1,
                         standardize=True, ties="jitter", backend="auto")
    except InfocliError:
        return None
    if not np.isfinite(raw.value):
        return None
    return float(raw.value), _KNN_SE * float(raw.stderr or 0.0)


#: largest joint dimension in which :func:`joint_mi` runs KSG on the variables
#: themselves: KSG's bias there is small and downward on smooth dependence (bmi's
#: 2 x 2 normal of correlation 0.5, I = 0.294: 0.24-0.34 over three seeds at 1,000
#: rows, noise 0.03)
JOINT_DIM = 4


def joint_mi(c: Canonical, seed: int, rows: int = ROWS) -> dict[str, Any] | None:
    """KSG MI of the whitened normal scores themselves (x and y whole, not a
    summary), for joint dimensions 3 to :data:`JOINT_DIM`; None otherwise (in two
    dimensions the first canonical pair is the variables).

    A Gaussian model sees only the covariance: dependence with no linear part (the
    two clusters of bmi v2's Galaxy, the sheared components of its Waves) leaves
    every canonical correlation near 0, so no canonical pair shows it either - the
    pair's x direction is then arbitrary. In three or four dimensions KSG on the
    variables sees it directly (Galaxy at 1,000 rows: 0.44 nats where the Gaussian
    MI is 0.01), and its bias there is small and downward, so a KSG value above the
    Gaussian MI beyond noise is dependence the model misses."""
    if not 2 < c.xw.shape[1] + c.yw.shape[1] <= JOINT_DIM:
        return None
    keep = slice(None)
    if c.n > rows:
        keep = np.sort(np.random.default_rng([seed, _TAG, 11]).choice(c.n, rows,
                                                                       replace=False))
    got = _ksg(c.xw[keep], c.yw[keep], seed)
    if got is None:
        return None
    return {"summary": "variables", "ksg": got[0], "se": got[1]}


def pair_mis(c: Canonical, seed: int, count: int) -> list[dict[str, Any]]:
    """Per canonical pair (the first ``count``): rho, the Gaussian MI, the KSG MI
    and its noise."""
    return summary_mis(c, seed, count, radii=False)[0]


def radii_mi(c: Canonical, seed: int) -> dict[str, Any] | None:
    """KSG MI of the radii |x|, |y| of the whitened scores (None for 1-D sides:
    the radius of a single column is |x|, a summary the pairs already cover)."""
    return summary_mis(c, seed, 0, radii=True)[1]


def summary_mis(c: Canonical, seed: int, count: int, *, radii: bool, rows: int = ROWS
                ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """:func:`pair_mis` of the first ``count`` pairs and (``radii``) :func:`radii_mi`,
    their 2-D KSG estimates run concurrently, one core each, on at most ``rows`` of
    the canonical form's rows (a seeded subset beyond it)."""
    from .estimators._neighbors import parallel_map

    keep = slice(None)
    if c.n > rows:
        keep = np.sort(np.random.default_rng([seed, _TAG, 11]).choice(c.n, rows,
                                                                       replace=False))
    summaries = [tuple(s[keep] for s in c.pair(j)) for j in range(min(count, len(c.rho)))]
    with_radii = radii and (c.xw.shape[1] > 1 or c.yw.shape[1] > 1)
    if with_radii:
        # a one-column side keeps its sign: its "radius" |y| would fold it at the
        # median and lose what the side's sign carries (concentric shells: Y is the
        # shell's index, and I(|X|; Y) = I(X; Y) while I(|X|; |Y|) is far less)
        summaries.append(tuple(np.linalg.norm(w[keep], axis=1) if w.shape[1] > 1
                               else w[keep, 0] for w in (c.xw, c.yw)))
    got = parallel_map(lambda uv: _ksg(*uv, seed), summaries)
    pairs = []
    for j in range(len(got) - with_radii):
        if got[j] is None:
            break
        r = float(c.rho[j])
        pairs.append({"pair": j + 1, "rho": r, "gaussian": -0.5 * math.log1p(-r * r),
                      "ksg": got[j][0], "se": got[j][1]})
    radii_entry = None
    if with_radii and got[-1] is not None:
        radii_entry = {"summary": "radii", "ksg": got[-1][0], "se": got[-1][1]}
    return pairs, radii_entry


def _features(w: np.ndarray) -> np.ndarray:
    """Nonlinear features of whitened scores: |w|^2, w_i |w|^2, w_i^2, w_i^3 and, up
    to 6 columns, the pairwise products."""
    q = (w ** 2).sum(axis=1, keepdims=True)
    feats = [q, w * q, w ** 2, w ** 3]
    d = w.shape[1]
    if 1 < d <= 6:
        i, j = np.triu_indices(d, 1)
        feats.append(w[:, i] * w[:, j])
    return np.hstack(feats)


def _rss(design: np.ndarray, targets: np.ndarray, cols: int) -> np.ndarray:
    """Residual sums of squares of ``targets`` (n, m) regressed on the first ``cols``
    columns of ``design``: the normal equations, solved by a minimum-norm least
    squares of the small Gram system (0.2 ms where an SVD least squares of the
    n-row design takes 1.5-3 ms at n = 5,000; the columns are whitened scores and
    their low powers, so squaring the condition number costs nothing that matters;
    |w|^2 is the sum of the w_i^2 columns, a rank deficiency the minimum-norm
    solution absorbs), with the residuals formed explicitly."""
    a = design[:, :cols]
    coef = np.linalg.lstsq(a.T @ a, a.T @ targets, rcond=None)[0]
    return np.sum((targets - a @ coef) ** 2, axis=0)


def nonlinearity(c: Canonical, count: int = 3) -> dict[str, Any] | None:
    """Ramsey's RESET on each of the first ``count`` canonical variates of one side
    regressed on the other side's scores, both ways.

    Returns ``z`` (the largest F-test z-score, Bonferroni-adjusted over the
    tests), ``gain`` (the larger over the two directions of the summed
    information gains, in nats) and ``tests``; None when the rows are too few.
    """
    from ._special import fdtrc, ndtri  # scipy.special's values without its import

    n = c.n
    tests = []
    gains = {"x->y": 0.0, "y->x": 0.0}
    for way, src, dst, dirs in (("x->y", c.xw, c.yw, c.bt), ("y->x", c.yw, c.xw, c.a.T)):
        lin = np.hstack([np.ones((n, 1)), src])
        full = np.hstack([lin, _features(src)])
        extra, dof = full.shape[1] - lin.shape[1], n - full.shape[1]
        if dof < 5 * full.shape[1]:
            return None
        m = min(count, len(c.rho))
        targets = dst @ dirs[:m].T  # (n, m): one solve per design for all
        rss_lin = _rss(full, targets, lin.shape[1])
        rss_full = _rss(full, targets, full.shape[1])
        for j in range(m):
            r_lin, rss = float(rss_lin[j]), float(rss_full[j])
            if rss <= 0 or r_lin <= 0:
                continue
            stat = (r_lin - rss) / extra / (rss / dof)
            p = float(fdtrc(extra, dof, stat))
            gain = 0.5 * math.log(r_lin / rss) - 0.5 * extra / dof
            tests.append({"way": way, "variate": j + 1, "p": p, "gain": gain})
            gains[way] += max(gain, 0.0)
    if not tests:
        return None
    p_min = min(1.0, min(t["p"] for t in tests) * len(tests))
    z = float(-ndtri(max(p_min, 1e-300))) if p_min < 1 else -math.inf
    return {"z": z, "gain": max(gains.values()), "tests": tests}
