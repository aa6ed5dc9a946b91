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


def labelled_blobs(n: int, seed: int, classes: int = 3, dims: int = 6):
    """torch (x, y): y uniform over ``classes`` labels, x standard normal in ``dims``
    columns with 2 added to the column of the row's class."""
    import torch

    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.randn(n, dims, generator=g) + 2.0 * torch.nn.functional.one_hot(y, dims).float()
    return x, y


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (small models train fastest so), then as it was."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def dask_engine():
    """A real ``distributed.LocalCluster`` on loopback for the batch and matrix
    tests: 2 single-threaded worker processes with a 700 MiB memory limit each
    and one retry of a task whose worker died (infocli's defaults otherwise)."""
    from infocli import batch

    with batch.open_engine(2, memory_limit="700MiB") as engine:
        yield engine
