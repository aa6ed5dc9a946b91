"""bmi's v2 suite (Czyż et al., TMLR 2025, "On the properties and estimation of
pointwise mutual information profiles"), reimplemented from the definitions.

The 26 tasks of bmi's ``workflows/benchmark/v2/config.py`` under bmi's task
ids. Thirteen of them are bmi v1 tasks (additive noise, asinh Student-t,
Swiss roll, dense and 2-pair normals, spirals) and stay registered in the
``bmi`` family; :func:`infocli.tasks.select` with ``family="bmi2"`` lists them
too. The thirteen new ones are Gaussian mixtures, some pushed through
invertible maps of X (which keep the MI):

* ``1v1-X-0.9``: ``1/2 N(0, [[1, 0.9], [0.9, 1]]) + 1/2 N(0, [[1, -0.9], [-0.9, 1]])``;
* ``1v1-AI``: six components drawing the letters "A" and "I";
* ``2v1-galaxy-0.5-3.0``: two unit-covariance balls at +-1.5 (1, 1, 1) in 2 x 1,
  X spiralled by ``x -> exp(0.5 ||x||^2 A) x``;
* ``2v1-waves-12-5.0-3.0``: twelve components along a line, X sheared by
  ``x_0 += 5 sin(3 x_1)`` and rescaled;
* ``DXv1-concentric_gaussians-K``: ``X | c ~ N(0, c^2 I)``,
  ``Y | c ~ N(c, 10^-4)``, ``c`` uniform on 1..K;
* ``mult-sparse-w-inliers-DX-DY-2-2.0-F``: the 2-pair sparse normal mixed
  with weight ``F`` with the product of its marginals (independent "inliers").

Truths are Monte Carlo means of the pointwise MI
``log p(x, y) - log p(x) - log p(y)`` (exact for mixtures: their marginals are
mixtures of the components' marginals), computed once by :func:`monte_carlo_mi`
with many more samples than bmi's 10^5 and stored here with their standard
error (``Task.truth_error``). For the inlier tasks the pointwise MI depends on
the two interacting pairs only, so their truth is a 4-D expectation, the same
at 5 x 5 and 25 x 25. bmi's v2 workflow rescales every column (as v1), so these
tasks standardise by default.

``benchmarks/bmi2_crosscheck.py`` compares truths and samples with
``benchmark-mi``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.special import logsumexp

from . import Task, add_to_family, register
from .bmi import sparse_correlation, spiral

FAMILY = "bmi2"

#: bmi v1 tasks that bmi's v2 benchmark also runs (registered by ``bmi.py``).
FROM_V1 = (
    "1v1-additive-0.75",
    "asinh-student-identity-1-1-1",
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    "multinormal-dense-5-5-0.5",
    "multinormal-dense-25-25-0.5",
    "multinormal-dense-50-50-0.5",
    "multinormal-sparse-5-5-2-2.0",
    "multinormal-sparse-25-25-2-2.0",
    "asinh-student-identity-2-2-1",
    "asinh-student-identity-3-3-2",
    "asinh-student-identity-5-5-2",
    "spiral-multinormal-sparse-3-3-2-2.0",
    "spiral-multinormal-sparse-5-5-2-2.0",
)


# ------------------------------------------------------------------ Gaussian mixtures


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture of normals on (X, Y): weights (K,), means (K, d), covariances (K, d, d)."""

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    dim_x: int

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        z = rng.standard_normal((n, self.means.shape[1]))
        out = np.empty_like(z)
        for k in range(len(self.weights)):
            rows = comp == k
            out[rows] = self.means[k] + z[rows] @ np.linalg.cholesky(self.covs[k]).T
        return out

    def logpdf(self, a: np.ndarray, cols: slice) -> np.ndarray:
        """log density of the marginal on ``cols`` at the rows of ``a`` (already cut to cols)."""
        terms = []
        for w, m, c in zip(self.weights, self.means, self.covs):
            c = c[cols, cols]
            chol = np.linalg.cholesky(c)
            sol = np.linalg.solve(chol, (a - m[cols]).T)
            terms.append(np.log(w) - 0.5 * np.einsum("ij,ij->j", sol, sol)
                         - np.log(np.diag(chol)).sum() - 0.5 * c.shape[0] * np.log(2 * np.pi))
        return logsumexp(np.stack(terms), axis=0)

    def pointwise_mi(self, xy: np.ndarray) -> np.ndarray:
        dx = self.dim_x
        joint = slice(0, xy.shape[1])
        return (self.logpdf(xy, joint) - self.logpdf(xy[:, :dx], slice(0, dx))
                - self.logpdf(xy[:, dx:], slice(dx, xy.shape[1])))


