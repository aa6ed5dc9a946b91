"""Checks that see mixtures and tails (issue 30): the Gaussian-copula candidate of
``auto`` is not reliable on dependent rows mixed with independent ones, and ``kl``'s
entropy on skewed margins covers the truth or is marked."""

from __future__ import annotations

import numpy as np

from infocli import _summaries, api
from infocli.diagnostics import _copula_variance, _rank_gauss
from infocli.tasks import bmi2


def _mixture_sample(inliers: float, n: int, seed: int, d: int = 3):
    m = bmi2.inliers_mixture(d, d, inliers)
    xy = m.sample(n, np.random.default_rng(seed))
    return xy[:, :d], xy[:, d:]


def _variance_test(x, y, seed=0):
    c = _summaries.canonical(_rank_gauss(x), _rank_gauss(y), seed)
    return _copula_variance(c)


def test_copula_variance_test_rejects_inliers_and_accepts_gaussians():
    for seed in range(3):
        mixed = _variance_test(*_mixture_sample(0.3, 2000, seed))
        assert mixed["z"] > 4 and mixed["r2"] > 0.01, mixed
        gauss = _variance_test(*_mixture_sample(0.0, 2000, seed))
        assert gauss["z"] < 3 and gauss["r2"] < 0.01, gauss


def test_auto_gaussian_copula_is_not_reliable_on_dependent_plus_inliers():
    x, y = _mixture_sample(0.3, 2000, 0)
    truth = bmi2.monte_carlo_mi(bmi2.inliers_mixture(2, 2, 0.3), 200_000, seed=1)[0]
    r = api.mutual_information(x, y, estimator="auto", seed=0)
    assert r.details["auto"]["chosen"] == "gaussian+copula"
    assert r.value < truth - 0.05  # the Gaussian-copula MI reads low here
    assert not r.reliable and "non_gaussian" in r.details["diagnostics"]
    assert r.details["reliability"]["copula_variance"]["z"] > 4
    assert r.interval[1] is None and r.interval[0] < truth


def test_auto_gaussian_copula_stays_reliable_on_a_gaussian():
    x, y = _mixture_sample(0.0, 2000, 0)
    truth = -np.log(1 - 0.64)  # two pairs of correlation 0.8
    r = api.mutual_information(x, y, estimator="auto", seed=0)
    assert r.reliable, r.warnings
    assert r.details["reliability"]["copula_variance"]["z"] < 3
    lo, hi = r.interval
    assert lo <= truth <= hi and hi - lo < 0.4


def test_kl_entropy_of_exponential_margins_is_covered_or_marked():
    for seed in range(3):
        x = np.random.default_rng(seed).exponential(size=(2000, 3))  # h = 3 nats
        r = api.entropy(x, estimator="kl", seed=seed)
        lo, hi = r.interval
        assert "value_decomposed" in r.details["reliability"]
        assert (lo is None or lo <= 3.0) and (hi is None or hi >= 3.0) or not r.reliable


def test_kl_entropy_of_a_cubed_gaussian_is_marked_tail_sensitive():
    # X^3, X a 4-D standard normal: h = 4 (h(N) + log 3 + 2 E log|Z|) = 4.989 nats
    x = np.random.default_rng(0).standard_normal((3000, 4)) ** 3
    r = api.entropy(x, estimator="kl", seed=0)
    assert r.value > 6.0  # the kNN bias on heavy tails
    assert not r.reliable and "tail_sensitive" in r.details["diagnostics"]
    assert abs(r.details["reliability"]["value_decomposed"] - 4.989) < 0.25
    assert r.interval[0] < 4.989


def test_kl_entropy_check_is_silent_on_gaussian_margins():
    x = np.random.default_rng(1).standard_normal((2000, 3))
    r = api.entropy(x, estimator="kl", seed=1)
    assert r.reliable and "value_decomposed" not in r.details["reliability"]


def test_gaussian_plugin_is_not_reliable_on_dependent_plus_inliers():
    x, y = _mixture_sample(0.3, 2000, 1)
    r = api.mutual_information(x, y, estimator="gaussian", seed=1)
    assert not r.reliable and "non_gaussian" in r.details["diagnostics"]
    assert r.details["reliability"]["copula_variance"]["z"] > 4
    g = api.mutual_information(*_mixture_sample(0.0, 2000, 1), estimator="gaussian", seed=1)
    assert g.reliable and g.details["reliability"]["copula_variance"]["z"] < 3


def test_radii_summary_keeps_a_one_column_side_unfolded():
    # concentric shells, X | c ~ N(0, c^2 I_3), Y ~ c: I(|X|; Y) = I(X; Y) = 0.560, while
    # the folded |Y| (about its median) keeps only about a third of it
    from infocli import tasks

    t = tasks.get("3v1-concentric_gaussians-10")
    d = t.sample(3000, 0)
    c = _summaries.canonical(_rank_gauss(d["x"]), _rank_gauss(d["y"]), 0)
    radii = _summaries.radii_mi(c, 0)
    assert abs(radii["ksg"] - t.truth) < 3 * radii["se"] + 0.03, radii
