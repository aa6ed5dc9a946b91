"""Conditional-MI tasks: linear Gaussian models with I(X; Y | Z) from covariance log-dets.

Every task is ``(X, Y, Z) = A e`` with ``e`` iid standard normal, so the joint
is normal with covariance ``A A^T`` and

    I(X; Y | Z) = 1/2 [log det S_XZ + log det S_YZ - log det S_Z - log det S_XYZ].

* ``cmi-chain-*``: a Markov chain X -> Z -> Y; I(X; Y | Z) = 0 although
  I(X; Y) > 0 (an estimator must not report the marginal dependence).
* ``cmi-pairs-*``: X = Z + A, Y = M Z + B with (A_i, B_i) correlated pairs;
  I(X; Y | Z) = I(A; B) = -d/2 log(1 - rho^2).
* ``cmi-collider-1-1-1``: X, Y independent, Z = X + Y + noise; I(X; Y) = 0
  but conditioning on the collider makes them dependent.
"""

from __future__ import annotations

import zlib
from functools import partial

import numpy as np

from . import Task, register
from ._closed import gaussian_cmi, gaussian_mi, rho_for_mi

FAMILY = "cmi"


def _sample_linear(n: int, rng: np.random.Generator, *, mixing: np.ndarray,
                   dims: tuple[int, int, int]) -> dict:
    v = rng.standard_normal((n, mixing.shape[1])) @ mixing.T
    dx, dy, _ = dims
    return {"x": v[:, :dx], "y": v[:, dx:dx + dy], "z": v[:, dx + dy:]}


def linear_gaussian_task(name: str, mixing: np.ndarray, dims: tuple[int, int, int],
                         description: str, tags=()) -> Task:
    """(X, Y, Z) = mixing @ e, rows ordered X, Y, Z."""
    mixing = np.asarray(mixing, dtype=np.float64)
    dx, dy, dz = dims
    cov = mixing @ mixing.T
    ix, iy = list(range(dx)), list(range(dx, dx + dy))
    iz = list(range(dx + dy, dx + dy + dz))
    truth = max(0.0, gaussian_cmi(cov, ix, iy, iz))
    if truth < 1e-12:
        truth = 0.0
    marginal = gaussian_mi(cov[: dx + dy, : dx + dy], dx)
    return Task(
        name=name, measure="conditional_mutual_information", family=FAMILY, truth=truth,
        dims={"x": dx, "y": dy, "z": dz},
        sampler=partial(_sample_linear, mixing=mixing, dims=(dx, dy, dz)),
        tags=("gaussian", "conditional") + tuple(tags),
        description=f"{description}; I(X;Y|Z) from covariance log-dets (I(X;Y) = {marginal:.4f})",
        params={"mixing": mixing, "covariance": cov, "marginal_mi": marginal},
    )


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def chain(d: int, noise: float = 0.5) -> Task:
    """X -> Z -> Y in d dimensions each: Z = M X + noise, Y = N Z + noise."""
    name = f"cmi-chain-{d}-{d}-{d}"
    g = _rng(name)
    m = 0.5 * g.standard_normal((d, d)) / np.sqrt(d) + np.eye(d)
    k = 0.5 * g.standard_normal((d, d)) / np.sqrt(d) + np.eye(d)
    # latent order: e_x (d), e_z (d), e_y (d)
    ex = np.hstack([np.eye(d), np.zeros((d, 2 * d))])
    ez = np.hstack([np.zeros((d, d)), noise * np.eye(d), np.zeros((d, d))])
    ey = np.hstack([np.zeros((d, 2 * d)), noise * np.eye(d)])
    x = ex
    z = m @ x + ez
    y = k @ z + ey
    return linear_gaussian_task(name, np.vstack([x, y, z]), (d, d, d),
                                f"Markov chain X -> Z -> Y, {d}-D each", tags=("zero-cmi",))


def pairs(d: int, mi: float) -> Task:
    """X = Z + A, Y = M Z + B; (A_i, B_i) pairs with total MI ``mi``: I(X;Y|Z) = mi."""
    name = f"cmi-pairs-{d}-{d}-{d}-mi-{mi:g}"
    rho = rho_for_mi(mi / d)
    m = _rng(name).standard_normal((d, d)) / np.sqrt(d)
    # latent order: e_z (d), e_a (d), e_b (d); B = rho A' + sqrt(1 - rho^2) e_b
    z = np.hstack([np.eye(d), np.zeros((d, 2 * d))])
    a = np.hstack([np.zeros((d, d)), np.eye(d), np.zeros((d, d))])
    b = np.hstack([np.zeros((d, d)), rho * np.eye(d), np.sqrt(1 - rho * rho) * np.eye(d)])
    x = z + a
    y = m @ z + b
    return linear_gaussian_task(name, np.vstack([x, y, z]), (d, d, d),
                                f"X = Z + A, Y = M Z + B, {d} (A_i, B_i) pairs of correlation "
                                f"{rho:.4f}")


def collider(noise: float = 0.5) -> Task:
    """X, Y independent N(0, 1), Z = X + Y + noise."""
    mixing = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, noise]])
    return linear_gaussian_task("cmi-collider-1-1-1", mixing, (1, 1, 1),
                                f"collider: X, Y independent, Z = X + Y + {noise:g} N(0, 1)",
                                tags=("collider",))


def suite() -> list[Task]:
    return [chain(1), chain(3), pairs(1, 0.5), pairs(3, 1.0), pairs(5, 2.0), collider()]


for _task in suite():
    register(_task)
del _task
