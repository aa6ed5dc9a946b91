import os

import numpy as np
import pytest

# Off a terminal, commands print a progress line every INFOCLI_PROGRESS_SECONDS; on a
# loaded machine a test command can pass 10 s and its stderr would then depend on the
# machine's speed. Tests of that progress set the variable themselves.
os.environ.setdefault("INFOCLI_PROGRESS_SECONDS", "3600")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def gaussian_pair(rng, n, d, rho):
    """x, y with d independent coordinate pairs of correlation rho; I = -d/2 log(1-rho^2)."""
    x = rng.standard_normal((n, d))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    return x, y, -0.5 * d * np.log(1 - rho**2)


@pytest.fixture(scope="session")
def dask_engine():
    """A real ``distributed.LocalCluster`` on loopback for the batch and matrix
    tests: 2 single-threaded worker processes with a 700 MiB memory limit each
    and one retry of a task whose worker died (infocli's defaults otherwise)."""
    from infocli import batch

    with batch.open_engine(2, memory_limit="700MiB") as engine:
        yield engine
