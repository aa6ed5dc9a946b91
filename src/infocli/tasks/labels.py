"""Label-Y tasks: Gaussian clusters, X continuous, Y a class label.

``Y ~ Categorical(w)`` over K classes and ``X | Y = k ~ N(mu_k, sigma^2 I_d)``.
The MI

    I(X; Y) = sum_k w_k E_{x ~ N(mu_k, sigma^2 I)} [-log sum_j w_j/w_k
              exp(-(|x - mu_j|^2 - |x - mu_k|^2) / (2 sigma^2))]

has no closed form; it is computed by tensor Gauss-Hermite quadrature. With
isotropic clusters only the affine span of the means matters (the orthogonal
coordinates are the same noise in every class and cancel), so the quadrature
runs in ``m = rank`` of the centred means, at most 3 here; the stated error
(``truth_error``) is the change from a rule with a quarter fewer nodes
(at most ~1e-5; tests check the truths against Monte Carlo of the
log-density ratio and, in 1-D, adaptive quadrature).
``y`` is returned as integer codes of shape (n, 1) (``discrete = ("y",)``).
"""

from __future__ import annotations

import zlib
from functools import partial

import numpy as np
from scipy.special import logsumexp

from . import Task, register
from ._closed import gauss_hermite_grid

FAMILY = "labels"
_NODES = {1: 160, 2: 72, 3: 20}  # about 1e-6 or better (see truth_error)


def _sample_clusters(n: int, rng: np.random.Generator, *, means: np.ndarray, sigma: float,
                     weights: np.ndarray) -> dict:
    y = rng.choice(len(weights), size=n, p=weights)
    x = means[y] + sigma * rng.standard_normal((n, means.shape[1]))
    return {"x": x, "y": y.astype(np.int64).reshape(-1, 1)}


def _span(means: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Means in coordinates of their centred affine span: (K, m)."""
    centred = means - weights @ means
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    m = int(np.sum(s > 1e-10 * max(s.max(), 1.0)))
    return centred @ vt[:m].T


def cluster_mi_quadrature(means: np.ndarray, sigma: float, weights: np.ndarray,
                          nodes: int | None = None) -> float:
    """I(X; Y) (nats) of the isotropic Gaussian-cluster model, by Gauss-Hermite."""
    means = np.atleast_2d(np.asarray(means, dtype=np.float64))
    weights = np.asarray(weights, dtype=np.float64)
    low = _span(means, weights)
    m = low.shape[1]
    if m == 0:
        return 0.0
    grid, gw = gauss_hermite_grid(nodes or _NODES.get(m, 12), m)   # E f(Z), Z ~ N(0, I_m)
    logw = np.log(weights)
    total = 0.0
    for k in range(len(weights)):
        x = low[k] + sigma * grid                                    # nodes of N(mu_k, s^2 I)
        sq = ((x[:, None, :] - low[None, :, :]) ** 2).sum(-1)        # (q^m, K)
        log_ratio = -(logsumexp(logw - sq / (2 * sigma ** 2), axis=1)
                      + sq[:, k] / (2 * sigma ** 2))
        total += weights[k] * float(gw @ log_ratio)
    return total


def cluster_task(name: str, means, sigma: float = 1.0, weights=None, tags=()) -> Task:
    means = np.atleast_2d(np.asarray(means, dtype=np.float64))
    k, d = means.shape
    weights = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
    m = _span(means, weights).shape[1]
    truth = cluster_mi_quadrature(means, sigma, weights)
    coarser = cluster_mi_quadrature(means, sigma, weights, nodes=int(_NODES.get(m, 12) * 0.75))
    return Task(
        name=name, measure="mutual_information", family=FAMILY, truth=truth,
        dims={"x": d, "y": 1}, discrete=("y",),
        sampler=partial(_sample_clusters, means=means, sigma=float(sigma), weights=weights),
        tags=("labels", "gaussian-mixture") + tuple(tags),
        description=(f"{k} Gaussian clusters in {d}-D (sigma {sigma:g}, means spanning {m}-D); "
                     f"I by {m}-D Gauss-Hermite quadrature"),
        truth_error=max(abs(coarser - truth), 1e-12), min_n=max(2 * k, d + 2),
        params={"means": means, "sigma": sigma, "weights": weights},
    )


def _fixed_rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _embedded(name: str, low: np.ndarray, d: int) -> np.ndarray:
    """Means given in m <= d coordinates, placed in a fixed random m-D subspace of R^d."""
    q, _ = np.linalg.qr(_fixed_rng(name).standard_normal((d, d)))
    return low @ q[:, : low.shape[1]].T


def suite() -> list[Task]:
    tetra = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float) * 0.9
    triangle = 2.0 * np.array([[np.cos(a), np.sin(a)] for a in 2 * np.pi * np.arange(3) / 3])
    ten = 1.6 * _fixed_rng("labels-5d-10class").standard_normal((10, 3))
    return [
        cluster_task("labels-1d-2class", [[-1.0], [1.0]]),
        cluster_task("labels-1d-4class-unequal", [[0.0], [2.0], [4.0], [6.0]],
                     weights=[0.4, 0.3, 0.2, 0.1], tags=("unbalanced",)),
        cluster_task("labels-2d-3class", triangle),
        cluster_task("labels-3d-4class", tetra),
        cluster_task("labels-5d-2class", _embedded("labels-5d-2class", np.array([[-1.5], [1.5]]), 5)),
        cluster_task("labels-5d-10class", _embedded("labels-5d-10class", ten, 5)),
    ]


for _task in suite():
    register(_task)
del _task
