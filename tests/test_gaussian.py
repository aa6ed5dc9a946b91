"""Gaussian plug-in estimator: exact closed forms and bias correction."""

import numpy as np
import pytest

import infocli
from infocli import InputError

from conftest import gaussian_pair

LOG_2PIE = np.log(2 * np.pi * np.e)


def _random_cov(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T + d * np.eye(d)


@pytest.mark.parametrize("d", [1, 5, 10])
def test_entropy_of_correlated_gaussian(rng, d):
    cov = _random_cov(rng, d)
    x = rng.multivariate_normal(np.zeros(d), cov, size=5000)
    truth = 0.5 * (d * LOG_2PIE + np.linalg.slogdet(cov)[1])
    est = infocli.entropy(x, estimator="gaussian")
    assert abs(est.value - truth) < 4 * est.stderr
    assert est.details["stderr_method"].startswith("delete-a-group jackknife")


def test_bias_correction_removes_small_sample_bias():
    d, n, reps = 3, 30, 400
    truth = 0.5 * d * LOG_2PIE
    corrected, raw = [], []
    for seed in range(reps):
        x = np.random.default_rng(seed).standard_normal((n, d))
        corrected.append(infocli.entropy(x, estimator="gaussian").value)
        raw.append(infocli.entropy(x, estimator="gaussian", bias_correction=False).value)
    se = np.std(corrected) / np.sqrt(reps)
    assert abs(np.mean(corrected) - truth) < 4 * se
    assert np.mean(raw) < truth - 5 * se  # the plug-in is biased low


def test_mi_and_cmi_closed_forms(rng):
    x, y, truth = gaussian_pair(rng, 5000, 3, 0.7)
    est = infocli.mutual_information(x, y, estimator="gaussian")
    assert abs(est.value - truth) < 4 * est.stderr
    z = rng.standard_normal((5000, 2))
    est = infocli.conditional_mutual_information(x + z[:, :1], y + z[:, 1:], z, estimator="gaussian")
    assert abs(est.value - truth) < 4 * est.stderr + 0.01


def test_conditional_entropy(rng):
    x, y, _ = gaussian_pair(rng, 5000, 2, 0.6)
    est = infocli.entropy(y, given=x, estimator="gaussian")
    assert abs(est.value - (LOG_2PIE + 2 * np.log(0.8))) < 4 * est.stderr


def test_singular_covariance_is_an_error(rng):
    x = rng.standard_normal((100, 2))
    with pytest.raises(InputError, match="singular"):
        infocli.entropy(np.c_[x, x[:, 0] + x[:, 1]], estimator="gaussian")


def test_bits(rng):
    x, y, _ = gaussian_pair(rng, 1000, 1, 0.5)
    nats = infocli.mutual_information(x, y, estimator="gaussian")
    bits = infocli.mutual_information(x, y, estimator="gaussian", unit="bits")
    assert bits.unit == "bits"
    assert bits.value == pytest.approx(nats.value / np.log(2), rel=1e-12)
    assert bits.stderr == pytest.approx(nats.stderr / np.log(2), rel=1e-12)
