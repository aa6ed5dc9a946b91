"""Rank/copula transforms and the marginal entropy decomposition (issue 15)."""

import json
import math

import numpy as np
import pytest
from scipy.special import digamma, ndtri
from typer.testing import CliRunner

import infocli
import infocli.cli
from infocli import transforms
from infocli.errors import ParameterError

from conftest import gaussian_pair

LOG_2PIE = math.log(2 * math.pi * math.e)
H_CUBE = 0.5 * LOG_2PIE + math.log(3) - (np.euler_gamma + math.log(2))  # h(X^3), X ~ N(0,1)


def test_average_ranks_and_scores_by_hand():
    a = np.array([[3.0, 1.0], [1.0, 1.0], [2.0, 5.0], [2.0, 0.0]])
    assert transforms.ranks(a).tolist() == [[4, 2.5], [1, 2.5], [2.5, 4], [2.5, 1]]
    assert np.allclose(transforms.rank_scores(a)[:, 0], [0.8, 0.2, 0.5, 0.5])
    assert np.allclose(transforms.normal_scores(a)[:, 0], ndtri([0.8, 0.2, 0.5, 0.5]))
    assert transforms.scores(a, "none") is a


@pytest.mark.parametrize("estimator", ["ksg", "gaussian"])
@pytest.mark.parametrize("transform", ["rank", "copula"])
def test_mi_exactly_identical_under_strictly_increasing_maps(rng, estimator, transform):
    x, y, _ = gaussian_pair(rng, 600, 2, 0.6)
    ref = infocli.mutual_information(x, y, estimator=estimator, transform=transform, seed=1)
    gx = np.column_stack([np.exp(x[:, 0]), 3 * x[:, 1] ** 3 + 7])
    other = infocli.mutual_information(gx, np.arctan(y), estimator=estimator,
                                       transform=transform, seed=1)
    assert other.value == ref.value and other.stderr == ref.stderr
    # without the transform ksg/gaussian are not invariant: the test can fail
    plain = infocli.mutual_information(gx, np.arctan(y), estimator=estimator, seed=1)
    assert plain.value != ref.value


def test_mi_invariant_to_stderr_and_close_to_truth(rng):
    x, y, truth = gaussian_pair(rng, 3000, 1, 0.8)
    r = infocli.mutual_information(np.exp(2 * x), y ** 3, estimator="ksg", transform="copula")
    assert abs(r.value - truth) < 3 * r.stderr + 0.02
    plain = infocli.mutual_information(x, y, estimator="ksg")
    assert abs(r.value - plain.value) < 3 * plain.stderr


def test_ties_stay_tied_and_are_reported_exactly_invariantly(rng):
    x = np.round(rng.standard_normal((800, 1)), 1)  # heavily tied
    y = x + 0.5 * rng.standard_normal((800, 1))
    a = infocli.mutual_information(x, y, transform="rank", seed=3)
    b = infocli.mutual_information(np.exp(x), y, transform="rank", seed=3)
    assert a.value == b.value
    assert "x[0]" in a.details["ties"] and any("repeated values" in w for w in a.warnings)
    assert a.details["transform"]["ties"].startswith("average ranks")


def test_gcmi_equals_closed_form_and_an_independent_implementation(rng):
    n, rho = 20000, 0.7
    x, y, truth = gaussian_pair(rng, n, 2, rho)
    r = infocli.mutual_information(x ** 3, np.exp(y), estimator="gaussian", transform="copula")
    assert abs(r.value - truth) < 3 * r.stderr
    # Ince et al.'s recipe written out: ordinal ranks (no ties here), Phi^-1(r/(n+1)),
    # unbiased covariance, their psi bias correction
    def copnorm(a):
        return ndtri((np.argsort(np.argsort(a, axis=0), axis=0) + 1) / (n + 1))

    def h(a):
        m = a.shape[1]
        ld = np.linalg.slogdet(np.atleast_2d(np.cov(a, rowvar=False)))[1]
        return 0.5 * (ld - m * math.log(2 / (n - 1)) - digamma((n - np.arange(1, m + 1)) / 2).sum())

    cx, cy = copnorm(x ** 3), copnorm(np.exp(y))
    ref = h(cx) + h(cy) - h(np.hstack([cx, cy]))
    assert r.value == pytest.approx(ref, abs=1e-10)


