"""The ``auto`` estimator: what it runs, what it records, and the CLI mapping."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import infocli
import infocli.cli
from infocli import registry

from conftest import gaussian_pair

LOG_2PIE = math.log(2 * math.pi * math.e)


def test_auto_is_registered_for_every_measure():
    spec = registry.get("auto")
    assert set(spec.measures) == {"entropy", "conditional_entropy", "mutual_information",
                                  "conditional_mutual_information"}
    assert "mutual_information" in spec.discrete


def test_auto_mi_records_both_candidates_and_applies_its_rule(rng):
    x, y, _ = gaussian_pair(rng, 1500, 2, 0.6)
    gx = np.exp(x)
    r = infocli.mutual_information(gx, y, estimator="auto", seed=5)
    auto = r.details["auto"]
    cand = auto["candidates"]
    assert set(cand) == {"gaussian+copula", "ksg(k=1)+copula"}
    # the candidates are exactly the estimators a user would run by hand
    g = infocli.mutual_information(gx, y, estimator="gaussian", transform="copula")
    k = infocli.mutual_information(gx, y, estimator="ksg", transform="copula", k=1)
    assert cand["gaussian+copula"]["value"] == g.value
    assert cand["ksg(k=1)+copula"]["value"] == k.value
    # a Gaussian copula: the candidates agree within noise, and the more precise wins
    choice = auto["choice"]
    assert choice["difference"] == pytest.approx(g.value - k.value, abs=1e-12)
    assert abs(choice["difference"]) <= 3 * choice["difference_sd"]
    precise = min(cand, key=lambda c: cand[c]["stderr"] * (1.3 if c.startswith("ksg") else 1))
    assert auto["chosen"] == precise == "gaussian+copula"
    assert r.value == cand[auto["chosen"]]["value"]
    # the check may raise the stderr toward its subsampling noise; the estimator's own is kept
    assert r.details["stderr_estimator"] == cand[auto["chosen"]]["stderr"] <= r.stderr
    assert auto["chosen"] in auto["why"] and "agree within noise" in auto["why"]
    again = infocli.mutual_information(gx, y, estimator="auto", seed=5)
    assert again.value == r.value and again.details == r.details  # same seed, same output


def test_auto_takes_knn_when_it_is_larger_beyond_noise(rng):
    # a ring: dependence no covariance sees; KSG finds it, GCMI reads about 0
    t = rng.uniform(0, 2 * np.pi, 3000)
    x = np.cos(t) + 0.05 * rng.standard_normal(3000)
    y = np.sin(t) + 0.05 * rng.standard_normal(3000)
    r = infocli.mutual_information(x, y, seed=0, check="off")
    auto = r.details["auto"]
    assert auto["chosen"] == "ksg(k=1)+copula"
    assert auto["choice"]["difference"] < -3 * auto["choice"]["difference_sd"]
    assert r.value > 0.5


def test_auto_picks_gcmi_in_high_dimension_and_ksg_for_nonlinear_dependence(rng):
    x, y, truth = gaussian_pair(rng, 2000, 8, 0.6)  # KSG is biased down at 16 dims
    r = infocli.mutual_information(x ** 3, y, estimator="auto")
    assert r.details["auto"]["chosen"] == "gaussian+copula"
    assert abs(r.value - truth) < 3 * r.stderr + 0.05
    t = rng.uniform(-3, 3, size=(2000, 1))
    y2 = t ** 2 + 0.3 * rng.standard_normal((2000, 1))  # non-monotone: GCMI sees ~0
    r2 = infocli.mutual_information(t, y2, estimator="auto")
    assert r2.details["auto"]["chosen"] == "ksg(k=1)+copula"
    assert r2.value > 0.8 and r2.details["auto"]["candidates"]["gaussian+copula"]["value"] < 0.1


def test_auto_with_labels_runs_only_the_knn_candidate(rng):
    x = rng.standard_normal((800, 2))
    labels = np.where(x[:, 0] > 0, "a", "b")
    r = infocli.mutual_information(x, labels, estimator="auto")
    assert list(r.details["auto"]["candidates"]) == ["ksg(k=3)+copula"]  # Ross: k >= 3
    assert "only candidate" in r.details["auto"]["why"]
    assert 0.4 < r.value <= math.log(2) + 3 * r.stderr


def test_auto_cmi_and_conditional_entropy(rng):
    n = 2000
    z = rng.standard_normal((n, 1))
    x = z + rng.standard_normal((n, 1))
    y = z + 0.8 * x + rng.standard_normal((n, 1))
    # I(X;Y|Z) = 1/2 log(1 + 0.8^2 Var(X|Z) / Var(noise)) = 1/2 log 1.64
    r = infocli.conditional_mutual_information(np.exp(x), y, z, estimator="auto")
    assert abs(r.value - 0.5 * math.log(1.64)) < 3 * r.stderr + 0.03
    assert r.details["auto"]["chosen"] in r.details["auto"]["candidates"]
    h = infocli.entropy(x, given=z, estimator="auto")  # h(X|Z) = 1/2 log(2 pi e)
    assert abs(h.value - 0.5 * LOG_2PIE) < 3 * h.stderr + 0.03
    a = h.details["auto"]
    assert h.value == a["entropy"] - a["mi"] and " - " in a["chosen"]
    assert a["mi"] == max(v["value"] for c, v in a["candidates"].items() if c.startswith("I(X;Z)"))
    # labels as Z, unequal class scales: h(X|L) = 1/2 log(2 pi e) + (log 0.5 + log 2) / 2;
    # a kNN term per class on the grid of normal scores would be ~1 nat too high
    labels = rng.integers(0, 2, 5000)
    xl = labels * 3.0 + np.where(labels == 1, 2.0, 0.5) * rng.standard_normal(5000)
    hl = infocli.entropy(xl, given=labels, discrete_given=True, estimator="auto")
    assert abs(hl.value - 0.5 * LOG_2PIE) < 3 * hl.stderr + 0.03


def test_auto_entropy_uses_the_decomposition_and_the_min_rule(rng):
    n = 6000
    x = np.column_stack([rng.standard_normal(n) ** 3, rng.exponential(size=n)])
    h_cube = 0.5 * LOG_2PIE + math.log(3) - (np.euler_gamma + math.log(2))
    r = infocli.entropy(x, estimator="auto")
    assert r.details["transform"]["method"] == "copula"
    cand = r.details["auto"]["candidates"]
    assert set(cand) == {"gaussian", "kl(k=1)"} and "min" in r.details["auto"]["rule"]
    assert abs(r.value - (h_cube + 1.0)) < 3 * r.stderr + 0.05


def test_cli_estimator_auto(tmp_path, rng):
    x, y, _ = gaussian_pair(rng, 400, 1, 0.6)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    res = CliRunner().invoke(infocli.cli.app, ["mi", str(tmp_path / "x.npy"),
                                               str(tmp_path / "y.npy"), "-e", "auto", "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    assert rec["estimator"] == "auto" and rec["details"]["auto"]["chosen"]
    assert rec["value"] == infocli.mutual_information(x, y, estimator="auto").value
    bad = CliRunner().invoke(infocli.cli.app, ["mi", str(tmp_path / "x.npy"),
                                               str(tmp_path / "y.npy"), "-e", "auto",
                                               "-p", "metric=chebyshev"])
    assert bad.exit_code == 2 and "no parameter 'metric'" in bad.stderr


def test_auto_drops_the_gaussian_candidate_for_degenerate_inputs(rng):
    # I(X;Y) = I(Z;Y) = 1/2 log 5 whatever deterministic columns of z X holds
    n = 3000
    z = rng.standard_normal(n)
    y = z + 0.5 * rng.standard_normal(n)
    truth = 0.5 * math.log(5.0)
    for x, why in ((np.c_[z, np.sin(3 * z), z + np.sin(3 * z)], "linearly dependent"),
                   (np.c_[z, z ** 3], "normal scores of x are linearly dependent")):
        r = infocli.mutual_information(x, y)  # GCMI is undefined (or meaningless) here
        a = r.details["auto"]
        assert list(a["candidates"]) == ["ksg(k=1)+copula"] and why in a["excluded"]["gaussian+copula"]
        assert "not run: gaussian+copula" in a["why"]
        assert abs(r.value - truth) < 3 * r.stderr + 0.03
    c = infocli.conditional_mutual_information(np.c_[z, z ** 3], y, rng.standard_normal(n))
    assert "gaussian+copula" in c.details["auto"]["excluded"] and abs(c.value - truth) < 0.06
    ok = infocli.mutual_information(np.c_[z, rng.standard_normal(n)], y)
    assert "excluded" not in ok.details["auto"] and len(ok.details["auto"]["candidates"]) == 2