def monte_carlo_mi(mixture: GaussianMixture, n: int, seed: int = 0,
                   chunk: int = 200_000) -> tuple[float, float]:
    """MI (nats) of ``mixture`` and its standard error: the mean of the pointwise MI
    over ``n`` draws (in chunks, to bound memory)."""
    rng = np.random.default_rng(seed)
    total = total_sq = 0.0
    done = 0
    while done < n:
        m = min(chunk, n - done)
        pmi = mixture.pointwise_mi(mixture.sample(m, rng))
        total += pmi.sum()
        total_sq += (pmi ** 2).sum()
        done += m
    mean = total / n
    var = max(total_sq / n - mean ** 2, 0.0)
    return float(mean), float(np.sqrt(var / n))


def _mixture(weights, means, covs, dim_x) -> GaussianMixture:
    return GaussianMixture(np.asarray(weights, float), np.asarray(means, float),
                           np.asarray(covs, float), int(dim_x))


def x_mixture(correlation: float = 0.9) -> GaussianMixture:
    covs = [[[1.0, s * correlation], [s * correlation, 1.0]] for s in (-1, 1)]
    return _mixture([0.5, 0.5], np.zeros((2, 2)), covs, 1)


def ai_mixture() -> GaussianMixture:
    corr, var_x = 0.95, 0.04
    off = np.sqrt(var_x * 0.2) * corr
    means = [[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [-0.8, -0.2], [-1.2, 0.0], [-0.4, 0.0]]
    covs = [np.diag([0.01, 0.2]), np.diag([0.05, 0.001]), np.diag([0.05, 0.001]),
            np.diag([0.03, 0.001]), [[var_x, off], [off, 0.2]], [[var_x, -off], [-off, 0.2]]]
    return _mixture(np.full(6, 1 / 6), means, covs, 1)


def galaxy_mixture(distance: float = 3.0) -> GaussianMixture:
    means = [np.full(3, s * distance / 2) for s in (-1, 1)]
    return _mixture([0.5, 0.5], means, [np.eye(3)] * 2, 2)


def waves_mixture(n_components: int = 12) -> GaussianMixture:
    means = [np.array([i, 0.0, i % 4]) * 1.5 for i in range(n_components)]
    return _mixture(np.full(n_components, 1 / n_components), means,
                    [np.diag([0.1, 1.0, 0.1])] * n_components, 2)


def concentric_mixture(dim_x: int, n_components: int) -> GaussianMixture:
    ks = range(1, n_components + 1)
    means = [np.r_[np.zeros(dim_x), float(i)] for i in ks]
    covs = [np.diag([i ** 2] * dim_x + [1e-4]) for i in ks]
    return _mixture(np.full(n_components, 1 / n_components), means, covs, dim_x)


def inliers_mixture(dim_x: int, dim_y: int, inlier_fraction: float,
                    n_interacting: int = 2, strength: float = 2.0) -> GaussianMixture:
    signal = sparse_correlation(dim_x, dim_y, n_interacting, strength)
    noise = signal.copy()
    noise[:dim_x, dim_x:] = noise[dim_x:, :dim_x] = 0.0
    d = dim_x + dim_y
    return _mixture([1 - inlier_fraction, inlier_fraction], np.zeros((2, d)), [signal, noise],
                    dim_x)


# ------------------------------------------------------------------ samplers


def _sample_mixture(n: int, rng: np.random.Generator, *, mixture: GaussianMixture) -> dict:
    xy = mixture.sample(n, rng)
    return {"x": xy[:, :mixture.dim_x], "y": xy[:, mixture.dim_x:]}


def _sample_galaxy(n: int, rng: np.random.Generator, *, mixture: GaussianMixture,
                   speed: float) -> dict:
    out = _sample_mixture(n, rng, mixture=mixture)
    return {"x": spiral(out["x"], plane=(0, 1), speed=speed), "y": out["y"]}


def waves_map(x: np.ndarray, amplitude: float = 5.0, frequency: float = 3.0) -> np.ndarray:
    """bmi's Waves map of X (invertible): shear ``x_0 += a sin(f x_1)``, then
    ``(0.1 x_0 - 0.8, 0.5 x_1)``."""
    x0 = x[:, 0] + amplitude * np.sin(frequency * x[:, 1])
    return np.column_stack([0.1 * x0 - 0.8, 0.5 * x[:, 1]])


def _sample_waves(n: int, rng: np.random.Generator, *, mixture: GaussianMixture,
                  amplitude: float, frequency: float) -> dict:
    out = _sample_mixture(n, rng, mixture=mixture)
    return {"x": waves_map(out["x"], amplitude, frequency), "y": out["y"]}


# ------------------------------------------------------------------ the v2 suite

#: Monte Carlo truths (nats), their standard errors and the number of draws:
#: ``monte_carlo_mi`` with seed 2025 (``python -m infocli.tasks.bmi2 10000000``
#: recomputes them, ~10 CPU minutes). Inlier tasks: one 4-D expectation for both
#: dimensions.
TRUTHS: dict[str, tuple[float, float, int]] = {
    "1v1-X-0.9": (0.408192, 2.4e-04, 10000000),
    "1v1-AI": (0.775399, 2.8e-04, 10000000),
    "2v1-galaxy-0.5-3.0": (0.494361, 1.6e-04, 10000000),
    "2v1-waves-12-5.0-3.0": (1.306843, 1.2e-04, 10000000),
    "3v1-concentric_gaussians-5": (0.455556, 2.1e-04, 10000000),
    "5v1-concentric_gaussians-5": (0.627494, 2.2e-04, 10000000),
    "3v1-concentric_gaussians-10": (0.560190, 2.4e-04, 10000000),
    "5v1-concentric_gaussians-10": (0.751606, 2.5e-04, 10000000),
    "25v1-concentric_gaussians-5": (1.191212, 2.0e-04, 10000000),
    "mult-sparse-w-inliers-5-5-2-2.0-0.2": (0.636103, 3.7e-04, 10000000),
    "mult-sparse-w-inliers-25-25-2-2.0-0.2": (0.636103, 3.7e-04, 10000000),
    "mult-sparse-w-inliers-5-5-2-2.0-0.5": (0.269791, 2.7e-04, 10000000),
    "mult-sparse-w-inliers-25-25-2-2.0-0.5": (0.269791, 2.7e-04, 10000000),
}


def _task(name: str, mixture: GaussianMixture, sampler, tags, description: str,
          params: dict) -> Task:
    truth, error, draws = TRUTHS[name]
    return Task(
        name=name, measure="mutual_information", family=FAMILY, truth=truth,
        dims={"x": mixture.dim_x, "y": mixture.means.shape[1] - mixture.dim_x},
        sampler=sampler, tags=("mixture",) + tuple(tags),
        description=f"{description}; I by Monte Carlo over {draws:.0e} draws",
        standardize=True, params=params, truth_error=error,
    )


def _specs() -> list[tuple[str, GaussianMixture, object, tuple, str, dict]]:
    """(name, mixture, sampler, tags, description, params) of the 13 new v2 tasks."""
    out = []
    m = x_mixture(0.9)
    out.append(("1v1-X-0.9", m, partial(_sample_mixture, mixture=m), ("1v1",),
                "X: two bivariate normals of correlation +-0.9", {"gaussian_correlation": 0.9}))
    m = ai_mixture()
    out.append(("1v1-AI", m, partial(_sample_mixture, mixture=m), ("1v1",),
                "AI: six narrow normals drawing the letters A and I", {}))
    m = galaxy_mixture(3.0)
    out.append(("2v1-galaxy-0.5-3.0", m, partial(_sample_galaxy, mixture=m, speed=0.5),
                ("spiral", "transformed"),
                "Galaxy: two unit balls at +-1.5 (1,1,1), X spiralled at speed 0.5",
                {"speed": 0.5, "distance": 3.0}))
    m = waves_mixture(12)
    out.append(("2v1-waves-12-5.0-3.0", m,
                partial(_sample_waves, mixture=m, amplitude=5.0, frequency=3.0),
                ("transformed",), "Waves: 12 normals along a line, X sheared by 5 sin(3 x_1)",
                {"n_components": 12, "wave_amplitude": 5.0, "wave_frequency": 3.0}))
    for dim_x, k in ((3, 5), (5, 5), (3, 10), (5, 10), (25, 5)):
        m = concentric_mixture(dim_x, k)
        out.append((f"{dim_x}v1-concentric_gaussians-{k}", m, partial(_sample_mixture, mixture=m),
                    ("concentric",),
                    f"concentric: X|c ~ N(0, c^2 I_{dim_x}), Y|c ~ N(c, 1e-4), c uniform on 1..{k}",
                    {"dim_x": dim_x, "n_components": k}))
    for d, f in ((5, 0.2), (25, 0.2), (5, 0.5), (25, 0.5)):
        m = inliers_mixture(d, d, f)
        out.append((f"mult-sparse-w-inliers-{d}-{d}-2-2.0-{f}", m,
                    partial(_sample_mixture, mixture=m), ("sparse", "2-pair", "inliers"),
                    f"2-pair sparse normal {d} x {d} with {f:.0%} independent inliers "
                    "(product of its marginals)",
                    {"dim_x": d, "dim_y": d, "n_interacting": 2, "strength": 2.0,
                     "inlier_fraction": f}))
    return out


def _truth_mixture(name: str, mixture: GaussianMixture) -> GaussianMixture:
    # inliers: the pointwise MI lives on the two interacting pairs
    if name.startswith("mult-sparse-w-inliers-"):
        return inliers_mixture(2, 2, float(name.rsplit("-", 1)[1]))
    return mixture


def compute_truths(draws: int = 10_000_000, seed: int = 2025) -> dict:
    """Recompute :data:`TRUTHS` (minutes)."""
    return {name: (*monte_carlo_mi(_truth_mixture(name, m), draws, seed), draws)
            for name, m, *_ in _specs()}


def new_tasks() -> list[Task]:
    return [_task(name, m, s, tags, desc, params) for name, m, s, tags, desc, params in _specs()]


def v2_suite() -> list[Task]:
    """The 26 tasks of bmi's v2 benchmark, in bmi's order (``v2/config.py``)."""
    from . import get

    new = {t.name: t for t in new_tasks()}
    order = ("1v1-additive-0.75", "asinh-student-identity-1-1-1", "1v1-X-0.9", "1v1-AI",
             "swissroll_x-normal_cdf-1v1-normal-0.75", "2v1-waves-12-5.0-3.0",
             "2v1-galaxy-0.5-3.0", "3v1-concentric_gaussians-5", "5v1-concentric_gaussians-5",
             "3v1-concentric_gaussians-10", "5v1-concentric_gaussians-10",
             "25v1-concentric_gaussians-5", "multinormal-dense-5-5-0.5",
             "multinormal-dense-25-25-0.5", "multinormal-dense-50-50-0.5",
             "multinormal-sparse-5-5-2-2.0", "multinormal-sparse-25-25-2-2.0",
             "mult-sparse-w-inliers-5-5-2-2.0-0.2", "mult-sparse-w-inliers-25-25-2-2.0-0.2",
             "mult-sparse-w-inliers-5-5-2-2.0-0.5", "mult-sparse-w-inliers-25-25-2-2.0-0.5",
             "asinh-student-identity-2-2-1", "asinh-student-identity-3-3-2",
             "asinh-student-identity-5-5-2", "spiral-multinormal-sparse-3-3-2-2.0",
             "spiral-multinormal-sparse-5-5-2-2.0")
    return [new[n] if n in new else get(n) for n in order]


for _task_ in new_tasks():
    register(_task_)
del _task_
for _name in FROM_V1:
    add_to_family(FAMILY, _name)
del _name


if __name__ == "__main__":  # pragma: no cover - recomputes the stored truths
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    for name, (t, e, d) in compute_truths(n).items():
        print(f'    "{name}": ({t:.6f}, {e:.1e}, {d}),')
