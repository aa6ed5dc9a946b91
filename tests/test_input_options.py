"""Input options shared by every command that reads columns (issue 26): the input
header (--input-header/--no-input-header; rank's old --header/--no-header) and
--drop-constant, on the command line, in the library and in batch jobs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer.main
from typer.testing import CliRunner

import infocli
import infocli.cli

GROUP = typer.main.get_command(infocli.cli.app)
#: commands that read CSV/TSV tables, and those that take column lists
READERS = ("mi", "entropy", "cmi", "matrix", "rank", "ib")
COLUMN_LISTS = ("mi", "entropy", "cmi", "matrix", "rank")


def _visible(name):
    return {o for p in GROUP.commands[name].params if p.param_type_name == "option"
            and not p.hidden for o in (*p.opts, *p.secondary_opts)}


@pytest.mark.parametrize("name", READERS)
def test_input_header_is_spelled_once(name):
    opts = _visible(name)
    assert {"--input-header", "--no-input-header"} <= opts
    assert "--header" not in opts  # never a visible option for the input
    if name in COLUMN_LISTS:
        assert "--drop-constant" in opts


@pytest.fixture
def numeric_header(tmp_path):
    path = tmp_path / "n.csv"
    pd.DataFrame(np.random.default_rng(0).standard_normal((300, 3))).to_csv(path, index=False)
    return str(path)


def _n(res):
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["n_samples"]


def test_no_input_header_reads_the_first_row_as_data(numeric_header):
    runner = CliRunner()
    base = ["mi", numeric_header, "--x-cols", "0", "--y-cols", "1", "--json", "--check", "off"]
    detected = runner.invoke(infocli.cli.app, base)
    assert _n(detected) == 300 and "read as column names" in detected.stderr
    assert "--no-input-header" in detected.stderr  # the warning names the option
    as_data = runner.invoke(infocli.cli.app, [*base, "--no-input-header"])
    assert _n(as_data) == 301 and "read as column names" not in as_data.stderr
    # entropy and cmi take it too
    ent = runner.invoke(infocli.cli.app, ["entropy", numeric_header, "--x-cols", "0",
                                          "--no-input-header", "--json", "--check", "off"])
    assert _n(ent) == 301


def test_rank_old_header_spelling_is_a_deprecated_alias(numeric_header):
    runner = CliRunner()
    args = ["rank", numeric_header, "--target", "2", "--permutations", "0", "--format", "csv"]
    old = runner.invoke(infocli.cli.app, [*args, "--no-header"])
    new = runner.invoke(infocli.cli.app, [*args, "--no-input-header"])
    assert old.exit_code == 0 and new.exit_code == 0, old.output + new.output
    assert ("--no-header (the input's first row) is deprecated and goes in the next release; "
            "use --no-input-header") in old.stderr
    assert "deprecated" not in new.stderr
    assert old.stdout == new.stdout
    clash = runner.invoke(infocli.cli.app, [*args, "--header", "--no-input-header"])
    assert clash.exit_code == 2 and "disagree" in clash.stderr


@pytest.fixture
def constants(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "c1": 1.0, "b": rng.normal(size=300),
                          "c2": 0.0, "d": rng.normal(size=300), "one": 3})
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    return str(path), frame


def test_drop_constant_on_the_command_line(constants):
    path, _ = constants
    runner = CliRunner()
    res = runner.invoke(infocli.cli.app, ["mi", path, "--y-cols", "b", "--drop-constant",
                                          "--json", "--check", "off"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["dims"] == {"x": 2, "y": 1}
    assert out["details"]["dropped_constant"] == {"x": ["c1", "c2", "one"]}
    assert "left out 3 constant column(s)" in res.stderr
    assert "'c1' (= 1), 'c2' (= 0), 'one' (= 3)" in res.stderr
    # entropy without it: one error naming every constant column, and the option
    err = runner.invoke(infocli.cli.app, ["entropy", path, "-e", "kl"])
    assert err.exit_code == 2
    assert "3 constant columns: 'c1' (= 1), 'c2' (= 0), 'one' (= 3)" in err.stderr
    assert "--drop-constant" in err.stderr and "Traceback" not in err.output
    # a variable that is all constant is refused, by name
    empty = runner.invoke(infocli.cli.app, ["cmi", path, "--x-cols", "a", "--y-cols", "b",
                                            "--given-cols", "c1,one", "--drop-constant"])
    assert empty.exit_code == 2
    assert "every column is constant: 'c1' (= 1), 'one' (= 3)" in empty.stderr


def test_drop_constant_in_matrix(constants):
    path, frame = constants
    runner = CliRunner()
    err = runner.invoke(infocli.cli.app, ["matrix", path, "--format", "csv"])
    assert err.exit_code == 2  # refused before any work, not one failed row per pair
    assert ("3 constant column(s), which carry no information: 'c1' (= 1), 'c2' (= 0), "
            "'one' (= 3); drop them, or pass --drop-constant") in err.stderr
    ok = runner.invoke(infocli.cli.app, ["matrix", path, "--drop-constant", "--json"])
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.stdout)
    assert out["variables"] == ["a", "b", "d"] and len(out["rows"]) == 3
    assert "left out 3 constant column(s)" in ok.stderr
    # the library: the same, and a group keeps its other columns
    res = infocli.mi_matrix(frame, groups="g=a,c1;h=b,d", drop_constant=True, workers=0)
    assert res.variables == ("g", "h") and "'c1' (= 1)" in res.notes[0]
    with pytest.raises(infocli.InputError, match="pass drop_constant=True"):
        infocli.mi_matrix(frame, workers=0)


def test_drop_constant_in_the_library():
    rng = np.random.default_rng(1)
    x = np.c_[rng.normal(size=400), np.ones(400), rng.normal(size=400)]
    y = x[:, 0] + rng.normal(size=400)
    est = infocli.mutual_information(x, y, estimator="ksg", drop_constant=True, check="off")
    ref = infocli.mutual_information(x[:, [0, 2]], y, estimator="ksg", check="off")
    assert est.value == ref.value and est.dims["x"] == 2
    assert est.details["dropped_constant"] == {"x": ["column 1"]}
    with pytest.raises(infocli.InputError, match="column 1 is constant"):
        infocli.mutual_information(x, y, estimator="ksg")
    with pytest.raises(infocli.InputError, match="every column is constant: column 0"):
        infocli.entropy(np.ones(50), drop_constant=True)


def test_batch_job_fields(numeric_header, tmp_path):
    from infocli import batch

    job = batch.make_job({"measure": "entropy", "x": numeric_header, "x_cols": "0",
                          "estimator": "kl", "input_header": "false", "params": "k=3"})
    assert job.input_header is False and job.inputs()["input_header"] is False
    rec = batch.run([job], workers=0)[0]
    assert rec["n_samples"] == 301, rec
    detect = batch.make_job({"measure": "entropy", "x": numeric_header, "x_cols": "0",
                             "estimator": "kl"})
    assert detect.input_header is None and "input_header" not in detect.inputs()
    assert batch.run([detect], workers=0)[0]["n_samples"] == 300
    path = tmp_path / "c.csv"
    pd.DataFrame({"a": np.random.default_rng(2).normal(size=200), "c": 1.0,
                  "b": np.random.default_rng(3).normal(size=200)}).to_csv(path, index=False)
    job = batch.make_job({"measure": "mi", "x": str(path), "y_cols": "b", "estimator": "ksg",
                          "drop_constant": "yes"})
    rec = batch.run([job], workers=0)[0]
    assert rec.get("error") is None and rec["dims"] == {"x": 1, "y": 1}, rec


def test_drop_constant_keeps_a_discrete_mask_on_the_right_columns():
    rng = np.random.default_rng(4)
    grade = rng.integers(0, 3, 500)
    x = np.c_[np.ones(500), grade, rng.normal(size=500)]
    y = grade + rng.normal(size=500)
    # the mask and the indices name the columns as given; after dropping column 0 they
    # must still mark 'grade' (now column 0), not the normal column
    for spec in ([False, True, False], [1]):
        est = infocli.mutual_information(x, y, discrete_x=spec, drop_constant=True,
                                         check="off")
        ref = infocli.mutual_information(x[:, 1:], y, discrete_x=[0], check="off")
        assert est.value == ref.value and est.details["auto"]["chosen"] == \
            ref.details["auto"]["chosen"]
