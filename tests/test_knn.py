"""kNN estimators: closed forms, invariances, agreement with independent code."""

import numpy as np
import pytest
from scipy import integrate, stats

import infocli
from infocli import InputError, ParameterError

from conftest import gaussian_pair

LOG_2PIE = np.log(2 * np.pi * np.e)


# -- entropy: closed forms ---------------------------------------------------
@pytest.mark.parametrize("d, tol", [(1, 0.05), (5, 0.2), (10, 0.35)])
def test_kl_gaussian_entropy(rng, d, tol):
    x = rng.standard_normal((4000, d))
    est = infocli.entropy(x, estimator="kl")
    assert est.measure == "entropy" and est.unit == "nats"
    assert abs(est.value - d / 2 * LOG_2PIE) < tol
    assert 0 < est.stderr < 0.1


def test_kl_entropy_is_in_data_units(rng):
    # h(aX) = h(X) + d log a: standardisation must add the log-scales back.
    x = rng.standard_normal((3000, 2)) * [1.0, 50.0]
    truth = LOG_2PIE + np.log(50.0)
    assert abs(infocli.entropy(x, estimator="kl").value - truth) < 0.08
    raw = infocli.entropy(x, standardize=False, estimator="kl").value
    assert abs(raw - truth) < 0.08


def test_kl_weighted_bsy_gaussian(rng):
    x = rng.standard_normal((4000, 10))
    est = infocli.entropy(x, weights="bsy", k=5, estimator="kl")
    assert abs(est.value - 5 * LOG_2PIE) < 0.3


def test_bsy_weights_satisfy_constraints():
    from scipy.special import gammaln

    from infocli.estimators.knn import bsy_weights

    w = bsy_weights(k=6, d=12)  # floor(12/4) = 3 constraints
    j = np.arange(1, 7)
    assert abs(w.sum() - 1) < 1e-10
    for ell in (1, 2, 3):
        assert abs(np.sum(w * np.exp(gammaln(j + 2 * ell / 12) - gammaln(j)))) < 1e-8
    with pytest.raises(ParameterError, match="k >= 4"):
        bsy_weights(k=3, d=12)


@pytest.mark.parametrize("d, tol", [(1, 0.05), (3, 0.15)])
def test_kl_uniform_entropy(rng, d, tol):
    x = rng.uniform(0, 2, size=(4000, d))
    assert abs(infocli.entropy(x).value - d * np.log(2)) < tol


@pytest.mark.parametrize("nu", [3, 5])
def test_kl_student_t_entropy(nu):
    x = stats.t.rvs(nu, size=5000, random_state=7)
    assert abs(infocli.entropy(x).value - stats.t.entropy(nu)) < 0.06


def test_kl_chebyshev_metric(rng):
    x = rng.standard_normal((4000, 3))
    assert abs(infocli.entropy(x, metric="chebyshev", estimator="kl").value - 1.5 * LOG_2PIE) < 0.1


# -- MI: closed forms ----------------------------------------------------------
@pytest.mark.parametrize("algorithm", [1, 2])
def test_ksg_gaussian_1x1(rng, algorithm):
    x, y, truth = gaussian_pair(rng, 4000, 1, 0.8)
    est = infocli.mutual_information(x, y, algorithm=algorithm, estimator="ksg")
    assert abs(est.value - truth) < 0.05
    assert 0 < est.stderr < 0.05


def test_ksg_gaussian_5x5(rng):
    # KSG is biased low in 10 joint dimensions; at rho = 0.3 and n = 4000 it is small.
    x, y, truth = gaussian_pair(rng, 4000, 5, 0.3)
    est = infocli.mutual_information(x, y)
    assert abs(est.value - truth) < 0.08


def test_ksg_vector_x_scalar_y(rng):
    x = rng.standard_normal((3000, 3))
    y = x.sum(axis=1, keepdims=True) / np.sqrt(3) * 0.8 + 0.6 * rng.standard_normal((3000, 1))
    truth = -0.5 * np.log(1 - 0.64)
    assert abs(infocli.mutual_information(x, y).value - truth) < 0.06


def test_mixed_discrete_y_matches_numerical_truth(rng):
    # X | Y=c ~ N(mu_c, 1), p(c) = 1/3: I = h(X) - h(X|Y), h(X) by quadrature.
    mus = np.array([-2.0, 0.0, 2.5])
    n = 6000
    labels = rng.integers(0, 3, n)
    x = mus[labels] + rng.standard_normal(n)

    def p(t):
        return np.mean([stats.norm.pdf(t, m) for m in mus], axis=0)

    h_x = integrate.quad(lambda t: -p(t) * np.log(p(t)), -12, 12, limit=200)[0]
    truth = h_x - 0.5 * LOG_2PIE
    est = infocli.mutual_information(x, np.array(["a", "b", "c"])[labels])
    assert est.details["classes"] == {"y": 3}
    assert abs(est.value - truth) < 0.05
    est_gauss = infocli.mutual_information(x, labels, discrete_y=True, estimator="gaussian")
    assert est_gauss.value > truth  # Gaussian plug-in of the mixture overestimates h(X)


