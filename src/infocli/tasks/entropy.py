"""Entropy tasks (``measure = "entropy"``): one variable ``x`` of known differential entropy.

* ``entropy-gaussian-D[-corr]``: N(0, S), h = 1/2 log det(2 pi e S); ``-corr``
  uses S_ij = s_i s_j 0.6^|i-j| with scales s_i between 0.5 and 2.
* ``entropy-uniform-D``: a box with side lengths a_i, h = sum log a_i.
* ``entropy-student-D-DF``: Student-t, dispersion S; closed form
  (Arellano-Valle et al. 2013, Eq. 7; see :func:`._closed.student_entropy`).
* ``entropy-cube-gaussian-D``: X^3 of N(0, I_D), coordinatewise. With
  Y = X^3, h(Y) = h(X) + E log|3 X^2| and E log|X| = -(gamma + log 2)/2, so
  h = D (1/2 log 2 pi e + log 3 - gamma - log 2) = 1.247188 D.
* ``entropy-mixture-*``: Gaussian mixtures, h = -E log p. In 1-D by the
  trapezoid rule on a fine grid, in 2-D by Gauss-Hermite quadrature under each component; the
  10-D isotropic mixture reduces exactly to its 2-D span plus Gaussian noise
  (components share sigma^2 I); the 5-D anisotropic one by Monte Carlo with a
  fixed seed (``truth_error`` = its standard error).
"""

from __future__ import annotations

import zlib
from functools import partial

import numpy as np
from scipy.special import logsumexp

from . import Task, register
from ._closed import (
    EULER_GAMMA,
    gauss_hermite_grid,
    gaussian_entropy,
    logdet,
    student_entropy,
)

FAMILY = "entropy"

#: h(X^3) per coordinate for X ~ N(0, 1)
CUBE_GAUSSIAN_PER_DIM = 0.5 * np.log(2 * np.pi * np.e) + np.log(3.0) - EULER_GAMMA - np.log(2.0)


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _entropy_task(name: str, truth: float, d: int, sampler, tags, description: str,
                  **kw) -> Task:
    return Task(name=name, measure="entropy", family=FAMILY, truth=float(truth), dims={"x": d},
                sampler=sampler, tags=tuple(tags), description=description, **kw)


# ------------------------------------------------------------------ samplers


def _sample_gaussian(n, rng, *, chol):
    return {"x": rng.standard_normal((n, chol.shape[0])) @ chol.T}


def _sample_uniform(n, rng, *, sides):
    return {"x": rng.uniform(0.0, 1.0, size=(n, len(sides))) * sides}


def _sample_student(n, rng, *, chol, df):
    z = rng.standard_normal((n, chol.shape[0])) @ chol.T
    return {"x": z / np.sqrt(rng.chisquare(df, size=n) / df)[:, None]}


def _sample_cube(n, rng, *, d):
    return {"x": rng.standard_normal((n, d)) ** 3}


def _sample_mixture(n, rng, *, weights, means, chols):
    k = rng.choice(len(weights), size=n, p=weights)
    z = rng.standard_normal((n, means.shape[1]))
    x = np.empty_like(z)
    for j in range(len(weights)):
        rows = k == j
        x[rows] = means[j] + z[rows] @ chols[j].T
    return {"x": x}


# ------------------------------------------------------------------ mixtures


def mixture_logpdf(x: np.ndarray, weights, means, covs) -> np.ndarray:
    """log density of sum_k w_k N(means_k, covs_k) at the rows of x."""
    x = np.atleast_2d(x)
    terms = []
    for w, mu, cov in zip(weights, means, covs):
        chol = np.linalg.cholesky(cov)
        sol = np.linalg.solve(chol, (x - mu).T)
        terms.append(np.log(w) - 0.5 * (sol * sol).sum(0) - 0.5 * logdet(cov)
                     - 0.5 * len(mu) * np.log(2 * np.pi))
    return logsumexp(np.array(terms), axis=0)


def mixture_entropy_quadrature(weights, means, covs, nodes: int = 60) -> float:
    """-E log p by tensor Gauss-Hermite under each component (1-3 D)."""
    grid, gw = gauss_hermite_grid(nodes, len(means[0]))
    h = 0.0
    for wk, mu, cov in zip(weights, means, covs):
        x = mu + grid @ np.linalg.cholesky(cov).T
        h -= wk * float(gw @ mixture_logpdf(x, weights, means, covs))
    return h


