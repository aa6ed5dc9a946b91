"""High-MI staircase: 20 independent Gaussian coordinate pairs at I = 2, 4, ..., 10 nats.

``staircase-20-20-mi-I``: X and Y are 20-dimensional standard normals whose
coordinate pairs (X_i, Y_i) all have the same correlation
``rho = sqrt(1 - exp(-2 I / 20))`` and are independent across i, so
``I(X; Y) = -20/2 log(1 - rho^2) = I`` exactly. The steps show where an
estimator saturates (KSG and the variational bounds fall behind at high MI;
``log n`` caps the InfoNCE bound).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from . import Task, register
from ._closed import rho_for_mi

FAMILY = "staircase"
PAIRS = 20
LEVELS = (2, 4, 6, 8, 10)


def _sample_pairs(n: int, rng: np.random.Generator, *, dim: int, rho: float) -> dict:
    x = rng.standard_normal((n, dim))
    y = rho * x + np.sqrt(1.0 - rho * rho) * rng.standard_normal((n, dim))
    return {"x": x, "y": y}


def gaussian_pairs(dim: int, mi: float, family: str = FAMILY, name: str | None = None) -> Task:
    """``dim`` independent coordinate pairs with equal correlation and total MI ``mi``."""
    rho = rho_for_mi(mi / dim)
    truth = -0.5 * dim * float(np.log1p(-rho * rho))
    return Task(
        name=name or f"staircase-{dim}-{dim}-mi-{mi:g}", measure="mutual_information",
        family=family, truth=truth, dims={"x": dim, "y": dim},
        sampler=partial(_sample_pairs, dim=dim, rho=rho),
        tags=("gaussian", "high-mi", "staircase"),
        description=(f"{dim} independent normal pairs, each correlation {rho:.4f}; "
                     f"I = -{dim}/2 log(1 - rho^2) = {mi:g}"),
        params={"dim": dim, "mi": mi, "rho": rho},
    )


for _mi in LEVELS:
    register(gaussian_pairs(PAIRS, float(_mi)))
del _mi
