"""Closed-form information values used as task truths (nats).

Plain functions on parameters; no sampling here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import digamma, gammaln

EULER_GAMMA = 0.57721566490153286061


def logdet(cov: np.ndarray) -> float:
    """log det of a symmetric positive-definite matrix (via Cholesky)."""
    chol = np.linalg.cholesky(np.asarray(cov, dtype=np.float64))
    return float(2.0 * np.sum(np.log(np.diag(chol))))


def gaussian_entropy(cov: np.ndarray) -> float:
    """h(N(mu, cov)) = 1/2 log det(2 pi e cov)."""
    cov = np.atleast_2d(cov)
    d = cov.shape[0]
    return 0.5 * (d * (1.0 + np.log(2.0 * np.pi)) + logdet(cov))


def gaussian_mi(cov: np.ndarray, dim_x: int) -> float:
    """I(X; Y) of a joint normal with covariance ``cov``, X the first ``dim_x`` columns:
    1/2 log(det S_xx det S_yy / det S)."""
    cov = np.asarray(cov, dtype=np.float64)
    return 0.5 * (logdet(cov[:dim_x, :dim_x]) + logdet(cov[dim_x:, dim_x:]) - logdet(cov))


def gaussian_cmi(cov: np.ndarray, ix, iy, iz) -> float:
    """I(X; Y | Z) of a joint normal; ``ix, iy, iz`` index the columns of each variable.

    I = 1/2 [log det S_xz + log det S_yz - log det S_z - log det S_xyz].
    """
    cov = np.asarray(cov, dtype=np.float64)

    def ld(idx):
        idx = np.asarray(idx, dtype=int)
        return logdet(cov[np.ix_(idx, idx)]) if idx.size else 0.0

    ix, iy, iz = (list(np.atleast_1d(i)) for i in (ix, iy, iz))
    return 0.5 * (ld(ix + iz) + ld(iy + iz) - ld(iz) - ld(ix + iy + iz))


def student_entropy(k: int, df: float, logdet_dispersion: float = 0.0) -> float:
    """h of a k-variate Student-t with ``df`` degrees of freedom and dispersion S:

    h = log G(df/2) - log G((df+k)/2) + k/2 log(df pi) + 1/2 log det S
        + (df+k)/2 [psi((df+k)/2) - psi(df/2)]

    (Arellano-Valle, Contreras-Reyes & Genton 2013, Eq. 7).
    """
    half = 0.5 * (df + k)
    return float(gammaln(0.5 * df) - gammaln(half) + 0.5 * k * np.log(df * np.pi)
                 + 0.5 * logdet_dispersion + half * (digamma(half) - digamma(0.5 * df)))


def student_mi(dispersion: np.ndarray, dim_x: int, df: float) -> float:
    """I(X; Y) of a joint Student-t: h(X) + h(Y) - h(X, Y) with the entropies above.

    The dispersion enters only through the Gaussian term, so this is the
    Gaussian MI of the dispersion plus a correction depending on (dx, dy, df).
    (The paper's final closed form is slightly off; the entropies are not.)
    """
    dispersion = np.asarray(dispersion, dtype=np.float64)
    d = dispersion.shape[0]
    dim_y = d - dim_x
    correction = (student_entropy(dim_x, df) + student_entropy(dim_y, df)
                  - student_entropy(d, df))
    return gaussian_mi(dispersion, dim_x) + correction


def rho_for_mi(mi_per_pair: float) -> float:
    """Correlation of a bivariate normal pair with I = mi_per_pair nats."""
    return float(np.sqrt(-np.expm1(-2.0 * mi_per_pair)))


@lru_cache(maxsize=16)
def gauss_hermite_grid(nodes: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Gauss-Hermite rule for E f(Z), Z ~ N(0, I_dim): (points (q^dim, dim), weights).

    E f(Z) ~= sum_i w_i f(z_i), exact for polynomials of degree < 2 q per coordinate.
    """
    from numpy.polynomial.hermite import hermgauss

    t, w = hermgauss(nodes)
    mesh = np.meshgrid(*([t] * dim), indexing="ij")
    points = np.sqrt(2.0) * np.stack([m.ravel() for m in mesh], axis=1)
    wmesh = np.meshgrid(*([w] * dim), indexing="ij")
    weights = np.prod(np.stack([m.ravel() for m in wmesh], axis=1), axis=1) / np.pi ** (dim / 2)
    points.setflags(write=False)
    weights.setflags(write=False)
    return points, weights
