"""k-nearest-neighbour estimators: Kozachenko-Leonenko entropy, KSG MI,
Ross mixed discrete-continuous MI and Frenzel-Pompe conditional MI.

All values are in nats. Every estimate is a mean of per-sample terms, and its
standard error is the standard deviation of those terms over sqrt(n) (see
:func:`infocli.estimators._common.mean_and_stderr`).

References
----------
Kozachenko & Leonenko (1987), Problems Inform. Transmission 23, 95-101.
Kraskov, Stoegbauer & Grassberger (2004), Phys. Rev. E 69, 066138 (KSG).
Frenzel & Pompe (2007), Phys. Rev. Lett. 99, 204101 (conditional MI).
Ross (2014), PLoS ONE 9, e87357 (discrete-continuous MI).
Berrett, Samworth & Yuan (2019), Ann. Statist. 47, 288-318 (weighted KL).
"""

from __future__ import annotations

import math

import numpy as np
from .._special import digamma

from ..errors import InputError, ParameterError
from ._common import Context, Raw, class_groups, mean_and_stderr
from ._neighbors import joint_counts, kneighbor_distances, radius_counts
from ._prep import prepare

STDERR_METHOD = "std of per-sample terms / sqrt(n)"


def _check_k(n: int, k: int, what: str) -> None:
    if k >= n:
        raise InputError(f"{what} has {n} rows but k={k} needs at least {k + 1}")


def log_unit_ball(d: int, metric: str) -> float:
    """log volume of the unit ball: Euclidean pi^(d/2)/Gamma(d/2+1), max norm 2^d."""
    if metric == "chebyshev":
        return d * np.log(2.0)
    return d / 2 * np.log(np.pi) - math.lgamma(d / 2 + 1)


def bsy_weights(k: int, d: int, *, first_neighbour_low_d: bool = False) -> np.ndarray:
    """Berrett-Samworth-Yuan weights over neighbours j = 1..k.

    For d <= 4 no debiasing constraint is needed and the weights are those of
    the unweighted estimator with the chosen k (w = e_k: weight 1 on the k-th
    neighbour), so ``k`` is honoured: the per-sample terms differ from
    ``weights=none`` only by the constant psi(n) - log(n - 1) = O(1/n), and the
    standard error is the same. ``first_neighbour_low_d=True`` keeps the
    first-neighbour weights w = e_1 for d <= 4 instead (the WKL codes of the
    ``compressed`` estimator, whose calibration was done that way). For d > 4,
    with L = floor(d/4) constraints
    sum_j w_j Gamma(j + 2l/d)/Gamma(j) = 0 (l = 1..L) and sum_j w_j = 1, the
    minimum-norm solution.
    """
    n_constraints = d // 4
    if d <= 4:
        w = np.zeros(k)
        w[0 if first_neighbour_low_d else k - 1] = 1.0
        return w
    if k <= n_constraints:
        raise ParameterError(
            f"weights=bsy in d={d} dimensions needs k >= {n_constraints + 1}, got k={k}"
        )
    from scipy.special import gammaln

    j = np.arange(1, k + 1, dtype=np.float64)
    rows = [np.ones(k)]
    for ell in range(1, n_constraints + 1):
        rows.append(np.exp(gammaln(j + 2 * ell / d) - gammaln(j)))
    a = np.vstack(rows)
    b = np.zeros(n_constraints + 1)
    b[0] = 1.0
    return np.linalg.lstsq(a, b, rcond=None)[0]  # minimum-norm for underdetermined a


def _kl_terms(x: np.ndarray, ctx: Context, *, k, metric, weights, backend, label) -> np.ndarray:
    """Per-sample terms h_i of the KL estimator (their mean is the entropy)."""
    n, d = x.shape
    dist = kneighbor_distances(x, k, ctx, metric=metric, backend=backend, label=label)
    if np.any(dist[:, 0] <= 0):
        raise InputError(f"{label}: duplicated rows give zero neighbour distances")
    log_v = log_unit_ball(d, metric)
    if weights in ("bsy", "wkl"):  # "wkl": internal, first neighbour for d <= 4
        w = bsy_weights(k, d, first_neighbour_low_d=weights == "wkl")
        j = np.arange(1, k + 1)
        # -log f_j(x_i) = -psi(j) + log V_d + d log rho_ij + log(n - 1)
        neg_log_f = -digamma(j) + log_v + d * np.log(dist) + np.log(n - 1)
        return neg_log_f @ w
    return digamma(n) - digamma(k) + log_v + d * np.log(dist[:, k - 1])


def whiten(x: np.ndarray, what: str) -> tuple[np.ndarray, float]:
    """x Sigma^{-1/2} and 1/2 log det Sigma (h(X) = h(X Sigma^{-1/2}) + 1/2 log det Sigma)."""
    cov = np.atleast_2d(np.cov(x, rowvar=False))
    eig, vec = np.linalg.eigh(cov)
    if eig[0] <= eig[-1] * 1e-12:
        raise InputError(f"{what}: the covariance is singular (linearly dependent columns); "
                         "cannot whiten")
    w = (vec / np.sqrt(eig)) @ vec.T
    return x @ w, 0.5 * float(np.log(eig).sum())


