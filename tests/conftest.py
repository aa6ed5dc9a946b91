import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def gaussian_pair(rng, n, d, rho):
    """x, y with d independent coordinate pairs of correlation rho; I = -d/2 log(1-rho^2)."""
    x = rng.standard_normal((n, d))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    return x, y, -0.5 * d * np.log(1 - rho**2)