def test_conditional_entropy_discrete_and_continuous(rng):
    n = 5000
    labels = rng.integers(0, 2, n)
    x = labels * 3.0 + np.where(labels == 1, 2.0, 0.5) * rng.standard_normal(n)
    truth = 0.5 * (0.5 * LOG_2PIE + np.log(0.5)) + 0.5 * (0.5 * LOG_2PIE + np.log(2.0))
    est = infocli.entropy(x, given=labels, discrete_given=True, estimator="kl")
    assert est.measure == "conditional_entropy"
    assert abs(est.value - truth) < 0.05
    # continuous: Y = 0.8 X + 0.6 e -> h(Y|X) = h(0.6 e)
    x, y, _ = gaussian_pair(rng, n, 1, 0.8)
    est = infocli.entropy(y, given=x, estimator="kl")
    assert abs(est.value - (0.5 * LOG_2PIE + np.log(0.6))) < 0.06


def test_cmi_gaussian_chain_and_closed_form(rng):
    n = 5000
    z = rng.standard_normal(n)
    x = z + 0.5 * rng.standard_normal(n)
    y = z + 0.5 * rng.standard_normal(n)
    # X - Z - Y chain: I(X;Y|Z) = 0
    est = infocli.conditional_mutual_information(x, y, z)
    assert abs(est.value) < 0.03
    # Y also depends on X directly: y2 = 1.7 z + 0.35 e1 + 0.5 e2; exact covariance of (x, y2, z):
    y2 = y + 0.7 * x
    a = np.array([[1.25, 1.875, 1.0], [1.875, 3.2625, 1.7], [1.0, 1.7, 1.0]])

    def ld(idx):
        return np.linalg.slogdet(a[np.ix_(idx, idx)])[1]

    truth = 0.5 * (ld([0, 2]) + ld([1, 2]) - ld([2]) - ld([0, 1, 2]))
    est = infocli.conditional_mutual_information(x, y2, z)
    assert abs(est.value - truth) < 0.06
    g = infocli.conditional_mutual_information(x, y2, z, estimator="gaussian")
    assert abs(g.value - truth) < 3 * g.stderr + 0.01


def test_cmi_discrete_given(rng):
    n = 4000
    z = rng.integers(0, 2, n)
    x = rng.standard_normal(n)
    y = np.where(z == 1, 0.8 * x + 0.6 * rng.standard_normal(n), rng.standard_normal(n))
    truth = 0.5 * (-0.5 * np.log(1 - 0.64))
    est = infocli.conditional_mutual_information(x, y, z.astype(str))
    assert abs(est.value - truth) < 0.05


# -- invariances ----------------------------------------------------------------
def test_mi_symmetric_and_row_shuffle_invariant(rng):
    x, y, _ = gaussian_pair(rng, 3000, 2, 0.6)
    a = infocli.mutual_information(x, y).value
    assert abs(infocli.mutual_information(y, x).value - a) < 1e-12
    perm = rng.permutation(3000)
    assert abs(infocli.mutual_information(x[perm], y[perm]).value - a) < 1e-12


def test_mi_monotone_maps_and_scale(rng):
    x, y, truth = gaussian_pair(rng, 4000, 1, 0.7)
    a = infocli.mutual_information(x, y).value
    b = infocli.mutual_information(np.exp(x), y**3).value
    c = infocli.mutual_information(1000 * x, 0.001 * y).value
    assert abs(a - c) < 1e-4  # scale-free up to float rounding at neighbour boundaries
    assert abs(b - truth) < 0.08 and abs(a - b) < 0.08


def test_mi_independent_is_near_zero_and_negative_not_clipped(rng):
    values = []
    for seed in range(6):
        r = np.random.default_rng(seed)
        est = infocli.mutual_information(r.standard_normal(2000), r.standard_normal(2000))
        assert abs(est.value) < 4 * est.stderr + 0.01
        values.append(est.value)
    assert min(values) < 0  # negative estimates are reported as they are


def test_permutation_p_value(rng):
    x, y, _ = gaussian_pair(rng, 500, 1, 0.5)
    dep = infocli.mutual_information(x, y, permutations=19, seed=3)
    assert dep.p_value == pytest.approx(1 / 20)
    assert dep.details["permutations"] == 19
    ind = infocli.mutual_information(x, rng.standard_normal(500), permutations=19, seed=3)
    assert ind.p_value > 0.05
    again = infocli.mutual_information(x, y, permutations=19, seed=3)
    assert again.details["null_mean"] == dep.details["null_mean"]


