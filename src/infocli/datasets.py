"""Test data with known mutual information, at any size (seeded).

Construction (Butakov et al., ICLR 2024): correlated Gaussian latents with an
exact MI, each side rotated by a random orthogonal matrix, pushed through the
normal CDF to [0, 1]^d, then through a smooth injective map into a
high-dimensional space. MI is unchanged by injective maps, so the images below
carry exactly the latents' MI.

>>> x, y, mi = infocli.datasets.known_mi("gaussian_bumps", n=5000, mi=2.0, seed=0)
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtr
from scipy.stats import ortho_group

from .errors import ParameterError

KINDS = ("gaussian", "uniform", "gaussian_bumps", "rectangles")


def correlated_latents(n: int, dim: int, mi: float, *, seed: int = 0):
    """(zx, zy), each (n, dim) standard normal, with I(zx; zy) = mi nats exactly.

    Each of the dim coordinate pairs has correlation rho = sqrt(1 - exp(-2 mi / dim));
    then each side is rotated by its own random orthogonal matrix.
    """
    if mi < 0:
        raise ParameterError(f"mi={mi}: expected a non-negative number of nats")
    if n < 1 or dim < 1:
        raise ParameterError(f"n={n}, dim={dim}: expected positive integers")
    rng = np.random.default_rng(seed)
    rho = np.sqrt(1.0 - np.exp(-2.0 * mi / dim))
    zx = rng.standard_normal((n, dim))
    zy = rho * zx + np.sqrt(1.0 - rho**2) * rng.standard_normal((n, dim))
    if dim > 1:
        zx = zx @ ortho_group.rvs(dim, random_state=rng)
        zy = zy @ ortho_group.rvs(dim, random_state=rng)
    return zx, zy


def gaussian_bumps(u: np.ndarray, size: int = 16, width: float = 0.12) -> np.ndarray:
    """Images (n, size*size) of one Gaussian bump centred at 0.2 + 0.6 u (u in [0,1]^2)."""
    grid = np.linspace(0.0, 1.0, size)
    cx = 0.2 + 0.6 * u[:, 0]
    cy = 0.2 + 0.6 * u[:, 1]
    gx = np.exp(-((grid[None, :] - cx[:, None]) ** 2) / (2 * width**2))
    gy = np.exp(-((grid[None, :] - cy[:, None]) ** 2) / (2 * width**2))
    return (gy[:, :, None] * gx[:, None, :]).reshape(len(u), size * size)


def rectangles(u: np.ndarray, size: int = 32, softness: float = 0.02) -> np.ndarray:
    """Images (n, size*size) of a soft-edged rectangle; u in [0,1]^4 sets its centre
    (0.3 + 0.4 u1, 0.3 + 0.4 u2) and half-sizes (0.08 + 0.12 u3, 0.08 + 0.12 u4)."""
    grid = np.linspace(0.0, 1.0, size)
    cx, cy = 0.3 + 0.4 * u[:, 0], 0.3 + 0.4 * u[:, 1]
    hx, hy = 0.08 + 0.12 * u[:, 2], 0.08 + 0.12 * u[:, 3]
    px = expit((hx[:, None] - np.abs(grid[None, :] - cx[:, None])) / softness)
    py = expit((hy[:, None] - np.abs(grid[None, :] - cy[:, None])) / softness)
    return (py[:, :, None] * px[:, None, :]).reshape(len(u), size * size)


def known_mi(kind: str, n: int, mi: float, *, dim: int | None = None, seed: int = 0):
    """(x, y, mi) with I(x; y) = mi nats exactly.

    kind: ``gaussian`` (latents themselves, dim 2 by default), ``uniform``
    (latents through the normal CDF), ``gaussian_bumps`` (2-D latents as 16x16
    images) or ``rectangles`` (4-D latents as 32x32 images).
    """
    if kind not in KINDS:
        raise ParameterError(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
    natural = {"gaussian_bumps": 2, "rectangles": 4}.get(kind, 2)
    if dim is not None and kind in ("gaussian_bumps", "rectangles") and dim != natural:
        raise ParameterError(f"kind {kind!r} has {natural}-dimensional latents, not {dim}")
    zx, zy = correlated_latents(n, dim or natural, mi, seed=seed)
    if kind == "gaussian":
        return zx, zy, float(mi)
    ux, uy = ndtr(zx), ndtr(zy)
    if kind == "uniform":
        return ux, uy, float(mi)
    image = gaussian_bumps if kind == "gaussian_bumps" else rectangles
    return image(ux), image(uy), float(mi)