def test_labels_are_left_untouched(rng):
    x = rng.standard_normal((500, 2))
    labels = np.where(x[:, 0] + 0.5 * rng.standard_normal(500) > 0, "up", "down")
    r = infocli.mutual_information(np.exp(x), labels, transform="copula", seed=2)
    ref = infocli.mutual_information(transforms.normal_scores(x), labels, seed=2)
    assert r.value == ref.value
    assert r.details["transform"]["variables"] == ["x"]
    assert r.params["transform"] == "copula" and "transform" not in ref.params


def test_cmi_exactly_invariant_in_every_variable(rng):
    z = rng.standard_normal((700, 1))
    x = z + rng.standard_normal((700, 1))
    y = z + x + rng.standard_normal((700, 1))
    a = infocli.conditional_mutual_information(x, y, z, transform="copula")
    b = infocli.conditional_mutual_information(np.exp(x), y ** 3, np.tanh(z), transform="copula")
    assert a.value == b.value


def test_marginal_kl_1d_matches_closed_forms(rng):
    n = 20000
    cols = np.column_stack([rng.standard_normal(n) ** 3, rng.exponential(size=n),
                            rng.random(n)])
    terms = transforms.marginal_entropy_terms(cols)
    est = terms.mean(axis=0)
    se = terms.std(axis=0, ddof=1) / math.sqrt(n)
    for e, s, truth in zip(est, se, [H_CUBE, 1.0, 0.0]):
        assert abs(e - truth) < 4 * s + 0.01


@pytest.mark.parametrize("estimator", ["kl", "gaussian"])
def test_entropy_decomposition_on_a_product_of_known_laws(rng, estimator):
    n = 8000
    x = np.column_stack([rng.standard_normal(n) ** 3, rng.exponential(size=n),
                         rng.standard_normal(n) ** 3])
    truth = 2 * H_CUBE + 1.0
    r = infocli.entropy(x, estimator=estimator, transform="copula")
    assert abs(r.value - truth) < 3 * r.stderr + 0.03
    # product law: the joint term equals the known normal-score entropies, d/2 log(2 pi e)
    assert abs(r.details["transform"]["joint_term"] - 1.5 * LOG_2PIE) < 0.05
    assert r.value == pytest.approx(r.details["transform"]["joint_term"] - 1.5 * LOG_2PIE
                                    + sum(r.details["transform"]["marginal_entropies"]))
    plain = infocli.entropy(x, estimator=estimator)
    assert abs(plain.value - truth) > abs(r.value - truth) + 0.1  # the decomposition helps


def test_rank_entropy_and_conditional_entropy(rng):
    n = 6000
    z = rng.standard_normal((n, 1))
    x = 0.6 * z + 0.8 * rng.standard_normal((n, 1))
    truth = 0.5 * LOG_2PIE + math.log(0.8)  # h(X | Z)
    c = infocli.entropy(x, given=np.exp(z), estimator="gaussian", transform="copula")
    assert abs(c.value - truth) < 3 * c.stderr + 0.02
    u = infocli.entropy(rng.exponential(size=(n, 2)), estimator="kl", transform="rank")
    assert abs(u.value - 2.0) < 3 * u.stderr + 0.05


def test_entropy_with_ties_dequantises_once_and_reports(rng):
    x = np.round(rng.exponential(size=(3000, 1)), 2)
    r = infocli.entropy(x, transform="copula", seed=4)
    assert any("repeated values" in w for w in r.warnings)
    assert abs(r.value - 1.0) < 0.05


def test_bad_transform_is_a_parameter_error(rng):
    x, y, _ = gaussian_pair(rng, 50, 1, 0.5)
    with pytest.raises(ParameterError, match="transform 'ranks'.*none, rank, copula"):
        infocli.mutual_information(x, y, transform="ranks")


def test_cli_transform_option_maps_to_the_library(tmp_path, rng):
    x, y, _ = gaussian_pair(rng, 300, 1, 0.6)
    np.save(tmp_path / "x.npy", np.exp(x))
    np.save(tmp_path / "y.npy", y)
    runner = CliRunner()
    res = runner.invoke(infocli.cli.app, ["mi", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                                          "--transform", "copula", "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    ref = infocli.mutual_information(x, y, transform="copula")
    assert rec["value"] == ref.value and rec["details"]["transform"]["method"] == "copula"
    res = runner.invoke(infocli.cli.app, ["entropy", str(tmp_path / "x.npy"), "--transform",
                                          "rank", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["params"]["transform"] == "rank"
    bad = runner.invoke(infocli.cli.app, ["mi", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                                          "--transform", "nope"])
    assert bad.exit_code == 2 and "transform 'nope'" in bad.stderr
