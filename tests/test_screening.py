"""Every feature against a target (issue 26): feature_mi, rank_features, BH, infocli rank."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import infocli
import infocli.cli
from infocli.screening import benjamini_hochberg


def test_benjamini_hochberg_by_hand():
    p = [0.01, 0.04, 0.03, 0.20, 0.005]
    # sorted: 0.005, 0.01, 0.03, 0.04, 0.20 -> p m / rank: 0.025, 0.025, 0.05, 0.05, 0.20
    # step-up minima from the top: 0.025, 0.025, 0.05, 0.05, 0.20
    expected = [0.025, 0.05, 0.05, 0.20, 0.025]
    np.testing.assert_allclose(benjamini_hochberg(p), expected)
    # monotone in p, capped at 1, order of the input kept
    np.testing.assert_allclose(benjamini_hochberg([0.9, 0.8]), [0.9, 0.9])
    assert benjamini_hochberg([0.6, 0.7, 0.9]).max() <= 1.0


@pytest.fixture
def table():
    rng = np.random.default_rng(3)
    n = 400
    X = pd.DataFrame({"noise": rng.standard_normal(n), "strong": rng.standard_normal(n),
                      "weak": rng.standard_normal(n), "grade": rng.integers(0, 3, n)})
    y = 2 * X["strong"] + 0.5 * X["weak"] + X["grade"] + rng.standard_normal(n)
    return X, y


def test_feature_mi_matches_scikit_learn_shape_and_order(table):
    from sklearn.feature_selection import mutual_info_regression

    X, y = table
    ours = infocli.feature_mi(X, y, discrete_features=[3], seed=0)
    theirs = mutual_info_regression(X, y, discrete_features=[3], random_state=0)
    assert ours.shape == theirs.shape == (4,)
    # same columns in the same places: the strong feature first in both, then grade;
    # the weak one (truth 0.022) and pure noise (0) are within scikit-learn's noise there
    assert list(np.argsort(-ours)[:2]) == list(np.argsort(-theirs)[:2]) == [1, 3]
    np.testing.assert_allclose(ours, theirs, atol=0.03)
    assert abs(ours[0]) < 0.02
    # classification: a discrete target (mutual_info_classif)
    from sklearn.feature_selection import mutual_info_classif

    labels = (y > y.median()).astype(int)
    ours = infocli.feature_mi(X[["noise", "strong"]], labels, discrete_target=True)
    theirs = mutual_info_classif(X[["noise", "strong"]], labels, random_state=0)
    assert ours.shape == (2,) and ours[1] > ours[0] and theirs[1] > theirs[0]


def test_rank_table_sorted_with_p_values_and_verdicts(table):
    X, y = table
    res = infocli.rank_features(X, y, permutations=49, seed=1)
    names = [r["feature"] for r in res.rows]
    assert names[0] == "strong" and names[-1] == "noise"
    assert [r["rank"] for r in res.rows] == [1, 2, 3, 4]
    mi = [r["mi"] for r in res.rows]
    assert mi == sorted(mi, reverse=True)
    top = res.rows[0]
    assert top["p_value"] == pytest.approx(1 / 50) and top["verdict"] == "informative"
    assert res.rows[-1]["verdict"] == "not detected"
    assert top["lo"] <= top["mi"] <= top["hi"]
    # the BH column is the adjustment of the p column
    p = [r["p_value"] for r in res.rows]
    np.testing.assert_allclose([r["p_adjusted"] for r in res.rows], benjamini_hochberg(p))
    # the integer column was taken as discrete, with the option named
    grade = next(r for r in res.rows if r["feature"] == "grade")
    assert any("discrete_x=False" in w for w in grade["warnings"])
    # three tie-free continuous columns shared one null; the discrete one had its own
    assert res.null["shared"] == 3 and res.null["own"] == 1
    # same seed, same table, whatever the threads
    again = infocli.rank_features(X, y, permutations=49, seed=1, n_jobs=1)
    assert [r["mi"] for r in again.rows] == mi
    assert [r["p_value"] for r in again.rows] == p


def test_rank_groups_and_bad_targets(table):
    X, y = table
    res = infocli.rank_features(X, y, groups="signal=strong:weak;other=noise",
                                permutations=0)
    assert [r["feature"] for r in res.rows] == ["signal", "other"]
    assert res.rows[0]["columns"] == ["strong", "weak"]
    assert res.rows[0]["p_value"] is None
    with pytest.raises(infocli.InputError, match="single class"):
        infocli.rank_features(X, ["a"] * len(X))
    with pytest.raises(infocli.InputError, match="constant"):
        infocli.rank_features(X, np.full(len(X), 2.5))
    with pytest.raises(infocli.InputError, match="distinct class labels"):
        infocli.rank_features(np.zeros((100_001, 1)), np.arange(100_001).astype(str))


def test_rank_cli_formats(tmp_path, table):
    X, y = table
    X.assign(y=y).to_csv(tmp_path / "d.csv", index=False)
    runner = CliRunner()
    res = runner.invoke(infocli.cli.app, ["rank", str(tmp_path / "d.csv"), "--target", "y",
                                          "--permutations", "19", "--format", "csv", "-q"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("rank,feature,columns,mi,lo,hi")
    assert lines[1].split(",")[1] == "strong" and len(lines) == 5
    res = runner.invoke(infocli.cli.app, ["rank", str(tmp_path / "d.csv"), "--target", "y",
                                          "--features", "strong:weak", "--permutations", "0",
                                          "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [r["feature"] for r in out["rows"]] == ["strong", "weak"]
    res = runner.invoke(infocli.cli.app, ["rank", str(tmp_path / "d.csv"), "--target", "zz"])
    assert res.exit_code == 2 and "--target 'zz': no such column" in res.stderr