def _prepare_kl(x, ctx: Context, standardize: bool, ties: str, whiten_data: bool):
    xs, log_scale = prepare(x, "x", ctx, standardize=standardize, ties=ties)
    if whiten_data:
        xs, extra = whiten(xs, ctx.name("x"))
        log_scale += extra
    return xs, log_scale


_EDGE_BAND = 50  # edge band = range / 50 of a column
_EDGE_SHARE = 0.25  # flag an edge holding >= 25% of the points a flat density would put there
_EDGE_MIN_POINTS = 10


def hard_edges(x: np.ndarray) -> dict[int, list[str]]:
    """Columns whose minimum or maximum looks like a hard edge of the support.

    Rule: a column has a hard lower (upper) edge when the band of width
    range/50 above its minimum (below its maximum) holds at least
    max(10, 0.25 n/50) points, i.e. at least a quarter of what a flat density
    would put there. Tails thin out towards the extremes (a Gaussian's edge
    bands hold a point or two at any n), while U[a, b] holds n/50 and an
    exponential more. Returns {column: ["min"|"max", ...]}.
    """
    n = x.shape[0]
    need = max(_EDGE_MIN_POINTS, _EDGE_SHARE * n / _EDGE_BAND)
    found: dict[int, list[str]] = {}
    lo, hi = x.min(axis=0), x.max(axis=0)
    for j in range(x.shape[1]):
        band = (hi[j] - lo[j]) / _EDGE_BAND
        if band <= 0:
            continue
        edges = [name for name, count in (
            ("min", np.count_nonzero(x[:, j] <= lo[j] + band)),
            ("max", np.count_nonzero(x[:, j] >= hi[j] - band))) if count >= need]
        if edges:
            found[j] = edges
    return found


def _flag_bounded_support(x: np.ndarray, ctx: Context) -> None:
    """Warn that kNN entropy is biased upward on a support with hard edges."""
    edges = hard_edges(x)
    if not edges:
        return
    ctx.details["bounded_support"] = {ctx.column("x", j).removeprefix("column "): e
                                      for j, e in edges.items()}
    cols = ", ".join(f"{ctx.column('x', j).removeprefix('column ')} ({'/'.join(e)})"
                     for j, e in edges.items())
    ctx.warn(
        f"{ctx.name('x')}: the support looks bounded (many points at a hard edge in "
        f"column(s) {cols}); k-NN entropy is biased upward there, since neighbour balls "
        "reach outside the support (U[0,2]^3, n=5,000, k=5: +0.08 nats); map the columns "
        "to an unbounded range first (e.g. logit of the rescaled column, adding its "
        "log-Jacobian) or compare with another estimator"
    )


def kl_entropy(ctx: Context, x, *, k, metric, weights, whiten_data=False, standardize, ties,
               backend) -> Raw:
    """Kozachenko-Leonenko entropy H(X) = psi(n) - psi(k) + log V_d + (d/n) sum log eps_i.

    A support with hard edges (:func:`hard_edges`) is reported in the warnings
    and ``details["bounded_support"]``: the estimate is biased upward there.
    """
    _check_k(len(x), k, ctx.name("x"))
    _flag_bounded_support(x, ctx)
    xs, log_scale = _prepare_kl(x, ctx, standardize, ties, whiten_data)
    terms = _kl_terms(xs, ctx, k=k, metric=metric, weights=weights, backend=backend,
                      label=f"kNN {ctx.name('x')}")
    return mean_and_stderr(terms + log_scale, STDERR_METHOD)


def kl_conditional_entropy(ctx: Context, x, z, *, k, metric, weights, whiten_data=False,
                           standardize, ties, backend) -> Raw:
    """H(X|Z): discrete Z, sum_z p(z) H(X|Z=z) with KL per class; continuous Z,
    H(X) - I(X;Z) with KL and KSG (algorithm 1) on the same rows."""
    _flag_bounded_support(x, ctx)
    if ctx.discrete.get("z"):
        xs, log_scale = _prepare_kl(x, ctx, standardize, ties, whiten_data)
        terms = np.empty(len(xs))
        for members in class_groups(z):
            _check_k(members.size, k, ctx.class_name("z", int(z[members[0]])))
            terms[members] = _kl_terms(xs[members], ctx, k=k, metric=metric, weights=weights,
                                       backend=backend, label=f"kNN class {int(z[members[0]])}")
        return mean_and_stderr(terms + log_scale, STDERR_METHOD)
    _check_k(len(x), k, ctx.name("x"))
    xs, log_scale = _prepare_kl(x, ctx, standardize, ties, whiten_data)
    zs, _ = prepare(z, "z", ctx, standardize=standardize, ties=ties)
    h = _kl_terms(xs, ctx, k=k, metric=metric, weights=weights, backend=backend,
                  label=f"kNN {ctx.name('x')}")
    i = _ksg_terms(xs, zs, ctx, k=k, algorithm=1, backend=backend)
    return mean_and_stderr(h + log_scale - i, STDERR_METHOD)


