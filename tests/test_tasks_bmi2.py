"""bmi's v2 suite (family ``bmi2``): task list, samplers, and the stored Monte Carlo
truths against independent computations (quadrature, a Monte Carlo in the full
dimension with SciPy's densities, closed forms for one component)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from infocli import tasks
from infocli.tasks import bmi2
from infocli.tasks._closed import gaussian_mi

# bmi's workflows/benchmark/v2/config.py, in order
BMI_V2_IDS = [
    "1v1-additive-0.75", "asinh-student-identity-1-1-1", "1v1-X-0.9", "1v1-AI",
    "swissroll_x-normal_cdf-1v1-normal-0.75", "2v1-waves-12-5.0-3.0", "2v1-galaxy-0.5-3.0",
    "3v1-concentric_gaussians-5", "5v1-concentric_gaussians-5", "3v1-concentric_gaussians-10",
    "5v1-concentric_gaussians-10", "25v1-concentric_gaussians-5",
    "multinormal-dense-5-5-0.5", "multinormal-dense-25-25-0.5", "multinormal-dense-50-50-0.5",
    "multinormal-sparse-5-5-2-2.0", "multinormal-sparse-25-25-2-2.0",
    "mult-sparse-w-inliers-5-5-2-2.0-0.2", "mult-sparse-w-inliers-25-25-2-2.0-0.2",
    "mult-sparse-w-inliers-5-5-2-2.0-0.5", "mult-sparse-w-inliers-25-25-2-2.0-0.5",
    "asinh-student-identity-2-2-1", "asinh-student-identity-3-3-2",
    "asinh-student-identity-5-5-2", "spiral-multinormal-sparse-3-3-2-2.0",
    "spiral-multinormal-sparse-5-5-2-2.0",
]


def test_bmi2_family_is_bmis_v2_list():
    assert [t.name for t in bmi2.v2_suite()] == BMI_V2_IDS
    selected = tasks.select(family="bmi2")
    assert sorted(t.name for t in selected) == sorted(BMI_V2_IDS)
    # the v1 tasks stay in family bmi; the 13 mixtures are bmi2's own
    assert sum(t.family == "bmi2" for t in selected) == 13
    assert {t.name for t in selected if t.family == "bmi"} == set(bmi2.FROM_V1)
    assert len(tasks.select(family="bmi")) == 40
    assert len(tasks.select(family="bmi,bmi2")) == 53


def test_truths_are_stated_with_their_monte_carlo_error():
    for t in tasks.select(family="bmi2"):
        if t.family == "bmi2":
            assert 0 < t.truth_error < 1e-3 and "Monte Carlo" in t.description, t.name
            assert t.standardize and t.measure == "mutual_information"
    # values bmi's paper lists (10^5 draws, so only to ~0.01)
    assert tasks.get("mult-sparse-w-inliers-25-25-2-2.0-0.2").truth == pytest.approx(0.63, abs=0.01)
    assert tasks.get("mult-sparse-w-inliers-5-5-2-2.0-0.5").truth == pytest.approx(0.27, abs=0.01)
    # inliers: the pointwise MI lives on the interacting pairs, the same in 5 and 25 dims
    assert (tasks.get("mult-sparse-w-inliers-5-5-2-2.0-0.2").truth
            == tasks.get("mult-sparse-w-inliers-25-25-2-2.0-0.2").truth)


def test_x_truth_by_quadrature():
    # both components have N(0, 1) margins: I = E log[(phi_+ + phi_-) / 2 / (phi phi)];
    # the integrand is even in x and y: four times Simpson's rule on [0, 9]^2
    t = tasks.get("1v1-X-0.9")
    rho = 0.9
    g = np.linspace(0.0, 9.0, 1801)
    x, y = np.meshgrid(g, g, indexing="ij")
    det = 1 - rho * rho

    def phi2(s):
        return np.exp(-(x * x - 2 * s * rho * x * y + y * y) / (2 * det)) / (
            2 * np.pi * np.sqrt(det))

    joint = 0.5 * (phi2(1) + phi2(-1))
    margins = np.exp(-(x * x + y * y) / 2) / (2 * np.pi)
    f = joint * np.log(joint / margins)
    mi = 4 * integrate.simpson(integrate.simpson(f, x=g, axis=1), x=g)
    assert abs(mi - t.truth) < 4 * t.truth_error, (mi, t.truth, t.truth_error)


def test_inlier_truth_by_an_independent_monte_carlo_in_full_dimension():
    t = tasks.get("mult-sparse-w-inliers-5-5-2-2.0-0.5")
    data = t.sample(100_000, seed=3, standardize=False)
    xy = np.hstack([data["x"], data["y"]])
    sig = bmi2.sparse_correlation(5, 5)
    px = stats.multivariate_normal(cov=sig[:5, :5]).logpdf(data["x"])
    py = stats.multivariate_normal(cov=sig[5:, 5:]).logpdf(data["y"])
    joint = np.logaddexp(np.log(0.5) + stats.multivariate_normal(cov=sig).logpdf(xy),
                         np.log(0.5) + px + py)
    pmi = joint - px - py
    se = pmi.std() / np.sqrt(len(pmi))
    assert abs(pmi.mean() - t.truth) < 4 * np.hypot(se, t.truth_error), (pmi.mean(), t.truth, se)


def test_monte_carlo_of_one_component_is_the_closed_form():
    cov = bmi2.sparse_correlation(3, 2)
    one = bmi2.GaussianMixture(np.ones(1), np.zeros((1, 5)), cov[None], 3)
    value, se = bmi2.monte_carlo_mi(one, 200_000, seed=1)
    assert abs(value - gaussian_mi(cov, 3)) < 4 * se
    assert 0 < se < 0.01


def test_mixture_sampler_matches_its_weights_and_moments():
    m = bmi2.concentric_mixture(3, 5)
    xy = m.sample(50_000, np.random.default_rng(0))
    # Y sits on the component index (sd 0.01); X has sd equal to it
    c = np.rint(xy[:, 3])
    assert set(np.unique(c)) == {1, 2, 3, 4, 5}
    assert np.abs(xy[:, 3] - c).max() < 0.06
    np.testing.assert_allclose(np.bincount(c.astype(int))[1:] / len(c), 0.2, atol=0.01)
    for k in (1, 5):
        np.testing.assert_allclose(xy[c == k, :3].std(axis=0), k, rtol=0.05)


def test_waves_and_galaxy_maps_invert_to_the_mixture_sample():
    for name, inv in (
            ("2v1-waves-12-5.0-3.0",
             lambda x: np.column_stack([(x[:, 0] + 0.8) / 0.1 - 5 * np.sin(3 * 2 * x[:, 1]),
                                        2 * x[:, 1]])),
            ("2v1-galaxy-0.5-3.0",
             lambda x: bmi2.spiral(x, plane=(0, 1), speed=-0.5))):
        t = tasks.get(name)
        out = t.sampler(2000, np.random.default_rng(5))
        raw = t.sampler.keywords["mixture"].sample(2000, np.random.default_rng(5))
        np.testing.assert_allclose(inv(out["x"]), raw[:, :2], atol=1e-9)
        np.testing.assert_allclose(out["y"], raw[:, 2:])


def test_bmi2_samples_are_seeded_standardised_and_shaped():
    for name in ("1v1-AI", "25v1-concentric_gaussians-5", "mult-sparse-w-inliers-25-25-2-2.0-0.2"):
        t = tasks.get(name)
        a, b = t.sample(500, seed=1), t.sample(500, seed=1)
        np.testing.assert_array_equal(a["x"], b["x"])
        assert a["x"].shape == (500, t.dims["x"]) and a["y"].shape == (500, t.dims["y"])
        np.testing.assert_allclose(a["x"].mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(a["x"].std(axis=0), 1, atol=1e-12)