def mixture_entropy_1d(weights, means, sds, points: int = 40_001) -> float:
    """-int p log p for a 1-D normal mixture: trapezoid rule on a fine grid over
    +-14 sd (spectrally accurate for a smooth, fast-decaying integrand)."""
    covs = [np.array([[s * s]]) for s in sds]
    mus = [np.array([m]) for m in means]
    lo = min(m - 14 * s for m, s in zip(means, sds))
    hi = max(m + 14 * s for m, s in zip(means, sds))
    grid = np.linspace(lo, hi, points)
    lp = mixture_logpdf(grid[:, None], weights, mus, covs)
    return float(-np.sum(np.exp(lp) * lp) * (grid[1] - grid[0]))


def mixture_entropy_mc(weights, means, covs, n: int, seed: int) -> tuple[float, float]:
    """(-mean log p, standard error) over n draws from the mixture."""
    rng = np.random.default_rng(seed)
    chols = [np.linalg.cholesky(c) for c in covs]
    x = _sample_mixture(n, rng, weights=np.asarray(weights), means=np.asarray(means),
                        chols=chols)["x"]
    lp = mixture_logpdf(x, weights, means, covs)
    return float(-lp.mean()), float(lp.std(ddof=1) / np.sqrt(n))


def _mixture_task(name, weights, means, covs, truth, error, how, tags=()):
    weights = np.asarray(weights, dtype=np.float64)
    means = np.atleast_2d(np.asarray(means, dtype=np.float64))
    chols = [np.linalg.cholesky(np.atleast_2d(c)) for c in covs]
    d = means.shape[1]
    return _entropy_task(name, truth, d,
                 partial(_sample_mixture, weights=weights, means=means, chols=chols),
                 ("gaussian-mixture", "multimodal") + tuple(tags),
                 f"{len(weights)}-component Gaussian mixture in {d}-D; h by {how}",
                 truth_error=error,
                 params={"weights": weights, "means": means,
                         "covariances": [np.atleast_2d(c) for c in covs]})


# ------------------------------------------------------------------ builders


def _corr_covariance(d: int) -> np.ndarray:
    s = np.geomspace(0.5, 2.0, d) if d > 1 else np.ones(1)
    idx = np.arange(d)
    return np.outer(s, s) * 0.6 ** np.abs(idx[:, None] - idx[None, :])


def gaussian(d: int, correlated: bool = False) -> Task:
    cov = _corr_covariance(d) if correlated else np.eye(d)
    name = f"entropy-gaussian-{d}" + ("-corr" if correlated else "")
    return _entropy_task(name, gaussian_entropy(cov), d,
                 partial(_sample_gaussian, chol=np.linalg.cholesky(cov)),
                 ("gaussian",) + (("correlated",) if correlated else ()),
                 f"N(0, {'S (AR(1) 0.6, scales 0.5-2)' if correlated else 'I'}) in {d}-D; "
                 "h = 1/2 log det(2 pi e S)", params={"covariance": cov})


def uniform(sides) -> Task:
    sides = np.asarray(sides, dtype=np.float64)
    d = len(sides)
    return _entropy_task(f"entropy-uniform-{d}", float(np.log(sides).sum()), d,
                 partial(_sample_uniform, sides=sides), ("uniform", "bounded"),
                 f"uniform box with sides {', '.join(f'{a:g}' for a in sides)}; h = sum log a_i",
                 params={"sides": sides})


def student(d: int, df: float, correlated: bool = False) -> Task:
    disp = _corr_covariance(d) if correlated else np.eye(d)
    name = f"entropy-student-{d}-{df:g}" + ("-corr" if correlated else "")
    return _entropy_task(name, student_entropy(d, df, logdet(disp)), d,
                 partial(_sample_student, chol=np.linalg.cholesky(disp), df=float(df)),
                 ("student", "heavy-tailed"),
                 f"Student-t in {d}-D, dof {df:g}, "
                 f"{'AR(1) dispersion' if correlated else 'identity dispersion'}; closed form",
                 params={"df": df, "dispersion": disp})


