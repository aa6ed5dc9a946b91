"""Intrinsic dimension from nearest-neighbour distance ratios (TwoNN).

Facco, d'Errico, Rodriguez & Laio (2017), Sci. Rep. 7, 12140: for points on a
locally uniform d-dimensional set, the ratio mu = r2 / r1 of each point's second
to first neighbour distance follows a Pareto law, P(mu > m) = m^-d, so the
maximum-likelihood estimate is d = (N - 1) / sum_i log mu_i (the N - 1 makes it
unbiased for the Pareto rate). The ratio is scale free, so the estimate does not
depend on the density, only on the dimension of the set at the scale of the
nearest neighbours - the scale at which a kNN estimator works. Data on a 2-D
manifold drawn in 784 pixels is 2-dimensional here; isotropic noise that is
large against the neighbour distances makes it as many-dimensional as the noise.

As in the paper, the largest 10 % of the ratios are discarded (they come from
points whose neighbourhood is not uniform: edges, outliers), with the
likelihood of the censored Pareto sample.

The search is infocli's exact neighbour search on a seeded subset of at most
``ROWS`` rows: a fraction of a second for thousands of columns.
"""

from __future__ import annotations

import math

import numpy as np

#: rows the estimate is computed on (a seeded subset beyond it)
ROWS = 2000
#: the largest share of the ratios left out (Facco et al.'s 10 %)
DISCARD = 0.1
_TAG = 0x6964  # "id": sub-seeds apart from every other stream


def two_nearest(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances of each row of ``x`` to its first and second nearest
    other row (infocli's exact neighbour search: kd-trees in few columns, blocked
    matrix products in many)."""
    from .estimators._common import Context
    from .estimators._neighbors import kneighbor_distances

    ctx = Context(rng=np.random.default_rng(0), device="cpu", write_files=False)
    dist = kneighbor_distances(np.ascontiguousarray(x, dtype=np.float64), 2, ctx,
                               metric="euclidean", backend="auto",
                               label="intrinsic dimension")
    return dist[:, 0], dist[:, 1]


def two_nn(x: np.ndarray, seed: int = 0, rows: int = ROWS) -> dict:
    """TwoNN intrinsic dimension of the rows of ``x`` (n, d).

    Returns ``{"dim": float, "se": float, "rows": int, "ambient": int}``; ``dim``
    is NaN when too few distinct rows remain (fewer than 20). ``se`` is the
    asymptotic standard error d / sqrt(m) of the censored Pareto likelihood (m
    ratios kept).
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    n, ambient = x.shape
    if n > rows:
        keep = np.sort(np.random.default_rng([seed, _TAG]).choice(n, rows, replace=False))
        x = x[keep]
    sd = x.std(axis=0)
    x = (x[:, sd > 0] - x[:, sd > 0].mean(axis=0)) / sd[sd > 0]
    if x.shape[1] == 0:
        return {"dim": 0.0, "se": 0.0, "rows": len(x), "ambient": ambient}
    r1, r2 = two_nearest(x)
    ok = (r1 > 0) & np.isfinite(r2)
    mu = np.sort(r2[ok] / r1[ok])
    m_all = mu.size
    if m_all < 20:
        return {"dim": math.nan, "se": math.nan, "rows": len(x), "ambient": ambient}
    # censored at the (1 - DISCARD) quantile: the kept log-ratios plus the censored
    # ones at the cut, over the kept count
    m = int(math.floor((1 - DISCARD) * m_all))
    cut = math.log(mu[m - 1])
    total = float(np.log(mu[:m]).sum()) + (m_all - m) * cut
    dim = (m - 1) / total if total > 0 else math.inf
    return {"dim": float(dim), "se": float(dim / math.sqrt(m)), "rows": int(len(x)),
            "ambient": int(ambient)}