# -- agreement with independent implementations -----------------------------------
def test_agrees_with_sklearn_1x1(rng):
    from sklearn.feature_selection import mutual_info_regression

    x, y, _ = gaussian_pair(rng, 3000, 1, 0.6)
    ours = infocli.mutual_information(x, y, k=3, estimator="ksg").value
    theirs = mutual_info_regression(x, y.ravel(), n_neighbors=3, random_state=0)[0]
    assert abs(ours - theirs) < 0.01


def test_mixed_agrees_with_sklearn_classif(rng):
    from sklearn.feature_selection import mutual_info_classif

    labels = rng.integers(0, 3, 3000)
    x = labels + rng.standard_normal(3000)
    ours = infocli.mutual_information(x, labels, discrete_y=True, estimator="ksg").value
    theirs = mutual_info_classif(x.reshape(-1, 1), labels, n_neighbors=3, random_state=0)[0]
    assert abs(ours - theirs) < 0.01


# -- error bars --------------------------------------------------------------------
def test_stderr_is_calibrated():
    values, errs = [], []
    for seed in range(30):
        r = np.random.default_rng(100 + seed)
        x, y, _ = gaussian_pair(r, 1000, 1, 0.6)
        est = infocli.mutual_information(x, y)
        values.append(est.value)
        errs.append(est.stderr)
    ratio = np.std(values, ddof=1) / np.mean(errs)
    assert 0.6 < ratio < 1.6


# -- ties, seeds, backends ---------------------------------------------------------
def test_ties_are_dequantised_and_reported(rng):
    x, y, truth = gaussian_pair(rng, 4000, 1, 0.8)
    xr, yr = np.round(x, 1), np.round(y, 1)
    est = infocli.mutual_information(xr, yr)
    assert np.isfinite(est.value) and abs(est.value - truth) < 0.06
    assert any("repeated values" in w for w in est.warnings)
    h = infocli.entropy(xr)
    assert abs(h.value - 0.5 * LOG_2PIE) < 0.06  # rounding to 0.1 barely changes h
    with pytest.raises(InputError, match="tied values"):
        infocli.mutual_information(xr, yr, ties="error")


def test_duplicated_rows_never_give_inf(rng):
    x = np.repeat(rng.standard_normal((300, 2)), 5, axis=0)
    est = infocli.entropy(x)
    assert np.isfinite(est.value) and est.warnings


def test_same_seed_same_output(rng):
    x = np.round(rng.standard_normal((1000, 2)), 1)
    y = np.round(x[:, :1] + rng.standard_normal((1000, 1)), 1)
    a = infocli.mutual_information(x, y, seed=5, estimator="ksg").value
    assert infocli.mutual_information(x, y, seed=5, estimator="ksg").value == a
    assert infocli.mutual_information(x, y, seed=6, estimator="ksg").value != a


def test_brute_force_backend_matches_kdtree(rng):
    x, y, _ = gaussian_pair(rng, 800, 2, 0.6)
    a = infocli.mutual_information(x, y, backend="kdtree", estimator="ksg").value
    b = infocli.mutual_information(x, y, backend="brute", device="cpu", estimator="ksg")
    assert abs(a - b.value) < 1e-12 and b.device == "cpu"
    h1 = infocli.entropy(x, backend="kdtree", estimator="kl").value
    h2 = infocli.entropy(x, backend="brute", estimator="kl").value
    assert abs(h1 - h2) < 1e-9
    z = x[:, 0] + y[:, 0]
    c = infocli.conditional_mutual_information(x, y, z, backend="brute", estimator="ksg").value
    d = infocli.conditional_mutual_information(x, y, z, backend="kdtree", estimator="ksg").value
    assert abs(c - d) < 1e-12


def test_k_must_be_below_n():
    with pytest.raises(InputError, match="has 3 rows but k=3 needs at least 4"):
        infocli.entropy(np.arange(3.0), estimator="kl")


def test_constant_column_is_an_error(rng):
    x = np.c_[rng.standard_normal(100), np.ones(100)]
    with pytest.raises(InputError, match="column 1 is constant"):
        infocli.entropy(x)


def test_knn_estimates_leave_torch_threads_as_the_caller_set_them(one_torch_thread):
    # numba's OpenMP layer shares the runtime with torch: a parallel kd-tree query
    # used to turn a caller's torch.set_num_threads(1) into 2
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3000, 3))
    y = x[:, :1] + rng.standard_normal((3000, 1))
    import torch

    assert torch.get_num_threads() == 1
    est = infocli.mutual_information(x, y, estimator="ksg", seed=0, check="off")
    assert est.value > 0.1
    infocli.entropy(x, estimator="kl", seed=0, check="off")
    assert torch.get_num_threads() == 1
