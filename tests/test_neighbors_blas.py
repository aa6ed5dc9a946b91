"""The matrix-product neighbour search: exact against an independent reference
(SciPy's cdist), at rounding boundaries (integer grids), through the estimators,
and the rule that picks it."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.special import digamma

import infocli
from infocli.estimators import _neighbors
from infocli.estimators._brute import search
from infocli.estimators._common import Context

from conftest import gaussian_pair

LIBRARIES = ["numpy", "torch"]  # "torch": the CUDA code path, run on the CPU


def reference(blocks, k=None, subsets=(), *, strict=True, marginal=False, radii=None):
    """Exact k-th distances and counts from full cdist matrices: Euclidean within a
    block, max across blocks, self excluded, ties among neighbours by row index."""
    dists = [cdist(b, b) for b in blocks]
    for d in dists:
        np.fill_diagonal(d, np.inf)
    joint = np.max(dists, axis=0)
    kth = idx = None
    if k:
        idx = np.argsort(joint, axis=1, kind="stable")[:, :k]
        kth = np.take_along_axis(joint, idx, axis=1)
    counts = []
    for s in subsets:
        m = np.max([dists[b] for b in s], axis=0)
        if radii is not None:
            r = radii
        elif marginal:
            r = np.take_along_axis(m, idx, axis=1).max(axis=1)
        else:
            r = kth[:, k - 1]
        counts.append(((m < r[:, None]) if strict else (m <= r[:, None])).sum(axis=1))
    return kth, counts


def ksg_reference(x, y, k):
    _, (nx, ny) = reference([x, y], k, [(0,), (1,)])
    return np.mean(digamma(k) + digamma(len(x)) - digamma(nx + 1) - digamma(ny + 1))


@pytest.fixture(params=LIBRARIES)
def library(request, monkeypatch):
    monkeypatch.setattr(_neighbors, "CPU_LIBRARY", request.param)
    return request.param


# -- the search itself against the reference ---------------------------------------
@pytest.mark.parametrize("algorithm", [1, 2])
def test_search_equals_cdist_reference(rng, library, algorithm):
    x = rng.standard_normal((400, 20))
    y = 0.5 * x[:, :3].sum(axis=1, keepdims=True) + rng.standard_normal((400, 30))
    z = rng.standard_normal((400, 5)) + x[:, :5]
    for blocks, subsets in (([x, y], [(0,), (1,)]), ([x, y, z], [(0, 2), (1, 2), (2,)])):
        # a small memory budget: many row blocks
        got = search(blocks, k=4, subsets=subsets, strict=algorithm == 1,
                     marginal=algorithm == 2, library=library, block_bytes=1 << 18)
        kth, counts = reference(blocks, 4, subsets, strict=algorithm == 1,
                                marginal=algorithm == 2)
        np.testing.assert_array_equal(got.dist, kth)  # the exact distances, bit for bit
        for a, b in zip(got.counts, counts):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("strict", [True, False])
def test_integer_grid_ties_are_counted_exactly(rng, library, strict):
    # many pairs at exactly the same distance: every count decides on the boundary
    x = rng.integers(0, 4, (500, 24)).astype(float)
    y = rng.integers(0, 3, (500, 40)).astype(float)
    z = rng.integers(-2, 2, (500, 6)).astype(float)
    for blocks, subsets in (([x, y], [(0,), (1,)]), ([x, y, z], [(0, 2), (1, 2), (2,)])):
        for marginal in (False, True):
            got = search(blocks, k=5, subsets=subsets, strict=strict, marginal=marginal,
                         library=library, block_bytes=1 << 20)
            kth, counts = reference(blocks, 5, subsets, strict=strict, marginal=marginal)
            np.testing.assert_array_equal(got.dist, kth)
            for a, b in zip(got.counts, counts):
                np.testing.assert_array_equal(a, b)
    # radii given (the count of Ross's estimator): exactly the k-th distance itself
    r = reference([x], 5)[0][:, 4]
    got = search([x], subsets=[(0,)], radii=r, strict=strict, library=library,
                 block_bytes=1 << 20)
    np.testing.assert_array_equal(got.counts[0], reference([x], None, [(0,)], strict=strict,
                                                           radii=r)[1][0])


def test_wide_bands_are_screened_again_in_float64(rng):
    # integer grids put many pairs inside the float32 rounding band; those row
    # blocks are screened again in float64, and the answer stays exact
    x = rng.integers(0, 3, (300, 64)).astype(float)
    y = rng.integers(0, 3, (300, 64)).astype(float)
    got = search([x, y], k=3, subsets=[(0,), (1,)], block_bytes=1 << 20)
    assert got.rescreened > 0
    kth, counts = reference([x, y], 3, [(0,), (1,)])
    np.testing.assert_array_equal(got.dist, kth)
    for a, b in zip(got.counts, counts):
        np.testing.assert_array_equal(a, b)


def test_duplicated_rows_are_neighbours_at_zero(library):
    x = np.repeat(np.arange(40.0).reshape(20, 2) ** 1.5, 3, axis=0)  # each row 3 times
    x = np.hstack([x, np.zeros((60, 18))])
    got = search([x], k=3, subsets=[(0,)], strict=False, library=library,
                 block_bytes=1 << 16)
    kth, counts = reference([x], 3, [(0,)], strict=False)
    np.testing.assert_array_equal(got.dist, kth)
    assert np.all(got.dist[:, :2] == 0)  # two copies, never the row itself
    np.testing.assert_array_equal(got.counts[0], counts[0])


def test_float32_input_counts_as_float64_of_the_same_values(rng, library):
    x = rng.standard_normal((300, 30)).astype(np.float32)
    y = (x[:, :10].sum(axis=1, keepdims=True) + rng.standard_normal((300, 25))).astype(np.float32)
    a = search([x, y], k=3, subsets=[(0,), (1,)], library=library, block_bytes=1 << 20)
    b = search([x.astype(np.float64), y.astype(np.float64)], k=3, subsets=[(0,), (1,)],
               library=library, block_bytes=1 << 20)
    np.testing.assert_array_equal(a.dist, b.dist)
    for u, v in zip(a.counts, b.counts):
        np.testing.assert_array_equal(u, v)
    mi32 = infocli.mutual_information(x, y, estimator="ksg", check="off").value
    mi64 = infocli.mutual_information(x.astype(np.float64), y.astype(np.float64),
                                      estimator="ksg", check="off").value
    assert mi32 == mi64


# -- through the estimators ---------------------------------------------------------
def test_ksg_kl_ross_equal_the_reference_with_the_same_norms(rng, library):
    x = rng.standard_normal((500, 10))
    y = 0.6 * x + 0.8 * rng.standard_normal((500, 10))  # 20 joint dims: brute, Euclidean
    est = infocli.mutual_information(x, y, estimator="ksg", k=3, standardize=False,
                                     check="off")
    assert abs(est.value - ksg_reference(x, y, 3)) < 1e-12
    assert est.details["neighbors"]["backend"] == "brute"
    assert est.details["neighbors"]["norm"].startswith("euclidean within each variable")
    # forced brute in few dimensions keeps the max norm: the kd-tree's values
    lo = infocli.mutual_information(x[:, :2], y[:, :2], estimator="ksg", backend="brute",
                                    check="off")
    assert lo.details["neighbors"]["norm"] == "max over all coordinates"

    xk = rng.standard_normal((500, 20))
    h = infocli.entropy(xk, estimator="kl", k=4, standardize=False, check="off")
    from scipy.special import gammaln

    eps = reference([xk], 4)[0][:, 3]
    log_v = 10 * np.log(np.pi) - gammaln(11)
    truth = digamma(500) - digamma(4) + log_v + 20 * np.mean(np.log(eps))
    assert abs(h.value - truth) < 1e-12

    labels = rng.integers(0, 3, 500)
    xm = rng.standard_normal((500, 20)) + labels[:, None]
    ross = infocli.mutual_information(xm, labels, discrete_y=True, estimator="ksg",
                                      standardize=False, check="off").value
    radius = np.empty(500)
    for c in range(3):
        members = np.flatnonzero(labels == c)
        radius[members] = reference([xm[members]], 3)[0][:, 2]
    m = reference([xm], None, [(0,)], strict=False, radii=radius)[1][0]
    n_c = np.bincount(labels)[labels]
    assert abs(ross - np.mean(digamma(500) - digamma(n_c) + digamma(3) - digamma(m))) < 1e-12


def test_euclidean_marginals_estimate_the_truth_as_well_as_the_max_norm(rng):
    # 10 + 10 Gaussian pairs (rho = 0.3, I = 0.472 nats, n = 4,000): the auto rule
    # runs Euclidean marginals, backend=kdtree the max norm. In 20 joint dimensions
    # KSG is biased low with either norm (measured: 0.280 +- 0.011 Euclidean,
    # 0.231 +- 0.010 max norm); the Euclidean marginals must do at least as well
    # up to noise (3 standard errors), and stay below the truth (up to noise)
    x, y, truth = gaussian_pair(rng, 4000, 10, 0.3)
    euclid = infocli.mutual_information(x, y, estimator="ksg", check="off")
    cheb = infocli.mutual_information(x, y, estimator="ksg", backend="kdtree", check="off")
    assert euclid.details["neighbors"]["backend"] == "brute"
    assert cheb.details["neighbors"]["norm"] == "max over all coordinates"
    noise = 3 * np.hypot(euclid.stderr, cheb.stderr)
    assert abs(euclid.value - truth) < abs(cheb.value - truth) + noise
    assert truth - 0.25 < euclid.value < truth + 3 * euclid.stderr
    assert truth - 0.30 < cheb.value < truth + 3 * cheb.stderr


def test_euclidean_marginals_symmetric_and_shuffle_invariant(rng, library):
    x, y, _ = gaussian_pair(rng, 1500, 9, 0.5)

    def mi(u, v):
        return infocli.mutual_information(u, v, estimator="ksg", check="off").value

    a = mi(x, y)
    assert mi(y, x) == pytest.approx(a, abs=1e-12)
    perm = rng.permutation(1500)
    assert mi(x[perm], y[perm]) == pytest.approx(a, abs=1e-12)
    z = x[:, :4] + rng.standard_normal((1500, 4))
    c1 = infocli.conditional_mutual_information(x, y, z, estimator="ksg", check="off").value
    c2 = infocli.conditional_mutual_information(y, x, z, estimator="ksg", check="off").value
    assert c1 == pytest.approx(c2, abs=1e-12)


# -- the rule, threads, devices ---------------------------------------------------------
def test_the_rule_picks_backend_and_norm_in_one_place():
    ctx = Context(rng=np.random.default_rng(0), device="cpu")
    top = _neighbors.KDTREE_MAX_DIM
    plan = _neighbors.plan_search
    assert plan(top, "auto", "auto", ctx) == _neighbors.SearchPlan("kdtree", "cpu", "chebyshev")
    assert plan(top + 1, "auto", "auto", ctx) == _neighbors.SearchPlan("brute", "cpu", "euclidean")
    assert plan(4, "auto", "brute", ctx).norm == "chebyshev"  # forced: values as before
    assert plan(400, "auto", "kdtree", ctx).norm == "chebyshev"
    assert plan(400, "chebyshev", "auto", ctx).norm == "chebyshev"  # kl's metric is kept


def test_cuda_request_without_cuda_keeps_its_error(rng):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    x = rng.standard_normal((100, 20))
    with pytest.raises(infocli.DeviceError, match="CUDA is not available"):
        infocli.mutual_information(x, x + rng.standard_normal((100, 20)), estimator="ksg",
                                   device="cuda")


def test_blas_threads_honour_infocli_num_threads(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas():
        return {p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"}

    before = blas()
    monkeypatch.setenv("INFOCLI_NUM_THREADS", "1")
    with _neighbors.blas_threads():
        assert blas() == {1}
    assert blas() == before
    monkeypatch.delenv("INFOCLI_NUM_THREADS")
    with _neighbors.one_thread_each(), _neighbors.blas_threads():
        assert blas() == {1}  # parts of parallel_map: one core each
    assert blas() == before


def test_far_from_the_origin_and_tf32_settings_stay_exact(rng, monkeypatch):
    # standardize=False data far from the origin: the centring's own rounding is
    # in the bound
    x = rng.standard_normal((300, 20)) + 1e9
    y = rng.standard_normal((300, 20)) - 3e7
    got = search([x, y], k=3, subsets=[(0,), (1,)], block_bytes=1 << 20)
    kth, counts = reference([x, y], 3, [(0,), (1,)])
    np.testing.assert_array_equal(got.dist, kth)
    for a, b in zip(got.counts, counts):
        np.testing.assert_array_equal(a, b)
    # torch allowed to multiply float32 in lower precision: screening in float64
    import torch

    from infocli.estimators._brute import _TorchOps

    monkeypatch.setattr(torch, "get_float32_matmul_precision", lambda: "high")
    assert not _TorchOps("cpu").exact_float32()
    got = search([x, y], k=3, subsets=[(0,), (1,)], library="torch", block_bytes=1 << 20)
    for a, b in zip(got.counts, counts):
        np.testing.assert_array_equal(a, b)


def test_progress_is_reported_per_row_block(rng):
    seen = []
    x, y, _ = gaussian_pair(rng, 600, 9, 0.5)
    monkey = _neighbors.BLOCK_BYTES
    try:
        _neighbors.BLOCK_BYTES = 1 << 18  # several row blocks
        infocli.mutual_information(x, y, estimator="ksg", check="off",
                                   progress=lambda d, c, t: seen.append((d, c, t)))
    finally:
        _neighbors.BLOCK_BYTES = monkey
    joint = [(c, t) for d, c, t in seen if d == "kNN joint"]
    assert len(joint) > 1 and joint[-1] == (600, 600)
    assert [c for c, _ in joint] == sorted(c for c, _ in joint)