def _ksg_terms(x, y, ctx: Context, *, k, algorithm, backend) -> np.ndarray:
    """Per-sample KSG terms (their mean is the MI estimate)."""
    n = len(x)
    nx, ny = joint_counts([x, y], [(0,), (1,)], k, ctx, backend=backend, algorithm=algorithm,
                          labels=["count x", "count y"])
    if algorithm == 1:
        return digamma(k) + digamma(n) - digamma(nx + 1) - digamma(ny + 1)
    # Algorithm 2: marginal radii are the largest marginal distances among the
    # k joint neighbours; counts include points at exactly that distance.
    return digamma(k) - 1.0 / k + digamma(n) - digamma(nx) - digamma(ny)


def ksg_mi(ctx: Context, x, y, *, k, algorithm, standardize, ties, backend) -> Raw:
    """KSG mutual information (vector x, vector y); Ross's estimator when y is discrete."""
    if ctx.discrete.get("y"):
        xs, _ = prepare(x, "x", ctx, standardize=standardize, ties=ties)
        return mean_and_stderr(_mixed_terms(xs, y, ctx, k=k, backend=backend), STDERR_METHOD)
    _check_k(len(x), k, ctx.name("x"))
    xs, _ = prepare(x, "x", ctx, standardize=standardize, ties=ties)
    ys, _ = prepare(y, "y", ctx, standardize=standardize, ties=ties)
    return mean_and_stderr(_ksg_terms(xs, ys, ctx, k=k, algorithm=algorithm, backend=backend),
                           STDERR_METHOD)


def _mixed_terms(x, labels, ctx: Context, *, k, backend) -> np.ndarray:
    """Ross (2014): I = psi(n) - <psi(n_y)> + <psi(k_i)> - <psi(m_i)>.

    Per point, the distance d_i to its k-th neighbour among the points of its
    own class, and m_i the number of points of any class within d_i. Classes
    with fewer than k+1 members use k_i = size - 1; single-member classes carry
    no information and are left out (both are reported in the warnings).
    """
    radius = np.zeros(len(x))
    k_i = np.zeros(len(x))
    n_y = np.zeros(len(x))
    used = np.ones(len(x), dtype=bool)
    small, single = [], []
    for members in class_groups(labels):
        size = members.size
        if size == 1:
            used[members] = False
            single.append(int(labels[members[0]]))
            continue
        kc = min(k, size - 1)
        if kc < k:
            small.append(int(labels[members[0]]))
        dist = kneighbor_distances(x[members], kc, ctx, metric="auto", backend=backend,
                                   label="kNN within class")
        radius[members] = dist[:, kc - 1]
        k_i[members] = kc
        n_y[members] = size
    name = ctx.name("y")
    if single:
        ctx.warn(f"{name}: {len(single)} class(es) with a single row carry no information "
                 "and were left out")
    if small:
        ctx.warn(f"{name}: {len(small)} class(es) have at most k={k} rows; used k = size - 1 "
                 "for their points")
    if used.sum() < 2:
        raise InputError(f"{name}: every class has a single row; MI with labels needs "
                         "classes with at least 2 rows")
    xs = x[used]
    m = radius_counts(xs, radius[used], ctx, strict=False, metric="auto", backend=backend,
                      label="count all")
    n = int(used.sum())
    return digamma(n) - digamma(n_y[used]) + digamma(k_i[used]) - digamma(m)


def ksg_cmi(ctx: Context, x, y, z, *, k, algorithm, standardize, ties, backend) -> Raw:
    """Frenzel-Pompe conditional MI I(X;Y|Z) = psi(k) - <psi(n_xz+1) + psi(n_yz+1) - psi(n_z+1)>.

    Discrete Z: sum_z p(z) I(X;Y|Z=z) with KSG within each class.
    """
    if algorithm != 1:
        ctx.warn("cmi uses the Frenzel-Pompe form of KSG algorithm 1; algorithm=2 was ignored")
    xs, _ = prepare(x, "x", ctx, standardize=standardize, ties=ties)
    if ctx.discrete.get("y"):
        raise InputError(f"{ctx.name('y')}: ksg needs a continuous y for conditional MI "
                         "(class labels are supported for the given variable z)")
    ys, _ = prepare(y, "y", ctx, standardize=standardize, ties=ties)
    if ctx.discrete.get("z"):
        terms = np.empty(len(xs))
        for members in class_groups(z):
            _check_k(members.size, k, ctx.class_name("z", int(z[members[0]])))
            terms[members] = _ksg_terms(xs[members], ys[members], ctx, k=k, algorithm=1,
                                        backend=backend)
        return mean_and_stderr(terms, STDERR_METHOD)
    _check_k(len(xs), k, ctx.name("x"))
    zs, _ = prepare(z, "z", ctx, standardize=standardize, ties=ties)
    n_xz, n_yz, n_z = joint_counts([xs, ys, zs], [(0, 2), (1, 2), (2,)], k, ctx,
                                   backend=backend, labels=["count xz", "count yz", "count z"])
    return mean_and_stderr(digamma(k) - digamma(n_xz + 1) - digamma(n_yz + 1) + digamma(n_z + 1),
                           STDERR_METHOD)