def cube_gaussian(d: int) -> Task:
    return _entropy_task(f"entropy-cube-gaussian-{d}", d * CUBE_GAUSSIAN_PER_DIM, d,
                 partial(_sample_cube, d=d), ("transformed", "heavy-tailed", "cube"),
                 f"X^3 of N(0, I_{d}); h = {d} (1/2 log 2 pi e + log 3 - gamma - log 2)",
                 params={"d": d})


def mixtures() -> list[Task]:
    out = []
    w1, m1, s1 = [0.5, 0.5], [-2.0, 2.0], [1.0, 0.5]
    h1 = mixture_entropy_1d(w1, m1, s1)
    e1 = abs(mixture_entropy_1d(w1, m1, s1, points=20_001) - h1)
    out.append(_mixture_task("entropy-mixture-1d", w1, [[m] for m in m1],
                             [np.array([[s * s]]) for s in s1],
                             h1, max(e1, 1e-12), "trapezoid rule on a 40001-point grid"))
    w2 = [0.5, 0.3, 0.2]
    m2 = [np.array([0.0, 0.0]), np.array([3.0, 1.0]), np.array([-1.0, 3.0])]
    c2 = [np.array([[1.0, 0.5], [0.5, 1.0]]), np.array([[0.5, -0.2], [-0.2, 0.8]]),
          np.array([[2.0, 0.0], [0.0, 0.3]])]
    h2 = mixture_entropy_quadrature(w2, m2, c2, nodes=60)
    e2 = abs(mixture_entropy_quadrature(w2, m2, c2, nodes=45) - h2)
    out.append(_mixture_task("entropy-mixture-2d", w2, m2, c2, h2, max(e2, 1e-12),
                             "2-D Gauss-Hermite quadrature"))
    # 10-D, isotropic components with means in a fixed random 2-D plane: the 8
    # orthogonal coordinates are N(0, s^2) noise independent of the rest
    d, s = 10, 0.8
    q, _ = np.linalg.qr(_rng("entropy-mixture-10d-isotropic").standard_normal((d, d)))
    low = [np.array([0.0, 0.0]), np.array([2.5, 0.0]), np.array([0.0, 2.5])]
    w3 = [1 / 3, 1 / 3, 1 / 3]
    h_low = mixture_entropy_quadrature(w3, low, [s * s * np.eye(2)] * 3, nodes=60)
    e_low = abs(mixture_entropy_quadrature(w3, low, [s * s * np.eye(2)] * 3, nodes=45) - h_low)
    h3 = h_low + 0.5 * (d - 2) * np.log(2 * np.pi * np.e * s * s)
    out.append(_mixture_task("entropy-mixture-10d-isotropic", w3, [q[:, :2] @ m for m in low],
                             [s * s * np.eye(d)] * 3, h3, max(e_low, 1e-12),
                             "2-D quadrature in the plane of the means + Gaussian rest"))
    # 5-D anisotropic: no reduction; Monte Carlo of -E log p with a fixed seed
    g = _rng("entropy-mixture-5d")
    w4 = [0.4, 0.35, 0.25]
    m4 = [g.normal(0.0, 1.5, 5) for _ in w4]
    c4 = []
    for _ in w4:
        a = g.standard_normal((5, 5)) * 0.4
        c4.append(a @ a.T + np.diag(g.uniform(0.3, 1.0, 5)))
    h4, se4 = mixture_entropy_mc(w4, m4, c4, n=200_000, seed=20231)
    out.append(_mixture_task("entropy-mixture-5d", w4, m4, c4, h4, se4,
                             "Monte Carlo (2e5 draws, fixed seed; error = 1 standard error)"))
    return out


def suite() -> list[Task]:
    tasks = [gaussian(1), gaussian(2, True), gaussian(5), gaussian(10, True),
             gaussian(20, True), gaussian(64), gaussian(64, True)]
    tasks += [uniform([1.0]), uniform([1.0, 3.0]), uniform([0.5, 1.0, 2.0, 3.0, 4.0]),
              uniform([2.0] * 10)]
    tasks += [student(1, 3), student(2, 5, correlated=True), student(5, 2), student(10, 4)]
    tasks += [cube_gaussian(d) for d in (1, 2, 5, 10)]
    return tasks + mixtures()


for _task in suite():
    register(_task)
del _task
