"""infocli matrix / infocli.mi_matrix: every entry equals the single estimate of that
pair (library and ``infocli mi`` command), the matrix is symmetric, groups are
multivariate variables, nmi is the information coefficient (|rho| for Gaussians),
the cluster gives the in-process values, and the command line's mapping."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import infocli
import infocli.cli
from infocli import matrix
from infocli.errors import InputError, ParameterError

N = 400


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((N, 5))
    return pd.DataFrame({"x1": z[:, 0], "x2": z[:, 1], "y1": z[:, 0] + 0.7 * z[:, 2],
                         "y2": np.tanh(z[:, 1]) + 0.5 * z[:, 3], "u": z[:, 4],
                         "lab": np.where(z[:, 0] + 0.5 * z[:, 4] > 0, "p", "q")})


@pytest.fixture(scope="module")
def table(frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("matrix") / "t.csv"
    frame.to_csv(path, index=False)
    return path


def _env():
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_every_entry_equals_the_single_estimate_and_the_matrix_is_symmetric(frame):
    cols = ["x1", "x2", "y1", "y2", "u"]
    result = infocli.mi_matrix(frame, columns=cols, workers=0, seed=4, params={"k": 4})
    assert result.variables == tuple(cols) and len(result.rows) == 10
    for row in result.rows:
        single = infocli.mutual_information(frame[[row["x"]]], frame[[row["y"]]], seed=4, k=4,
                                            check="off", estimator="ksg")
        assert row["value"] == single.value and row["stderr"] == single.stderr
        assert row["interval"] is None and row["reliable"] is None  # matrix default: check off
        assert row["n_samples"] == N and row["p_value"] is None
        # the estimator itself is symmetric up to noise: the mirrored call agrees
        mirrored = infocli.mutual_information(frame[[row["y"]]], frame[[row["x"]]], seed=4, k=4, estimator="ksg")
        assert abs(mirrored.value - single.value) < 4 * single.stderr + 0.02
    square = result.square()
    assert list(square.index) == cols == list(square.columns)
    values = square.to_numpy()
    assert np.allclose(values, values.T, equal_nan=True)
    assert np.isnan(np.diag(values)).all()
    strong = {(r["x"], r["y"]): r["value"] for r in result.rows}
    assert strong[("x1", "y1")] > 0.5 and abs(strong[("x1", "u")]) < 0.1


def test_an_entry_equals_the_infocli_mi_command(table):
    result = infocli.mi_matrix(pd.read_csv(table), columns=["x1", "y1", "y2"], workers=0)
    out = subprocess.run([sys.executable, "-m", "infocli", "mi", str(table), "-e", "ksg", "--x-cols", "x1",
                          "--y-cols", "y1", "--json", "--check", "off"], capture_output=True,
                         text=True, env=_env(), check=True)
    single = json.loads(out.stdout)
    row = next(r for r in result.rows if (r["x"], r["y"]) == ("x1", "y1"))
    assert row["value"] == single["value"] and row["stderr"] == single["stderr"]


def test_with_a_check_every_entry_carries_the_single_estimates_interval_and_verdict(frame):
    cols = ["x1", "y1", "u"]
    result = infocli.mi_matrix(frame, columns=cols, workers=0, seed=3, check="fast")
    assert result.params["check"] == "fast"
    for row in result.rows:
        single = infocli.mutual_information(frame[[row["x"]]], frame[[row["y"]]], seed=3,
                                            check="fast", estimator="ksg")
        assert row["value"] == single.value and row["stderr"] == single.stderr
        assert row["interval"] == list(single.interval)
        assert row["reliable"] is single.reliable
    strong = next(r for r in result.rows if (r["x"], r["y"]) == ("x1", "y1"))
    lo, hi = strong["interval"]
    assert lo < strong["value"] < hi  # a two-sided interval around a converged 1x1 estimate
    # the transform reaches every pair: MI is rank-invariant, so close to the plain value
    ranked = infocli.mi_matrix(frame, columns=cols, workers=0, seed=3, transform="rank")
    for a, b in zip(result.rows, ranked.rows):
        assert abs(a["value"] - b["value"]) < 4 * a["stderr"] + 0.02


def test_nmi_is_the_information_coefficient_and_abs_rho_for_gaussians():
    rng = np.random.default_rng(11)
    n, rho = 3000, 0.8
    x = rng.standard_normal(n)
    df = pd.DataFrame({"x": x, "y": rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n),
                       "z": rng.standard_normal(n)})
    mi = infocli.mi_matrix(df, workers=0)
    nmi = infocli.mi_matrix(df, workers=0, measure="nmi")
    assert nmi.unit == ""
    for a, b in zip(mi.rows, nmi.rows):
        assert b["mi"] == a["value"]
        assert b["value"] == pytest.approx(math.sqrt(1 - math.exp(-2 * max(a["value"], 0))))
        if a["value"] > 0:
            assert b["stderr"] == pytest.approx(a["stderr"] * math.exp(-2 * a["value"]) / b["value"])
    xy = next(r for r in nmi.rows if (r["x"], r["y"]) == ("x", "y"))
    assert xy["value"] == pytest.approx(rho, abs=0.03)
    assert matrix.information_coefficient(-0.05) == 0.0
    assert np.allclose(np.diag(nmi.square().to_numpy()), 1.0)


def test_groups_are_multivariate_variables(frame):
    result = infocli.mi_matrix(frame, groups="a=x1,x2;b=y1:y2;c=u", workers=0)
    assert result.variables == ("a", "b", "c")
    row = next(r for r in result.rows if (r["x"], r["y"]) == ("a", "b"))
    single = infocli.mutual_information(frame[["x1", "x2"]], frame[["y1", "y2"]], estimator="ksg")
    assert row["value"] == single.value
    assert matrix.parse_groups({"g": ["x1", "y1"]}, list(frame.columns)) == {"g": [0, 2]}
    with pytest.raises(InputError, match="expected NAME=COLUMNS"):
        matrix.parse_groups("a=x1;b", list(frame.columns))
    with pytest.raises(InputError, match="no such column"):
        matrix.parse_groups("a=x1;b=nope", list(frame.columns))


def test_label_columns_are_taken_as_y(frame):
    result = infocli.mi_matrix(frame, columns=["x1", "lab", "u"], workers=0)
    row = next(r for r in result.rows if (r["x"], r["y"]) == ("x1", "lab"))
    assert row["value"] == infocli.mutual_information(frame[["x1"]], frame[["lab"]], estimator="ksg").value
    swapped = next(r for r in result.rows if (r["x"], r["y"]) == ("lab", "u"))
    assert swapped["value"] == infocli.mutual_information(frame[["u"]], frame[["lab"]], estimator="ksg").value


def test_entropy_of_each_column_and_permutation_p_values(frame):
    ent = infocli.mi_matrix(frame, columns=["x1", "y1"], measure="entropy", workers=0)
    assert [r["x"] for r in ent.rows] == ["x1", "y1"] and all(r["y"] is None for r in ent.rows)
    assert ent.rows[1]["value"] == infocli.entropy(frame[["y1"]], estimator="kl").value
    perm = infocli.mi_matrix(frame, columns=["x1", "y1", "u"], permutations=9, workers=0)
    single = infocli.mutual_information(frame[["x1"]], frame[["u"]], permutations=9, estimator="ksg")
    row = next(r for r in perm.rows if (r["x"], r["y"]) == ("x1", "u"))
    assert row["p_value"] == single.p_value
    assert next(r for r in perm.rows if r["y"] == "y1")["p_value"] == pytest.approx(0.1)


def test_bad_arguments_are_refused_before_any_work(frame):
    with pytest.raises(ParameterError, match="measure 'cor'"):
        infocli.mi_matrix(frame, measure="cor", workers=0)
    with pytest.raises(ParameterError, match="does not estimate mutual information"):
        infocli.mi_matrix(frame, estimator="kl", workers=0)
    with pytest.raises(ParameterError, match="parameter k=0"):
        infocli.mi_matrix(frame, params={"k": 0}, workers=0)
    with pytest.raises(InputError, match="column 'zz' not in the table"):
        infocli.mi_matrix(frame, columns=["x1", "zz"], workers=0)
    with pytest.raises(InputError, match="at least 2 variables"):
        infocli.mi_matrix(frame, columns=["x1"], workers=0)


def test_cluster_gives_the_in_process_matrix(frame, dask_engine):
    cols = ["x1", "x2", "y1", "y2", "u", "lab"]
    local = infocli.mi_matrix(frame, columns=cols, workers=0)
    seen = []
    remote = infocli.mi_matrix(frame, columns=cols, client=dask_engine.client, pairs_per_task=4,
                               progress=lambda d, c, t: seen.append((c, t)))
    assert remote.rows == local.rows
    assert seen[-1] == (15, 15) and len(seen) == math.ceil(15 / 4)


# --------------------------------------------------------------------------- command line

runner = CliRunner()


def test_cli_writes_the_tidy_table_json_and_heat_map(table, tmp_path, frame):
    csv_out, png, js = tmp_path / "m.csv", tmp_path / "m.png", tmp_path / "m.json"
    result = runner.invoke(infocli.cli.app, [
        "matrix", str(table), "--cols", "x1,x2,y1", "--measure", "nmi", "--workers", "0",
        "--csv", str(csv_out), "--plot", str(png), "--json", str(js), "-p", "k=5", "--seed", "2"])
    assert result.exit_code == 0, result.output
    tidy = pd.read_csv(csv_out)
    expected = infocli.mi_matrix(frame, columns=["x1", "x2", "y1"], measure="nmi", workers=0,
                                 params={"k": 5}, seed=2)
    assert list(zip(tidy["x"], tidy["y"])) == [(r["x"], r["y"]) for r in expected.rows]
    assert np.allclose(tidy["value"], [r["value"] for r in expected.rows], rtol=1e-12)
    assert {"stderr", "p_value", "interval_low", "interval_high", "reliable"} <= set(tidy)
    assert json.loads(js.read_text())["rows"][0]["value"] == expected.rows[0]["value"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert "x1" in result.stdout and "information" not in result.stderr


def test_cli_maps_options_to_the_library(table, monkeypatch):
    seen = {}
    real = matrix.mi_matrix

    def spy(frame, **kw):
        seen.update(kw, columns_seen=list(frame.columns))
        return real(frame, **{**kw, "workers": 0, "scheduler": None})

    monkeypatch.setattr(matrix, "mi_matrix", spy)
    result = runner.invoke(infocli.cli.app, [
        "matrix", str(table), "--groups", "a=x1,x2;b=y1", "--permutations", "3", "-e", "ksg",
        "--unit", "bits", "--workers", "3", "--memory-limit", "1GB", "--json", "-",
        "--check", "fast", "--transform", "copula"])
    assert result.exit_code == 0, result.output
    assert seen["groups"] == "a=x1,x2;b=y1" and seen["permutations"] == 3
    assert seen["check"] == "fast" and seen["transform"] == "copula"
    assert seen["unit"] == "bits" and seen["workers"] == 3 and seen["memory_limit"] == "1GB"
    assert seen["columns_seen"] == ["x1", "x2", "y1", "y2", "u", "lab"]
    assert json.loads(result.stdout)["variables"] == ["a", "b"]


@pytest.mark.parametrize("args, message", [
    (["--measure", "cor"], "--measure 'cor'"),
    (["--cols", "x1", "--groups", "a=x1;b=y1"], "not both"),
    (["--groups", "a=x1;b"], "expected NAME=COLUMNS"),
    (["--cols", "x1,nope"], "no such column"),
])
def test_cli_bad_arguments_exit_2(table, args, message):
    result = runner.invoke(infocli.cli.app, ["matrix", str(table), "--workers", "0", *args])
    assert result.exit_code == 2 and message in result.stderr, result.output
