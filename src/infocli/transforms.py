"""Rank and copula transforms, applied once before any estimator runs.

Mutual information is invariant under strictly increasing maps of each
column: I(X;Y) = I(g(X);h(Y)) for any g, h acting column by column. So each
continuous column may be replaced by its ranks before estimation, which
removes heavy tails, skew and scale differences without changing the target:

* ``rank``:   u_i = r_i / (n + 1), uniform scores in (0, 1);
* ``copula``: z_i = Phi^{-1}(r_i / (n + 1)), normal scores. The ``gaussian``
  estimator on normal scores is the Gaussian-copula MI (GCMI) of Ince et al.,
  Human Brain Mapping 38 (2017) 1541-1573, with the same small-sample bias
  correction of log det S as their ``mi_gg``.

r_i is the *average* rank of x_i in its column (1..n; tied values share the
mean of their ranks). Unlike the reference GCMI code, which breaks ties by
position, this keeps tied values tied, so the kNN estimators still see (and
report and dequantise, see :mod:`infocli.estimators._prep`) the ties; and
since ranks depend only on the order of the values, the transformed data -
hence the estimate, bit for bit - is the same for x and for g(x), any strictly
increasing g. Class labels (discrete variables) are never transformed.

Entropy is *not* invariant (h(g(X)) = h(X) + E log|g'(X)|), so for entropy
and conditional entropy the transform is used through the marginal
decomposition: with T the column-wise map (T_i the rank/normal-score map of
column i),

    h(X | Z) = sum_i h(X_i) + h(T(X) | Z) - sum_i h(T_i(X_i)),

exact for any column-wise invertible T (the Jacobian term E log|T'| is the
same with or without conditioning). h(T_i(X_i)) is known - 1/2 log(2 pi e)
for normal scores, 0 for uniform scores - the joint term h(T(X) | Z) is
estimated by the chosen estimator on the transformed data (for a single
column, unconditionally, it is known: h(T(X)) = h(T_1(X_1))) (where the
marginals no longer carry tails or skew, only the dependence), and the 1-D
marginal entropies h(X_i) by the one-dimensional Kozachenko-Leonenko
estimator with ``MARGINAL_K`` neighbours (in 1-D it is nearly unbiased even
for singular or heavy-tailed laws; see docs/transforms.md for the
comparison with m-spacing estimators). For a product distribution the
joint term cancels the known marginal terms in the population, so the
estimate is the sum of the 1-D estimates. A conditioning variable Z may be
transformed freely (h(X|Z) = h(X|g(Z))).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import ParameterError
from .estimators._common import Context, Raw, finite

__all__ = ["TRANSFORMS", "ranks", "rank_scores", "normal_scores", "scores", "apply",
           "marginal_entropy_terms", "MARGINAL_K"]

#: the accepted values of ``transform=``
TRANSFORMS = ("none", "rank", "copula")

#: neighbours of the 1-D Kozachenko-Leonenko marginal entropies
MARGINAL_K = 10

_HALF_LOG_2PIE = 0.5 * float(np.log(2 * np.pi * np.e))
TIES_NOTE = "average ranks (tied values keep equal scores)"


def check(transform: str) -> str:
    if transform not in TRANSFORMS:
        raise ParameterError(f"transform {transform!r}: expected one of {', '.join(TRANSFORMS)}")
    return transform


def ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks 1..n of each column of ``a`` (n, d), as float64."""
    from ._special import average_ranks  # scipy.stats.rankdata's values; its import is slow

    return average_ranks(a)


def rank_scores(a: np.ndarray) -> np.ndarray:
    """Uniform scores r / (n + 1) in (0, 1), column by column."""
    return ranks(a) / (len(a) + 1.0)


def normal_scores(a: np.ndarray) -> np.ndarray:
    """Normal scores Phi^{-1}(r / (n + 1)), column by column (Ince et al.'s copnorm,
    with average ranks for ties)."""
    from ._special import ndtri  # scipy.special's values without its import

    return ndtri(rank_scores(a))


def scores(a: np.ndarray, transform: str) -> np.ndarray:
    """``a`` under ``transform`` (``none`` returns it unchanged)."""
    if transform == "rank":
        return rank_scores(a)
    if transform == "copula":
        return normal_scores(a)
    return a


def score_entropy(transform: str) -> float:
    """h(T_i(X_i)) of one transformed column: 0 (uniform) or 1/2 log(2 pi e) (normal)."""
    return _HALF_LOG_2PIE if transform == "copula" else 0.0


