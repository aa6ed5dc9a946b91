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
        infocli.rank_features(np.arange(100_001.0), np.arange(100_001).astype(str))


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
    # one spelling per idea: --json is --format json, -o takes its format from the name
    again = runner.invoke(infocli.cli.app, ["rank", str(tmp_path / "d.csv"), "--target", "y",
                                            "--features", "strong:weak", "--permutations", "0",
                                            "--json", "-o", str(tmp_path / "r.csv")])
    assert again.exit_code == 0, again.output
    assert {**json.loads(again.stdout), "seconds": 0} == {**out, "seconds": 0}
    assert (tmp_path / "r.csv").read_text().startswith("rank,feature,columns,mi,lo,hi")
    clash = runner.invoke(infocli.cli.app, ["rank", str(tmp_path / "d.csv"), "--target", "y",
                                            "--json", "--format", "csv"])
    assert clash.exit_code == 2 and "choose one output format" in clash.stderr
    res = runner.invoke(infocli.cli.app, ["rank", str(tmp_path / "d.csv"), "--target", "zz"])
    assert res.exit_code == 2 and "--target 'zz': no such column" in res.stderr


def test_constant_columns_listed_in_one_error_or_dropped(table):
    X, y = table
    X = X.assign(c1=0.0, c2=7)
    with pytest.raises(infocli.InputError, match=r"2 constant column\(s\).*'c1', 'c2'"):
        infocli.rank_features(X, y, permutations=0)
    res = infocli.rank_features(X, y, permutations=0, drop_constant=True)
    assert len(res.rows) == 4 and "left out: 'c1', 'c2'" in res.notes[0]
    assert "np.float64" not in str(res.notes)


def test_numeric_header_row_is_detected(tmp_path):
    # pandas writes integer column names as a first row 0,1,2: not a data row
    from infocli.io import read_table

    frame = pd.DataFrame(np.random.default_rng(0).standard_normal((500, 3)))
    frame.to_csv(tmp_path / "n.csv", index=False)
    t = read_table(str(tmp_path / "n.csv"))
    assert t.data.shape == (500, 3) and t.columns == ["0", "1", "2"]
    assert "first row (0,1,2) was read as column names" in t.notes[0]
    assert read_table(str(tmp_path / "n.csv"), header=False).data.shape == (501, 3)
    frame.to_csv(tmp_path / "plain.csv", index=False, header=False)
    t = read_table(str(tmp_path / "plain.csv"))
    assert t.data.shape == (500, 3) and t.notes == ()
    # a first row that is data is read as data when asked
    t = read_table(str(tmp_path / "plain.csv"), header=True)
    assert t.data.shape == (499, 3)


def test_name_ranges_in_every_column_list(tmp_path):
    from infocli.io import read_table, select_columns

    cols = [f"p{j}" for j in range(15, 35)] + ["y"]
    frame = pd.DataFrame(np.random.default_rng(1).standard_normal((50, len(cols))),
                         columns=cols)
    frame.to_csv(tmp_path / "w.csv", index=False)
    t = read_table(str(tmp_path / "w.csv"))
    _, idx = select_columns(t, "p20:p29,y")
    assert [t.columns[j] for j in idx] == [f"p{j}" for j in range(20, 30)] + ["y"]
    _, idx = select_columns(t, "0:3")  # an index range stays one (end excluded)
    assert idx == [0, 1, 2]
    with pytest.raises(infocli.InputError, match="p29 comes after p20"):
        select_columns(t, "p29:p20")
    # and on the command line (mi --x-cols)
    runner = CliRunner()
    res = runner.invoke(infocli.cli.app, ["mi", str(tmp_path / "w.csv"), "--x-cols",
                                          "p20:p22", "--y-cols", "y", "--json", "--check",
                                          "off"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["dims"] == {"x": 3, "y": 1}


def test_discrete_null_shortcut_equals_the_estimator():
    # rank's permutation null for a discrete feature and a discrete target is computed
    # on label codes directly; it must equal the estimator's value on the same shuffle
    from infocli.estimators.discrete import counts_of, entropy_from_counts, mi_value

    rng = np.random.default_rng(4)
    x, y = rng.integers(0, 5, 300), rng.integers(0, 3, 300)
    bound = min(entropy_from_counts(counts_of(c), "miller_madow") for c in (x, y))
    for b in range(5):
        perm = np.random.default_rng([0, 26, b]).permutation(300)
        est = infocli.mutual_information(x, y[perm], check="off")
        assert est.value == pytest.approx(min(mi_value(x, y[perm]), bound), abs=1e-12)
