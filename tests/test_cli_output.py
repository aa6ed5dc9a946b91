"""Shell-friendly output (issue 17): --value, --format, CSV appends, warnings on
stderr, --dropna, help text and usage errors. Real estimators on small seeded
data; a subprocess where exit codes and the exact bytes of stdout matter."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import infocli
import infocli.cli
from infocli._render import ROW_COLUMNS

N = 300


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("output")
    rng = np.random.default_rng(17)
    x = rng.standard_normal((N, 2))
    y = x[:, :1] + 0.6 * rng.standard_normal((N, 1))
    z = rng.standard_normal((N, 1))
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    np.save(folder / "z.npy", z)
    tied = y.round(1)  # repeated values: a warning
    np.save(folder / "tied.npy", tied)
    xn, yn = x.copy(), y.copy()
    xn[5, 1] = np.nan
    xn[9, 0] = np.inf
    yn[9, 0] = np.nan  # same row as x's inf: dropped once
    yn[20, 0] = np.nan
    np.save(folder / "xn.npy", xn)
    np.save(folder / "yn.npy", yn)
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": y[:, 0], "d": z[:, 0]}).to_csv(
        folder / "t.csv", index=False)
    return {"dir": folder, "x": x, "y": y, "z": z, "xn": xn, "yn": yn}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "100"})


def invoke(runner, *args):
    return runner.invoke(infocli.cli.app, [str(a) for a in args])


def run_cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infocli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------ --value
def test_value_prints_exactly_one_number(files):
    # --check off: no reliability warnings, so that stderr is empty
    proc = run_cli("mi", "x.npy", "y.npy", "--value", "--check", "off", cwd=files["dir"])
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"-?\d+\.\d+(e-?\d+)?\n", proc.stdout), proc.stdout
    ref = infocli.mutual_information(files["x"], files["y"]).value
    assert float(proc.stdout) == ref  # full precision: repr round-trips
    assert proc.stderr == ""


@pytest.mark.parametrize("command, args, ref", [
    ("entropy", ["x.npy"], lambda f: infocli.entropy(f["x"]).value),
    ("cmi", ["x.npy", "y.npy", "--given", "z.npy"],
     lambda f: infocli.conditional_mutual_information(f["x"], f["y"], f["z"]).value),
    ("mi", ["x.npy", "y.npy", "--unit", "bits"],
     lambda f: infocli.mutual_information(f["x"], f["y"], unit="bits").value),
])
def test_value_and_format_value_for_every_command(runner, files, monkeypatch, command, args,
                                                  ref):
    monkeypatch.chdir(files["dir"])
    for flag in (["--value"], ["--format", "value"], ["-f", "value"]):
        res = invoke(runner, command, *args, *flag)
        assert res.exit_code == 0, res.output
        assert res.stdout.count("\n") == 1 and float(res.stdout) == ref(files)


def test_value_keeps_warnings_on_stderr_and_quiet_drops_them(runner, files, monkeypatch):
    monkeypatch.chdir(files["dir"])
    res = invoke(runner, "mi", "x.npy", "tied.npy", "--value", "--check", "off")
    assert res.exit_code == 0
    float(res.stdout)
    lines = res.stderr.splitlines()
    assert lines and all(ln.startswith("infocli: warning: tied.npy: column 0 has ")
                         for ln in lines)
    quiet = invoke(runner, "mi", "x.npy", "tied.npy", "--value", "--check", "off", "--quiet")
    assert quiet.stderr == "" and quiet.stdout == res.stdout


# ------------------------------------------------------------------ formats
def test_json_warnings_go_to_stderr_one_line_each(runner, files, monkeypatch):
    monkeypatch.chdir(files["dir"])
    for flag in (["--json"], ["--format", "json"]):
        res = invoke(runner, "mi", "x.npy", "tied.npy", *flag)
        record = json.loads(res.stdout)
        assert record["warnings"]
        assert res.stderr.splitlines() == [f"infocli: warning: {w}" for w in record["warnings"]]
    assert invoke(runner, "mi", "x.npy", "tied.npy", "--json", "-q").stderr == ""


def test_jsonl_is_the_record_on_one_line(runner, files, monkeypatch):
    monkeypatch.chdir(files["dir"])
    one = invoke(runner, "mi", "x.npy", "y.npy", "--format", "jsonl").stdout
    full = invoke(runner, "mi", "x.npy", "y.npy", "--json").stdout
    assert one.count("\n") == 1
    a, b = json.loads(one), json.loads(full)
    a.pop("seconds"), b.pop("seconds")
    assert a == b


@pytest.mark.parametrize("fmt, sep", [("csv", ","), ("tsv", "\t")])
def test_delimited_row_has_a_header_and_the_record_values(runner, files, monkeypatch, fmt, sep):
    monkeypatch.chdir(files["dir"])
    res = invoke(runner, "mi", "t.csv", "--x-cols", "a,b", "--y-cols", "c", "--format", fmt)
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.stdout), delimiter=sep))
    assert rows[0] == list(ROW_COLUMNS) and len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    record = json.loads(invoke(runner, "mi", "t.csv", "--x-cols", "a,b", "--y-cols", "c",
                               "--json").stdout)
    assert float(row["value"]) == record["value"] and float(row["stderr"]) == record["stderr"]
    assert row["x"] == "t.csv[a,b]" and row["y"] == "t.csv[c]" and row["z"] == ""
    assert row["n_samples"] == str(N) and row["dims"] == "x=2;y=1"
    assert "k=1" in row["params"].split(";") and row["p_value"] == ""  # auto, mi's default
    no_header = invoke(runner, "mi", "t.csv", "--x-cols", "a,b", "--y-cols", "c", "--format",
                       fmt, "--no-header").stdout
    assert no_header.count("\n") == 1 and no_header.split(sep)[0] == "mutual_information"


def test_csv_appends_cleanly_across_runs(runner, files, tmp_path):
    """The loop of docs/output.md: a header once, then --no-header rows appended
    (`>> results.csv`): stdout holds nothing else, warnings stay on stderr."""
    out = tmp_path / "results.csv"
    d = files["dir"]
    runs = [["entropy", d / "x.npy"], ["mi", d / "x.npy", d / "y.npy"],
            ["cmi", d / "x.npy", d / "y.npy", "--given", d / "z.npy"],
            ["mi", d / "x.npy", d / "tied.npy", "--permutations", "5"]]
    for i, args in enumerate(runs):
        res = invoke(runner, *args, "--format", "csv", *(["--no-header"] if i else []))
        assert res.exit_code == 0, res.output
        with open(out, "a") as f:
            f.write(res.stdout)
    table = pd.read_csv(out)
    assert list(table.columns) == list(ROW_COLUMNS)
    assert list(table["measure"]) == ["entropy", "mutual_information",
                                      "conditional_mutual_information", "mutual_information"]
    assert table["value"].iloc[1] == infocli.mutual_information(files["x"], files["y"]).value
    assert table["n_warnings"].iloc[3] >= 1 and 0 < table["p_value"].iloc[3] <= 1
    assert np.isnan(table["p_value"].iloc[0])
    assert out.read_text().count("measure,estimator") == 1


@pytest.mark.parametrize("args, message", [
    (["--json", "--format", "csv"], "--format csv and --json: choose one output format"),
    (["--value", "--json"], "--json and --value: choose one output format"),
    (["--format", "xml"], "--format 'xml': expected one of table, json, jsonl, csv, tsv, value"),
])
def test_format_conflicts_are_usage_errors(runner, files, monkeypatch, args, message):
    monkeypatch.chdir(files["dir"])
    res = invoke(runner, "mi", "x.npy", "y.npy", *args)
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr == f"infocli: error: {message}\n"


def test_output_file_gets_the_json_whatever_the_format(runner, files, monkeypatch, tmp_path):
    monkeypatch.chdir(files["dir"])
    out = tmp_path / "r.json"
    res = invoke(runner, "mi", "x.npy", "y.npy", "--value", "-o", out)
    assert json.loads(out.read_text())["value"] == float(res.stdout)


# ------------------------------------------------------------------ --dropna
def test_nan_error_suggests_dropna(runner, files, monkeypatch):
    monkeypatch.chdir(files["dir"])
    res = invoke(runner, "mi", "xn.npy", "yn.npy")
    assert res.exit_code == 2
    assert res.stderr.startswith("infocli: error: xn.npy: 1 NaN and 1 infinite value(s)")
    assert res.stderr.endswith("or pass --dropna to drop them\n")


def test_dropna_drops_rows_jointly_and_says_so(runner, files, monkeypatch):
    monkeypatch.chdir(files["dir"])
    res = invoke(runner, "mi", "xn.npy", "yn.npy", "--dropna", "--json")
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    keep = np.ones(N, dtype=bool)
    keep[[5, 9, 20]] = False  # rows 5 (x), 9 (x and y), 20 (y)
    ref = infocli.mutual_information(files["x"][keep], files["y"][keep])
    assert record["value"] == ref.value and record["n_samples"] == N - 3
    assert record["details"]["dropped_rows"] == {"dropped": 3, "of": N,
                                                 "by_variable": {"x": 2, "y": 2}}
    assert record["warnings"][0] == ("dropped 3 of 300 rows with NaN or infinite values "
                                     "(xn.npy: 2, yn.npy: 2)")
    assert "dropped 3 of 300 rows" in res.stderr
    # nothing to drop: no warning, and the same value as without --dropna
    clean = json.loads(invoke(runner, "mi", "x.npy", "y.npy", "--dropna", "--check", "off",
                              "--json").stdout)
    assert clean["warnings"] == [] and clean["details"]["dropped_rows"]["dropped"] == 0
    assert clean["value"] == infocli.mutual_information(files["x"], files["y"]).value


def test_dropna_in_the_library_and_in_entropy_and_cmi(files):
    est = infocli.entropy(files["xn"], dropna=True)
    keep = np.isfinite(files["xn"]).all(axis=1)
    assert est.value == infocli.entropy(files["xn"][keep]).value
    assert est.n_samples == int(keep.sum()) == N - 2
    cmi = infocli.conditional_mutual_information(files["xn"], files["yn"], files["z"],
                                                 dropna=True)
    assert cmi.n_samples == N - 3
    with pytest.raises(infocli.InputError, match="nothing is left"):
        infocli.entropy(np.full((10, 1), np.nan), dropna=True)


# ------------------------------------------------------------------ help
@pytest.mark.parametrize("command, usage, default", [
    ("entropy", "Usage: infocli entropy [OPTIONS] X\n", "The default estimator is auto"),
    ("mi", "Usage: infocli mi [OPTIONS] X [Y]\n", "The default estimator is auto"),
    ("cmi", "Usage: infocli cmi [OPTIONS] X [Y]\n", "The default estimator is auto"),
    ("estimators", "Usage: infocli estimators [OPTIONS] [NAME]\n", None),
    ("ib", "Usage: infocli ib [OPTIONS] ACTIVATIONS\n", None),
])
def test_help_has_real_placeholders_and_examples(runner, command, usage, default):
    res = invoke(runner, command, "--help")
    assert res.exit_code == 0
    text = res.stdout
    assert text.startswith(usage), text[:80]
    for junk in ("<str>", "<list[str]>", "<int", "{", "[["):
        assert junk not in text, junk
    assert re.search(r"^  Examples:\n\n(    infocli .+\n){2,3}", text, flags=re.M), text
    if default:
        assert default in text
    if command in ("entropy", "mi", "cmi"):
        assert "-p, --param KEY=VALUE" in text and "--x-cols COLS" in text


def test_root_help_summaries_are_not_cut(tmp_path):
    proc = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0
    commands = proc.stdout.split("Estimate:\n", 1)[1]  # the commands, grouped by task
    assert "..." not in commands
    assert re.search(r"^\s+entropy\s+Differential entropy H\(X\), or H\(X\|Z\) with --given\.$",
                     commands, flags=re.M)


# ------------------------------------------------------------------ usage errors
@pytest.mark.parametrize("args, line", [
    (["entropy"], "infocli: error: entropy: missing argument 'X' (see 'infocli entropy --help')"),
    (["mi", "x.npy", "y.npy", "--bogus"],
     "infocli: error: mi: no such option: --bogus (see 'infocli mi --help')"),
    (["mi", "x.npy", "y.npy", "--seed", "abc"], "infocli: error: mi: invalid value for '--seed'"),
    (["frobnicate"], "infocli: error: no such command 'frobnicate' (see 'infocli --help')"),
    (["cmi", "x.npy", "y.npy", "--given"], "infocli: error: cmi: option '--given' requires an "
                                            "argument"),
])
def test_usage_errors_in_the_tools_format(runner, files, monkeypatch, args, line):
    monkeypatch.chdir(files["dir"])
    res = invoke(runner, *args)
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.count("\n") == 1 and res.stderr.startswith(line), res.stderr


def test_usage_error_in_a_real_process(files):
    proc = run_cli("mi", "x.npy", "--bogus", cwd=files["dir"])
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "infocli: error: mi: no such option: --bogus (see 'infocli mi --help')\n"


def test_help_and_version_still_work(runner):
    for args in (["--help"], ["mi", "--help"], ["--version"]):
        res = invoke(runner, *args)
        assert res.exit_code == 0 and res.stdout and res.stderr == ""


def test_estimators_name_and_json(runner):
    res = invoke(runner, "estimators", "ksg")
    assert res.exit_code == 0 and "algorithm" in res.stdout and "bias_correction" not in res.stdout
    listing = json.loads(invoke(runner, "estimators", "--json").stdout)
    assert {r["name"] for r in listing} == set(infocli.available_estimators())


def test_ib_rows_as_csv_and_jsonl(runner, tmp_path):
    from infocli import ib

    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, 4))
    y = (x[:, 0] > 0).astype(int)
    for epoch in (1, 2):
        folder = tmp_path / "acts" / f"epoch_{epoch}"
        folder.mkdir(parents=True)
        np.save(folder / "a.npy", ib.noisy(np.tanh(x @ rng.standard_normal((4, 3))), 1e-3,
                                           np.random.default_rng(epoch)))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    base = ["ib", tmp_path / "acts", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy",
            "--x-dim", "2", "--t-dim", "2"]
    res = invoke(runner, *base, "--format", "csv")
    assert res.exit_code == 0, res.output
    table = pd.read_csv(io.StringIO(res.stdout))
    assert list(table.columns) == ["epoch", "layer", "I_XT", "I_XT_stderr", "I_TY",
                                   "I_TY_stderr", "unit"]
    assert list(table["epoch"]) == [1, 2] and set(table["unit"]) == {"nats"}
    lines = invoke(runner, *base, "--format", "jsonl").stdout.splitlines()
    rows = [json.loads(ln) for ln in lines]
    assert [r["I_XT"] for r in rows] == list(table["I_XT"])  # same seeded run, same numbers
    assert [r["I_TY"] for r in rows] == list(table["I_TY"])
    bad = invoke(runner, *base, "--format", "value")
    assert bad.exit_code == 2 and "the information plane has many values" in bad.stderr
