"""Regression tests for the defects of issue 17 (each failed before its fix).

1. a diverged neural critic returned an absurd finite value with exit 0;
2. integer class labels used as a continuous Y/Z were silently treated as
   continuous, and the tie jitter was reported in standardised units;
3. warnings named columns by index where the file has names;
4. ``kl -p weights=bsy -p k=5`` silently used k=1 for d <= 4;
5. hints named options of other commands (and the Python API on the CLI);
6. kNN entropy's upward bias on a bounded support went unmentioned;
7. internal wording ("our machines", a path to a file users do not have).
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import infocli
import infocli.cli
from infocli import EstimationError, InputError
from infocli.estimators._common import Context
from infocli.estimators.knn import hard_edges
from infocli.estimators.neural import _check_plausible

from conftest import gaussian_pair

REPO = Path(__file__).resolve().parents[1]
FAST = dict(hidden="16", embed_dim=8, batch_size=16, max_steps=60, eval_every=20, patience=3)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200"})


def invoke(runner, *args):
    return runner.invoke(infocli.cli.app, [str(a) for a in args])


# ------------------------------------------------------------------ 1. diverged critics
@pytest.mark.parametrize("bound", ["mine", "nwj", "infonce", "smile", "js"])
def test_a_diverged_critic_is_an_estimation_error(bound, rng):
    x, y, _ = gaussian_pair(rng, 300, 1, 0.6)
    # lr=1e3 blows every critic up: before the fix mine/infonce/smile returned
    # finite values of order +-1e15 with exit 0
    with pytest.raises(EstimationError, match=r"lower lr|regularize=remine"):
        infocli.mutual_information(x, y, estimator=bound, device="cpu",
                                   **{**FAST, "lr": 1e3})


def test_plausibility_rule():
    ctx = Context(rng=np.random.default_rng(0))
    with pytest.raises(EstimationError, match=r"-717.1 nats, below 0.*lower lr \(now 1;"):
        _check_plausible(ctx, "mine", -717.07, 12.0, 5000, None, 1.0)
    # noise around 0 is fine: 0.1 nats + 4 stderr
    _check_plausible(ctx, "mine", -0.25, 0.04, 5000, None, 5e-4)
    with pytest.raises(EstimationError, match="below 0"):
        _check_plausible(ctx, "mine", -0.3, 0.04, 5000, None, 5e-4)
    # a huge stderr does not excuse a huge negative value
    with pytest.raises(EstimationError):
        _check_plausible(ctx, "nwj", -50.0, 40.0, 5000, None, 5e-4)
    # labels: MI <= H(Y) <= log C
    with pytest.raises(EstimationError, match=r"above log\(3 classes\) = 1.099"):
        _check_plausible(ctx, "infonce", 1.5, 0.02, 5000, 3, 5e-4)
    _check_plausible(ctx, "infonce", 1.05, 0.02, 5000, 3, 5e-4)
    # continuous: > 2 log n fails, > log n is flagged
    with pytest.raises(EstimationError, match=r"far above log\(n\) = 8.52"):
        _check_plausible(ctx, "smile", 11368.6, 2381.0, 5000, None, 1.0)
    assert ctx.warnings == []
    _check_plausible(ctx, "smile", 9.0, 0.1, 5000, None, 5e-4)
    assert len(ctx.warnings) == 1 and "exceeds log(n) = 8.52" in ctx.warnings[0]


def test_cli_diverged_critic_exits_3(runner, tmp_path, rng):
    x, y, _ = gaussian_pair(rng, 300, 1, 0.6)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    res = invoke(runner, "mi", tmp_path / "x.npy", tmp_path / "y.npy", "-e", "mine",
                 "-p", "lr=1000", "-p", "hidden=8", "-p", "batch_size=16", "-p",
                 "max_steps=60", "-p", "eval_every=20", "--device", "cpu", "--value")
    assert res.exit_code == 3, res.output
    assert res.stdout == ""
    assert res.stderr.startswith("infocli: error: mine: ") and res.stderr.count("\n") == 1


# ------------------------------------------------------------------ 2. integer labels
@pytest.fixture
def labelled(rng):
    z = rng.standard_normal((1000, 2))
    labels = (z[:, 0] > 0).astype(int) + (z[:, 1] > 0.5)
    return z, labels


def test_integer_labels_as_continuous_y_are_flagged(labelled):
    z, labels = labelled
    # auto detects them as discrete (issue 26) and names the keyword that undoes it
    est = infocli.mutual_information(z, labels)
    flagged = [w for w in est.warnings if "3 distinct integer values (0, 1, 2)" in w]
    assert len(flagged) == 1 and "treated as discrete" in flagged[0]
    assert "pass discrete_y=False to treat it as continuous" in flagged[0]
    assert est.details["hints"] == [{"kind": "continuous", "var": "y", "column": None}]
    assert est.value == infocli.mutual_information(z, labels, discrete_y=True).value
    # an estimator without per-column masks keeps them continuous and says how to switch
    est = infocli.mutual_information(z, labels, estimator="ksg")
    flagged = [w for w in est.warnings if "3 distinct integer values (0, 1, 2)" in w]
    assert len(flagged) == 1 and flagged[0].endswith("pass discrete_y=True to use it as class "
                                                      "labels")
    assert est.details["hints"] == [{"kind": "labels", "var": "y", "column": None}]
    # an explicit choice silences it, either way
    for flag in (True, False):
        est = infocli.mutual_information(z, labels, discrete_y=flag)
        assert not any("distinct integer values" in w for w in est.warnings)
    # conditional entropy names its own keyword
    est = infocli.entropy(z, given=labels)
    assert any(w.endswith("pass discrete_given=True to use it as class labels")
               for w in est.warnings)


def test_label_rule_threshold(rng):
    # max(20, sqrt(n)) distinct integers: 30 levels in 400 rows are continuous-looking...
    x = rng.standard_normal((400, 1))
    y30 = rng.integers(0, 30, 400)
    assert not any("distinct integer" in w
                   for w in infocli.mutual_information(x, y30).warnings)
    # ...20 are flagged, and non-integers never are
    y20 = rng.integers(0, 20, 400)
    assert any("20 distinct integer values" in w
               for w in infocli.mutual_information(x, y20).warnings)
    assert not any("distinct integer" in w
                   for w in infocli.mutual_information(x, y20 + 0.5).warnings)


def test_tie_jitter_width_is_in_the_data_units(labelled):
    z, labels = labelled
    est = infocli.mutual_information(z, 10.0 * labels, estimator="ksg")  # gap 10 between distinct values
    assert est.details["ties"]["y[0]"]["width"] == pytest.approx(10.0)
    assert any("jitter of width 10 (" in w for w in est.warnings)


def test_cli_integer_labels_suggest_the_command_option(runner, tmp_path, labelled):
    z, labels = labelled
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "labels.npy", labels)
    res = invoke(runner, "mi", tmp_path / "z.npy", tmp_path / "labels.npy", "--json")
    assert res.exit_code == 0, res.output
    assert "pass --continuous-y to treat it as continuous" in res.stdout
    assert "discrete_y=False" not in res.stdout + res.stderr
    res = invoke(runner, "mi", tmp_path / "z.npy", tmp_path / "labels.npy", "--json",
                 "-e", "ksg")
    assert res.exit_code == 0, res.output
    assert "pass --discrete-y to use it as class labels" in res.stdout
    assert "discrete_y=True" not in res.stdout + res.stderr
    res = invoke(runner, "entropy", tmp_path / "z.npy", "--given", tmp_path / "labels.npy",
                 "--json")
    assert "pass --discrete-given to use it as class labels" in res.stdout
    assert "--discrete-y" not in res.stdout and "discrete_given=True" not in res.stdout


# ------------------------------------------------------------------ 3. column names
def test_warnings_name_the_file_columns(runner, tmp_path, rng):
    f = rng.standard_normal((500, 2))
    f[:4, 1] = f[4, 1]  # 4 repeated values in f2
    pd.DataFrame({"f1": f[:, 0], "f2": f[:, 1], "label": ["a", "b"] * 250}).to_csv(
        tmp_path / "c.csv", index=False)
    res = invoke(runner, "entropy", tmp_path / "c.csv", "--given-cols", "label", "--json")
    assert res.exit_code == 0, res.output
    assert "column 'f2' has 4 repeated values" in res.stdout
    assert "column 1 has" not in res.stdout
    # the library too, from a DataFrame
    est = infocli.entropy(pd.DataFrame({"f1": f[:, 0], "f2": f[:, 1]}))
    assert any("column 'f2' has 4 repeated values" in w for w in est.warnings)


# ------------------------------------------------------------------ 4. bsy honours k
def test_bsy_weights_honour_k_in_low_dimensions(rng):
    x = rng.standard_normal((2000, 3))
    # check="off": the estimator's own stderr (the reliability check may raise it)
    bsy5 = infocli.entropy(x, k=5, weights="bsy", check="off", estimator="kl")
    plain5 = infocli.entropy(x, k=5, check="off", estimator="kl")
    plain1 = infocli.entropy(x, k=1, check="off", estimator="kl")
    assert bsy5.stderr == pytest.approx(plain5.stderr, rel=1e-9)
    assert bsy5.stderr != pytest.approx(plain1.stderr, rel=0.05)
    # the per-sample terms differ by psi(n) - log(n - 1) only
    n = len(x)
    from scipy.special import digamma
    assert bsy5.value - plain5.value == pytest.approx(math.log(n - 1) - digamma(n), abs=1e-9)


# ------------------------------------------------------------------ 5. hints per command
@pytest.fixture
def clusters(tmp_path, rng):
    f = rng.standard_normal((300, 2))
    pd.DataFrame({"f1": f[:, 0], "f2": f[:, 1], "label": ["a", "b", "c"] * 100}).to_csv(
        tmp_path / "clusters.csv", index=False)
    nan = f.copy()
    nan[7, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    return tmp_path


@pytest.mark.parametrize("args, hint, foreign", [
    (["entropy", "clusters.csv"],
     "select numeric columns with --x-cols, or condition on a label column with "
     "--given-cols label", ["--discrete-y", "discrete_y=True", "discrete_given"]),
    # (auto takes a text X as labels since issue 26; ksg does not)
    (["mi", "clusters.csv", "--x-cols", "label", "--y-cols", "f1", "-e", "ksg"],
     "select numeric columns with --x-cols; a label column can be Y (--y-cols label)",
     ["--discrete-given", "discrete_y=True"]),
    (["cmi", "clusters.csv", "--x-cols", "label", "--y-cols", "f1", "--given-cols", "f2"],
     "select numeric columns with --x-cols; a label column can be Z (--given-cols label "
     "--discrete-given)", ["--discrete-y", "discrete_y=True"]),
    (["entropy", "nan.npy"], "drop or impute those rows first, or pass --dropna to drop them",
     ["dropna=True"]),
])
def test_hints_name_the_options_of_the_failing_command(runner, clusters, monkeypatch, args,
                                                       hint, foreign):
    monkeypatch.chdir(clusters)
    res = invoke(runner, *args)
    assert res.exit_code == 2
    line = res.stderr
    assert line.startswith("infocli: error: ") and line.count("\n") == 1
    assert line.rstrip("\n").endswith(hint), line
    for word in foreign:
        assert word not in line


def test_library_hints_use_the_python_api(clusters):
    frame = pd.read_csv(clusters / "clusters.csv")
    with pytest.raises(InputError) as info:
        infocli.entropy(frame)
    text = str(info.value)
    assert "column 'label' is not numeric" in text and "discrete_given=True" in text
    assert "--" not in text  # no command-line option in a library message
    assert info.value.hint.kind == "not_labels" and info.value.hint.column == "label"
    with pytest.raises(InputError, match=r"or pass dropna=True to drop them$"):
        infocli.entropy(np.load(clusters / "nan.npy"))


# ------------------------------------------------------------------ 6. bounded support
def test_bounded_support_is_flagged(rng):
    u = rng.uniform(0, 2, (3000, 3))
    est = infocli.entropy(u, k=5, estimator="kl")
    # the bias the warning states: well above the truth 3 log 2 = 2.0794
    assert est.value - 3 * math.log(2) > 0.05
    assert any("support looks bounded" in w and "biased upward" in w for w in est.warnings)
    assert est.details["bounded_support"] == {str(j): ["min", "max"] for j in range(3)}
    # the default (auto) takes each column's entropy in 1-D, where the edge costs little
    a = infocli.entropy(u)
    assert a.interval[0] <= 3 * math.log(2) <= a.interval[1] and abs(a.value - 3 * math.log(2)) < 0.05
    g = infocli.entropy(rng.standard_normal((3000, 3)), k=5, estimator="kl")
    assert "bounded_support" not in g.details
    assert not any("bounded" in w for w in g.warnings)


def test_hard_edge_rule(rng):
    assert hard_edges(rng.exponential(size=(2000, 1))) == {0: ["min"]}
    assert hard_edges(rng.standard_normal((100_000, 2))) == {}
    assert hard_edges(rng.standard_t(3, (5000, 1))) == {}
    assert hard_edges(np.c_[rng.uniform(size=2000), rng.standard_normal(2000)]) == {
        0: ["min", "max"]}


def test_sample_uniform_entropy_states_its_bias(runner):
    res = invoke(runner, "entropy", REPO / "sample_data" / "uniform.npy", "-e", "kl", "-p",
                 "k=5", "--json")
    assert res.exit_code == 0, res.output
    assert "support looks bounded" in res.stdout
    assert "support looks bounded" in res.stderr  # and on stderr beside the JSON


# ------------------------------------------------------------------ 7. wording
def test_no_internal_wording_outside_the_readme():
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    internal = ("METHODS.md", "the issue's target", "on our machines")
    found = []
    for name in files:
        # tests hold these phrases as the strings they look for
        if name == "README.md" or name.startswith("tests/") or not name.endswith(
                (".py", ".md", ".toml", ".txt", ".cfg")):
            continue
        text = (REPO / name).read_text(errors="replace")
        found += [f"{name}: {w}" for w in internal if w in text]
    assert found == []