def marginal_entropy_terms(x: np.ndarray, k: int = MARGINAL_K) -> np.ndarray:
    """Per-row terms of the 1-D Kozachenko-Leonenko entropies of each column.

    Returns (n, d): column j's mean is psi(n) - psi(k) + log 2 + mean log eps_ij,
    eps_ij the distance of x_ij to its k-th nearest other value in column j
    (found on the sorted column: the k nearest are j left and k - j right
    neighbours for some j). Values must be distinct (dequantise ties first).
    """
    from ._special import digamma

    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    k = int(min(k, n - 1))
    out = np.empty((n, d))
    for c in range(d):
        order = np.argsort(x[:, c], kind="stable")
        s = x[order, c]
        pad = np.concatenate([np.full(k, -np.inf), s, np.full(k, np.inf)])
        i = np.arange(n) + k
        eps = np.full(n, np.inf)
        for j in range(k + 1):
            eps = np.minimum(eps, np.maximum(s - pad[i - j], pad[i + k - j] - s))
        terms = np.empty(n)
        terms[order] = digamma(n) - digamma(k) + np.log(2.0) + np.log(eps)
        out[:, c] = terms
    return out


def apply(transform: str, measure: str, arrays: dict[str, np.ndarray],
          impl: Callable[..., Raw], ctx: Context,
          params: dict[str, Any]) -> tuple[dict[str, np.ndarray], Callable[..., Raw]]:
    """The arrays (and implementation) the estimator should run on.

    ``arrays`` are the validated arrays keyed ``x``/``y``/``z`` (labels as
    integer codes, flagged in ``ctx.discrete``). For MI and CMI every
    continuous variable is replaced by its scores and ``impl`` is returned
    unchanged; for (conditional) entropy ``x`` goes through the marginal
    decomposition and the returned implementation adds the marginal terms.
    What was done is recorded in ``ctx.details["transform"]``.
    """
    check(transform)
    if transform == "none":
        return arrays, impl
    out = dict(arrays)
    mapped = [v for v in arrays if not ctx.discrete.get(v)]
    info: dict[str, Any] = {"method": transform, "variables": mapped, "ties": TIES_NOTE}
    if measure in ("entropy", "conditional_entropy"):
        info["decomposition"] = ("h(X) = sum_i h(X_i) + h(T(X)) - sum_i h(T_i(X_i)), "
                                 f"1-D Kozachenko-Leonenko marginals (k={MARGINAL_K})")
        impl = _decomposed(impl, out, transform, ctx, params, info)
    for v in mapped:
        if v != "x" or measure not in ("entropy", "conditional_entropy"):
            out[v] = scores(arrays[v], transform)
    ctx.details["transform"] = info
    return out, impl


def _decomposed(impl, out, transform, ctx, params, info):
    """Replace out["x"] by its scores and wrap impl to add the 1-D marginal entropies."""
    from .estimators._prep import prepare

    # a tied column is dequantised first (as the kNN estimators do), so that the
    # 1-D marginals and the ranks see the same continuous values
    x, _ = prepare(out["x"], "x", ctx, standardize=False, ties=params.get("ties", "jitter"))
    n, d = x.shape
    if n < 3:
        from .errors import InputError

        raise InputError(f"{ctx.name('x')} has {n} rows; the marginal entropies need at least 3")
    marg = marginal_entropy_terms(x)
    row_sum = marg.sum(axis=1)
    marginal = float(row_sum.mean())
    marginal_se = float(row_sum.std(ddof=1) / np.sqrt(n))
    known = d * score_entropy(transform)
    out["x"] = scores(x, transform)
    info["marginal_entropies"] = [float(v) for v in marg.mean(axis=0)]

    def run(ctx_: Context, *arrays, **p) -> Raw:
        if d == 1 and len(arrays) == 1:
            # T(X) of one column has exactly the law of its scores: the joint term is
            # known, and estimating it on the (regular) grid of scores would only add
            # the grid's bias
            info.setdefault("joint_term", known)
            return finite(Raw(marginal, marginal_se, "std of per-row 1-D marginal terms / "
                              "sqrt(n) (one column: the joint term is known exactly)"))
        raw = impl(ctx_, *arrays, **p)
        # the first call is the estimate itself; later calls (the reliability check's
        # re-runs on subsets) must not overwrite what the record reports
        info.setdefault("joint_term", float(raw.value))
        se = None if raw.stderr is None else float(np.hypot(raw.stderr, marginal_se))
        method = (f"{raw.stderr_method} (joint term) combined in quadrature with the std of "
                  "per-row marginal terms / sqrt(n)")
        return finite(Raw(raw.value + marginal - known, se, method))

    return run
