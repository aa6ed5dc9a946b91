"""bmi's v1 suite (Czyż et al., NeurIPS 2023), reimplemented from the definitions."""

from __future__ import annotations

import numpy as np

from . import Task, register


def _normal_pair(rho: float):
    def sampler(n: int, rng: np.random.Generator) -> dict:
        x = rng.standard_normal((n, 1))
        y = rho * x + np.sqrt(1.0 - rho * rho) * rng.standard_normal((n, 1))
        return {"x": x, "y": y}

    return sampler


register(Task(
    name="1v1-normal-0.75", measure="mutual_information", family="bmi",
    truth=float(-0.5 * np.log(1.0 - 0.75 ** 2)), dims={"x": 1, "y": 1},
    sampler=_normal_pair(0.75), tags=("gaussian",),
    description="bivariate normal, correlation 0.75; I = -1/2 log(1 - rho^2)",
))
