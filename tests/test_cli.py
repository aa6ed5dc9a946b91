"""The command line: arguments -> library call, input formats, the JSON record,
exit codes and error messages (STYLE principle 11: the mapping, not the maths).

Mapping tests replace the three library functions with recorders and run the
Typer app in-process; format tests run the real estimators on small seeded
data and compare with a direct library call on the same array; bad-input tests
run ``python -m infocli`` in a subprocess so exit codes and stderr are real.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import infocli
import infocli.api
import infocli.cli
from infocli.errors import EstimationError
from infocli.result import Estimate

N = 400  # rows of the small data sets; fast, and enough for stable kNN estimates


# --------------------------------------------------------------------------- helpers


@dataclass
class Call:
    function: str
    args: tuple
    kwargs: dict[str, Any]


@dataclass
class Recorder:
    """Stands in for infocli.api.{entropy, mutual_information, conditional_mutual_information}."""

    calls: list[Call] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    p_value: float | None = None
    raises: BaseException | None = None
    progress_steps: bool = False

    def make(self, function: str, measure: str):
        def fake(*args, **kwargs):
            self.calls.append(Call(function, args, kwargs))
            if self.raises is not None:
                raise self.raises
            if self.progress_steps and kwargs.get("progress") is not None:
                kwargs["progress"]("neighbours", 1, 2)
                kwargs["progress"]("neighbours", 2, 2)
            params = {**kwargs.get("params", {}), "seed": kwargs["seed"]}
            conditional = function == "entropy" and kwargs.get("given") is not None
            return Estimate(
                measure="conditional_entropy" if conditional else measure, estimator=kwargs["estimator"], value=0.5, unit=kwargs["unit"],
                stderr=0.01, n_samples=len(args[0]), dims={"x": 1}, params=params,
                device="cpu", seconds=0.125, version=infocli.__version__,
                warnings=self.warnings, p_value=self.p_value,
                details={"permutations": kwargs.get("permutations")},
            )
        return fake

    @property
    def only(self) -> Call:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    rec = Recorder()
    monkeypatch.setattr(infocli.api, "entropy", rec.make("entropy", "entropy"))
    monkeypatch.setattr(infocli.api, "mutual_information",
                        rec.make("mutual_information", "mutual_information"))
    monkeypatch.setattr(infocli.api, "conditional_mutual_information",
                        rec.make("conditional_mutual_information",
                                 "conditional_mutual_information"))
    return rec


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "100"})


def invoke(runner: CliRunner, *args, **kwargs):
    return runner.invoke(infocli.cli.app, [str(a) for a in args], **kwargs)


def arr(a) -> np.ndarray:
    """The numbers the CLI handed over (an ndarray or a DataFrame)."""
    return a.to_numpy() if hasattr(a, "to_numpy") else np.asarray(a)


def run_cli(*args, cwd, input: bytes | None = None) -> subprocess.CompletedProcess:
    """``python -m infocli ARGS`` in a subprocess, text output."""
    proc = subprocess.run([sys.executable, "-m", "infocli", *map(str, args)], cwd=cwd,
                          input=input if input is not None else b"", capture_output=True,
                          timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode(), proc.stderr.decode())


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Small seeded data sets in every input format, in one folder.

    ``xyz`` has columns a, b (X), c (Y = a + noise) and d (Z) and a label column;
    the same numbers are written as .npy, .npz, .parquet, .csv (with and
    without header), .tsv.
    """
    folder = tmp_path_factory.mktemp("cli_data")
    rng = np.random.default_rng(20240611)
    x = rng.standard_normal((N, 2))
    y = x[:, :1] + 0.7 * rng.standard_normal((N, 1))
    z = rng.standard_normal((N, 1))
    xyz = np.hstack([x, y, z])
    labels = np.array(["cat", "dog", "eel"])[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1)]
    frame = pd.DataFrame(xyz, columns=["a", "b", "c", "d"])
    framelab = frame.assign(lab=labels)

    np.save(folder / "xyz.npy", xyz)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    np.save(folder / "z.npy", z)
    np.save(folder / "x1d.npy", x[:, 0])
    np.save(folder / "labels.npy", labels)
    np.savez(folder / "multi.npz", xy=xyz[:, :3], other=z)
    np.savez(folder / "single.npz", only=xyz[:, :3])
    framelab.to_parquet(folder / "xyz.parquet")
    framelab.to_csv(folder / "xyz.csv", index=False)
    frame.to_csv(folder / "noheader.csv", index=False, header=False)
    framelab.to_csv(folder / "xyz.tsv", sep="\t", index=False)
    return {"dir": folder, "xyz": xyz, "x": x, "y": y, "z": z, "labels": labels}


# --------------------------------------------------------------------------- mapping


def _plain_progress(progress) -> bool:
    """Off a terminal the command passes the plain-line progress (issue 27)."""
    return isinstance(progress, infocli.cli._common._PlainProgress)


def test_entropy_defaults(runner, recorder, data):
    res = invoke(runner, "entropy", data["dir"] / "x.npy", "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    assert call.function == "entropy"
    np.testing.assert_array_equal(arr(call.args[0]), data["x"])
    assert _plain_progress(call.kwargs.pop("progress"))
    assert call.kwargs == {
        "given": None, "estimator": "auto", "discrete_given": None, "unit": "nats", "seed": 0,
        "device": "auto", "params": {}, "names": {"x": str(data["dir"] / "x.npy")},
    }


def test_entropy_params_are_parsed_to_their_types(runner, recorder, data):
    res = invoke(runner, "entropy", data["dir"] / "x.npy", "-e", "kl", "-p", "k=5", "--param",
                 "standardize=false", "-p", "metric=chebyshev", "--json")
    assert res.exit_code == 0, res.output
    params = recorder.only.kwargs["params"]
    assert params == {"k": 5, "standardize": False, "metric": "chebyshev"}
    assert type(params["k"]) is int and params["standardize"] is False


def test_entropy_given_file_and_discrete_given(runner, recorder, data):
    d = data["dir"]
    res = invoke(runner, "entropy", d / "x.npy", "--given", d / "labels.npy", "--discrete-given",
                 "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    np.testing.assert_array_equal(arr(call.args[0]), data["x"])
    np.testing.assert_array_equal(arr(call.kwargs["given"]).ravel(), data["labels"])
    assert call.kwargs["discrete_given"] is True
    assert call.kwargs["names"] == {"x": str(d / "x.npy"), "z": str(d / "labels.npy")}


def test_entropy_given_file_with_given_cols(runner, recorder, data):
    d = data["dir"]
    res = invoke(runner, "entropy", d / "x.npy", "--given", d / "xyz.npy", "--given-cols", "3",
                 "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    np.testing.assert_array_equal(arr(call.args[0]), data["x"])  # all of X's own file
    np.testing.assert_array_equal(arr(call.kwargs["given"]), data["xyz"][:, [3]])
    assert call.kwargs["discrete_given"] is None  # auto: decided by the library
    assert call.kwargs["names"] == {"x": str(d / "x.npy"), "z": f"{d / 'xyz.npy'}[3]"}


def test_entropy_given_cols_from_the_same_file(runner, recorder, data):
    csv = data["dir"] / "xyz.csv"
    res = invoke(runner, "entropy", csv, "--given-cols", "lab", "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    # X is every column not used by Z
    assert list(call.args[0].columns) == ["a", "b", "c", "d"]
    np.testing.assert_allclose(arr(call.args[0]), data["xyz"], rtol=1e-12)
    assert list(arr(call.kwargs["given"]).ravel()) == list(data["labels"])
    assert call.kwargs["names"] == {"x": f"{csv}[a,b,c,d]", "z": f"{csv}[lab]"}


def test_entropy_x_cols_and_given_cols(runner, recorder, data):
    pq = data["dir"] / "xyz.parquet"
    res = invoke(runner, "entropy", pq, "--x-cols", "a", "--given-cols", "c,d", "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    np.testing.assert_array_equal(arr(call.args[0]), data["xyz"][:, [0]])
    np.testing.assert_array_equal(arr(call.kwargs["given"]), data["xyz"][:, [2, 3]])
    assert call.kwargs["names"] == {"x": f"{pq}[a]", "z": f"{pq}[c,d]"}


def test_mi_two_files_defaults(runner, recorder, data):
    d = data["dir"]
    res = invoke(runner, "mi", d / "x.npy", d / "y.npy", "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    assert call.function == "mutual_information"
    np.testing.assert_array_equal(arr(call.args[0]), data["x"])
    np.testing.assert_array_equal(arr(call.args[1]), data["y"])
    assert _plain_progress(call.kwargs.pop("progress"))
    assert call.kwargs == {
        "estimator": "auto", "discrete_y": None, "permutations": 0, "unit": "nats", "seed": 0,
        "device": "auto", "params": {},
        "names": {"x": str(d / "x.npy"), "y": str(d / "y.npy")},
    }


def test_mi_one_file_by_column_names(runner, recorder, data):
    pq = data["dir"] / "xyz.parquet"
    res = invoke(runner, "mi", pq, "--x-cols", "a,b", "--y-cols", "lab", "--discrete-y",
                 "--permutations", "25", "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    np.testing.assert_array_equal(arr(call.args[0]), data["x"])
    assert list(arr(call.args[1]).ravel()) == list(data["labels"])
    assert call.kwargs["discrete_y"] is True
    assert call.kwargs["permutations"] == 25
    assert call.kwargs["names"] == {"x": f"{pq}[a,b]", "y": f"{pq}[lab]"}


def test_mi_one_npy_by_index_ranges(runner, recorder, data):
    npy = data["dir"] / "xyz.npy"
    res = invoke(runner, "mi", npy, "--x-cols", "0:2", "--y-cols", "2", "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    np.testing.assert_array_equal(arr(call.args[0]), data["xyz"][:, 0:2])
    np.testing.assert_array_equal(arr(call.args[1]), data["xyz"][:, [2]])
    assert call.kwargs["names"] == {"x": f"{npy}[0,1]", "y": f"{npy}[2]"}


def test_mi_y_cols_only_leaves_the_rest_for_x(runner, recorder, data):
    npy = data["dir"] / "xyz.npy"
    res = invoke(runner, "mi", npy, "--y-cols", "-1", "--json")  # negative: from the end
    assert res.exit_code == 0, res.output
    call = recorder.only
    np.testing.assert_array_equal(arr(call.args[0]), data["xyz"][:, :3])
    np.testing.assert_array_equal(arr(call.args[1]), data["xyz"][:, [3]])
    assert call.kwargs["names"] == {"x": f"{npy}[0,1,2]", "y": f"{npy}[3]"}


def test_mi_y_file_with_y_cols(runner, recorder, data):
    d = data["dir"]
    res = invoke(runner, "mi", d / "x.npy", d / "xyz.tsv", "--y-cols", "c,lab", "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    np.testing.assert_array_equal(arr(call.args[0]), data["x"])
    assert list(call.args[1].columns) == ["c", "lab"]
    assert call.kwargs["names"] == {"x": str(d / "x.npy"), "y": f"{d / 'xyz.tsv'}[c,lab]"}


def test_cmi_three_files(runner, recorder, data):
    d = data["dir"]
    res = invoke(runner, "cmi", d / "x.npy", d / "y.npy", "--given", d / "z.npy", "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    assert call.function == "conditional_mutual_information"
    for got, want in zip(call.args, (data["x"], data["y"], data["z"])):
        np.testing.assert_array_equal(arr(got), want)
    assert _plain_progress(call.kwargs.pop("progress"))
    assert call.kwargs == {
        "estimator": "auto", "discrete_given": None, "unit": "nats", "seed": 0, "device": "auto",
        "params": {},
        "names": {"x": str(d / "x.npy"), "y": str(d / "y.npy"), "z": str(d / "z.npy")},
    }


def test_cmi_one_file_with_given_cols(runner, recorder, data):
    csv = data["dir"] / "xyz.csv"
    res = invoke(runner, "cmi", csv, "--x-cols", "a", "--y-cols", "c", "--given-cols", "lab",
                 "--discrete-given", "--json")
    assert res.exit_code == 0, res.output
    call = recorder.only
    np.testing.assert_allclose(arr(call.args[0]), data["xyz"][:, [0]], rtol=1e-12)
    np.testing.assert_allclose(arr(call.args[1]), data["xyz"][:, [2]], rtol=1e-12)
    assert list(arr(call.args[2]).ravel()) == list(data["labels"])
    assert call.kwargs["discrete_given"] is True
    assert call.kwargs["names"] == {"x": f"{csv}[a]", "y": f"{csv}[c]", "z": f"{csv}[lab]"}


def test_cmi_x_defaults_to_columns_left_by_y_and_z(runner, recorder, data):
    npy = data["dir"] / "xyz.npy"
    res = invoke(runner, "cmi", npy, "--y-cols", "2", "--given-cols", "3", "--json")
    assert res.exit_code == 0, res.output
    x, y, z = (arr(a) for a in recorder.only.args)
    np.testing.assert_array_equal(x, data["xyz"][:, :2])
    np.testing.assert_array_equal(y, data["xyz"][:, [2]])
    np.testing.assert_array_equal(z, data["xyz"][:, [3]])


def test_cmi_y_file_and_given_cols_from_x_file(runner, recorder, data):
    d = data["dir"]
    res = invoke(runner, "cmi", d / "xyz.npy", d / "y.npy", "--given-cols", "2:", "--json")
    assert res.exit_code == 0, res.output
    x, y, z = (arr(a) for a in recorder.only.args)
    np.testing.assert_array_equal(x, data["xyz"][:, :2])  # Z's columns left out of X
    np.testing.assert_array_equal(y, data["y"])
    np.testing.assert_array_equal(z, data["xyz"][:, 2:])


@pytest.mark.parametrize("command, files, estimator, params, parsed", [
    ("entropy", ["x.npy"], "gaussian", ["bias_correction=false", "jackknife_groups=7"],
     {"bias_correction": False, "jackknife_groups": 7}),
    ("entropy", ["x.npy", "--given", "z.npy"], "kl", ["k=4", "weights=bsy"],
     {"k": 4, "weights": "bsy"}),
    ("mi", ["x.npy", "y.npy"], "ksg", ["k=5", "algorithm=2", "ties=error", "backend=kdtree"],
     {"k": 5, "algorithm": 2, "ties": "error", "backend": "kdtree"}),
    ("mi", ["x.npy", "y.npy"], "gaussian", ["bias_correction=no"], {"bias_correction": False}),
    ("cmi", ["x.npy", "y.npy", "--given", "z.npy"], "ksg", ["k=6", "standardize=0"],
     {"k": 6, "standardize": False}),
    ("cmi", ["x.npy", "y.npy", "--given", "z.npy"], "gaussian", ["jackknife_groups=10"],
     {"jackknife_groups": 10}),
])
def test_common_options_reach_the_library(runner, recorder, data, command, files, estimator,
                                          params, parsed):
    d = data["dir"]
    files = [str(d / f) if f.endswith(".npy") else f for f in files]
    args = [command, *files, "-e", estimator, "--unit", "bits", "--seed", "42",
            "--device", "cpu", "--quiet", "--json"]
    for p in params:
        args += ["-p", p]
    res = invoke(runner, *args)
    assert res.exit_code == 0, res.output
    kw = recorder.only.kwargs
    assert kw["estimator"] == estimator
    assert kw["params"] == parsed
    assert all(type(kw["params"][k]) is type(v) for k, v in parsed.items())
    assert (kw["unit"], kw["seed"], kw["device"], kw["progress"]) == ("bits", 42, "cpu", None)


@pytest.mark.parametrize("long_form", [True, False])
def test_estimator_long_and_short_option(runner, recorder, data, long_form):
    flag = "--estimator" if long_form else "-e"
    res = invoke(runner, "mi", data["dir"] / "x.npy", data["dir"] / "y.npy", flag, "gaussian",
                 "--json")
    assert res.exit_code == 0, res.output
    assert recorder.only.kwargs["estimator"] == "gaussian"


def test_json_is_the_record_and_only_thing_on_stdout(runner, recorder, data, tmp_path):
    recorder.warnings = ("x.npy: column 0 has 3 repeated values",)
    recorder.p_value = 0.04
    out = tmp_path / "result.json"
    res = invoke(runner, "mi", data["dir"] / "x.npy", data["dir"] / "y.npy", "--permutations",
                 "24", "--seed", "9", "--json", "-o", out)
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["value"] == 0.5 and record["p_value"] == 0.04
    assert record["params"] == {"seed": 9}
    assert record["warnings"] == ["x.npy: column 0 has 3 repeated values"]
    assert record["details"] == {"permutations": 24}
    # warnings are in the record, and each also on stderr as one line (for pipelines)
    assert res.stderr == "infocli: warning: x.npy: column 0 has 3 repeated values\n"
    assert json.loads(out.read_text()) == record
    assert out.read_text() == res.stdout  # the same text, byte for byte
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temp file left


def test_table_output_and_output_file(runner, recorder, data, tmp_path):
    recorder.warnings = ("something to know",)
    recorder.p_value = 0.25
    out = tmp_path / "r.json"
    res = invoke(runner, "mi", data["dir"] / "x.npy", data["dir"] / "y.npy", "--output", out,
                 "--permutations", "3")
    assert res.exit_code == 0, res.output
    assert "I(X;Y) - auto" in res.stdout  # mi's default estimator
    assert re.search(r"estimate\s+│\s+0\.500 ± 0\.010 nats", res.stdout)
    assert re.search(r"p-value\s+│\s+0\.25 \(3 permutations\)", res.stdout)
    assert re.search(r"samples\s+│\s+400\b", res.stdout)
    assert "warning: something to know" in res.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(res.stdout)
    record = json.loads(out.read_text())
    assert record["p_value"] == 0.25 and record["unit"] == "nats" and record["n_samples"] == N


@pytest.mark.parametrize("command, extra, measure", [
    ("entropy", ["--given", "z.npy"], "H(X|Z) - auto"),
    ("entropy", [], "H(X) - auto"),
    ("cmi", ["y.npy", "--given", "z.npy"], "I(X;Y|Z) - auto"),
])
def test_table_names_the_measure(runner, recorder, data, command, extra, measure):
    d = data["dir"]
    extra = [str(d / e) if e.endswith(".npy") else e for e in extra]
    res = invoke(runner, command, d / "x.npy", *extra)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(measure + " ")
    assert re.search(r"estimate\s+│\s+0\.500 ± 0\.010 nats", res.stdout)


class _TTYStream:
    def __init__(self, stream):
        self._stream = stream

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _TTYSys:
    """``sys`` as the CLI module sees it, with a terminal on stderr."""

    def __getattr__(self, name):
        return getattr(sys, name)

    @property
    def stderr(self):
        return _TTYStream(sys.stderr)


@pytest.mark.parametrize("quiet", [False, True])
def test_quiet_turns_the_progress_bar_off(runner, recorder, data, monkeypatch, quiet):
    sentinel = object()

    class FakeProgress:
        def __enter__(self):
            return sentinel

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(infocli.cli._common, "sys", _TTYSys())
    monkeypatch.setattr(infocli.cli._common, "_RichProgress", FakeProgress)
    args = ["mi", data["dir"] / "x.npy", data["dir"] / "y.npy", "--json"]
    res = invoke(runner, *args, *(["--quiet"] if quiet else []))
    assert res.exit_code == 0, res.output
    assert recorder.only.kwargs["progress"] is (None if quiet else sentinel)


def test_plain_progress_lines_when_stderr_is_not_a_terminal(runner, recorder, data):
    res = invoke(runner, "entropy", data["dir"] / "x.npy", "--json")
    assert res.exit_code == 0, res.output
    assert _plain_progress(recorder.only.kwargs["progress"])
    res = invoke(runner, "entropy", data["dir"] / "x.npy", "--json", "-q")
    assert res.exit_code == 0 and recorder.calls[-1].kwargs["progress"] is None


def test_rich_progress_callback_runs_and_keeps_stdout_clean(runner, recorder, data,
                                                            monkeypatch):
    monkeypatch.setattr(infocli.cli._common, "sys", _TTYSys())
    recorder.progress_steps = True
    res = invoke(runner, "entropy", data["dir"] / "x.npy", "--json")
    assert res.exit_code == 0, res.output
    assert callable(recorder.only.kwargs["progress"])
    assert json.loads(res.stdout)["value"] == 0.5


@pytest.mark.parametrize("args, message", [
    (["mi", "x.npy"], "mi needs Y: a second file, or --y-cols"),
    (["cmi", "x.npy", "y.npy"], "cmi needs Z: --given FILE, or --given-cols"),
    (["cmi", "x.npy", "--given", "z.npy"], "cmi needs Y"),
    (["entropy", "x.npy", "-p", "k=0"], "parameter k=0: expected >= 1"),
    (["entropy", "x.npy", "--unit", "bytes"], "--unit 'bytes': expected nats or bits"),
])
def test_usage_errors_never_call_the_library(runner, recorder, data, monkeypatch, args,
                                             message):
    monkeypatch.chdir(data["dir"])
    res = invoke(runner, *args)
    assert res.exit_code == 2
    assert res.stderr.startswith(f"infocli: error: {message}")
    assert res.stderr.count("\n") == 1 and res.stdout == ""
    assert recorder.calls == []


@pytest.mark.parametrize("args, message", [
    (["entropy", "x.npy", "--seed", "-1"], "entropy: invalid value for '--seed'"),
    (["mi", "x.npy", "y.npy", "--permutations", "-2"], "mi: invalid value for '--permutations'"),
    (["entropy", "x.npy", "--no-such-option"], "entropy: no such option: --no-such-option"),
])
def test_click_usage_errors_exit_2(runner, recorder, data, monkeypatch, args, message):
    monkeypatch.chdir(data["dir"])
    res = invoke(runner, *args)
    assert res.exit_code == 2
    assert res.stderr.startswith(f"infocli: error: {message}"), res.stderr
    assert res.stderr.count("\n") == 1 and res.stdout == ""
    assert recorder.calls == []


def test_estimation_failure_exits_3(runner, recorder, data, tmp_path):
    recorder.raises = EstimationError("the estimate is not finite (nan)")
    out = tmp_path / "o.json"
    res = invoke(runner, "entropy", data["dir"] / "x.npy", "-o", out)
    assert res.exit_code == 3
    assert res.stderr == "infocli: error: the estimate is not finite (nan)\n"
    assert not out.exists()


def test_multi_line_library_message_is_printed_on_one_line(runner, recorder, data):
    recorder.raises = EstimationError("first line\n  second line\n")
    res = invoke(runner, "entropy", data["dir"] / "x.npy")
    assert res.exit_code == 3
    assert res.stderr == "infocli: error: first line second line\n"


def test_internal_errors_keep_their_traceback(runner, recorder, data):
    recorder.raises = RuntimeError("a bug")
    res = invoke(runner, "entropy", data["dir"] / "x.npy")
    assert res.exit_code == 1
    assert isinstance(res.exception, RuntimeError)
    assert "infocli: error" not in res.stderr


def test_keyboard_interrupt_exits_130(runner, recorder, data):
    recorder.raises = KeyboardInterrupt()
    res = invoke(runner, "mi", data["dir"] / "x.npy", data["dir"] / "y.npy")
    assert res.exit_code == 130
    assert res.stderr == "infocli: interrupted\n"


def test_output_file_is_replaced_not_appended(runner, recorder, data, tmp_path):
    out = tmp_path / "o.json"
    out.write_text("old content that is longer than nothing\n" * 50)
    res = invoke(runner, "entropy", data["dir"] / "x.npy", "-o", out)
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["value"] == 0.5


def test_estimators_json_lists_every_estimator_with_defaults(runner):
    res = invoke(runner, "estimators", "--json")
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert set(rows) >= {"kl", "ksg", "gaussian"}
    assert set(rows) == set(infocli.available_estimators())
    kl, ksg, gauss = rows["kl"], rows["ksg"], rows["gaussian"]
    assert kl["measures"] == ["entropy", "conditional_entropy"]
    assert ksg["measures"] == ["mutual_information", "conditional_mutual_information"]
    assert set(gauss["measures"]) == {"entropy", "conditional_entropy", "mutual_information",
                                      "conditional_mutual_information"}
    assert {p: v["default"] for p, v in kl["params"].items()} == {
        "k": 3, "metric": "euclidean", "weights": "none", "whiten_data": False,
        "standardize": True, "ties": "jitter", "backend": "auto"}
    assert {p: v["default"] for p, v in ksg["params"].items()} == {
        "k": 3, "algorithm": 1, "standardize": True, "ties": "jitter", "backend": "auto"}
    assert {p: v["default"] for p, v in gauss["params"].items()} == {
        "bias_correction": True, "jackknife_groups": 20}
    assert ksg["params"]["algorithm"]["choices"] == [1, 2]
    assert ksg["params"]["k"]["choices"] is None
    assert kl["devices"] == ["cpu", "cuda"] and gauss["devices"] == ["cpu"]
    assert ksg["discrete_labels"] == ["mutual_information", "conditional_mutual_information"]
    assert all(r["summary"] and r["reference"] for r in rows.values())


def test_estimators_table(runner):
    res = invoke(runner, "estimators")
    assert res.exit_code == 0, res.output
    out = res.stdout
    for name, measures, labels in (("kl", "H, H|Z", "H|Z"), ("ksg", "I, I|Z", "I, I|Z"),
                                   ("gaussian", "H, H|Z, I, I|Z", "H|Z, I, I|Z"),
                                   ("dse", "H", "-")):
        assert re.search(rf"│ {name}\s+│ {re.escape(measures)}\s+│ {re.escape(labels)}\s+│",
                         out), name
    # compact: one row per estimator, no parameter tables
    assert "jackknife_groups" not in out
    assert out.count("\n") < 6 * len(infocli.available_estimators()) + 10


@pytest.mark.parametrize("name, params", [
    ("kl", (("k", "3"), ("metric", "euclidean"), ("standardize", "true"))),
    ("ksg", (("k", "3"), ("algorithm", "1"))),
    ("gaussian", (("bias_correction", "true"), ("jackknife_groups", "20"))),
])
def test_estimators_name_shows_one_in_full(runner, name, params):
    res = invoke(runner, "estimators", name)
    assert res.exit_code == 0, res.output
    out = res.stdout
    for param, default in params:
        assert re.search(rf"^\s*{param}\s+│ {default}\s+│", out, flags=re.M), param
    others = {"kl": "algorithm", "ksg": "jackknife_groups", "gaussian": "whiten_data"}
    assert others[name] not in out
    record = json.loads(invoke(runner, "estimators", name, "--json").stdout)
    listing = json.loads(invoke(runner, "estimators", "--json").stdout)
    assert record == next(r for r in listing if r["name"] == name)  # the same JSON object


def test_estimators_unknown_name(runner):
    res = invoke(runner, "estimators", "nope")
    assert res.exit_code == 2
    assert res.stderr.startswith("infocli: error: unknown estimator 'nope'; valid estimators: ")


# --------------------------------------------------------------------------- formats


def _mi_ref(data) -> float:
    return infocli.mutual_information(data["xyz"][:, :2], data["xyz"][:, 2:3]).value


@pytest.mark.parametrize("spec, cols", [
    ("xyz.npy", ["--x-cols", "0:2", "--y-cols", "2"]),
    ("multi.npz:xy", ["--x-cols", "0,1", "--y-cols", "2"]),
    ("single.npz", ["--y-cols", "2"]),
    ("xyz.parquet", ["--x-cols", "a,b", "--y-cols", "c"]),
    ("xyz.csv", ["--x-cols", "a,b", "--y-cols", "c"]),
    ("noheader.csv", ["--x-cols", ":2", "--y-cols", "2"]),
    ("xyz.tsv", ["--x-cols", "0:2", "--y-cols", "c"]),  # indices and names mix
])
def test_every_format_gives_the_library_value(runner, data, monkeypatch, spec, cols):
    monkeypatch.chdir(data["dir"])
    res = invoke(runner, "mi", spec, *cols, "--json")
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["n_samples"] == N and record["dims"] == {"x": 2, "y": 1}
    # text formats round-trip floats through decimal strings: allow a last-bit difference
    assert record["value"] == pytest.approx(_mi_ref(data), rel=1e-9, abs=1e-12)
    assert record["value"] > 0.3  # Y = a + noise: clearly dependent


def test_one_dimensional_array_is_one_column(runner, data):
    res = invoke(runner, "entropy", data["dir"] / "x1d.npy", "--json")
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["dims"] == {"x": 1} and record["n_samples"] == N
    assert record["value"] == infocli.entropy(data["x"][:, 0]).value


@pytest.mark.parametrize("spec", ["xyz.csv", "xyz.parquet", "xyz.tsv"])
def test_string_column_is_detected_as_labels(runner, data, monkeypatch, spec):
    monkeypatch.chdir(data["dir"])
    res = invoke(runner, "mi", spec, "--x-cols", "a,b", "--y-cols", "lab", "--json")
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["details"]["classes"] == {"y": 3}
    assert record["dims"] == {"x": 2, "y": 1}
    ref = infocli.mutual_information(data["x"], data["labels"])
    assert record["value"] == pytest.approx(ref.value, rel=1e-9)
    assert record["value"] > 0.3  # the labels are a function of x


def test_string_npy_given_is_detected_as_labels(runner, data):
    d = data["dir"]
    res = invoke(runner, "entropy", d / "x.npy", "--given", d / "labels.npy", "--json")
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert record["measure"] == "conditional_entropy"
    assert record["details"]["classes"] == {"z": 3}
    assert record["value"] == infocli.entropy(data["x"], given=data["labels"]).value


def test_stdin_csv_text(data):
    text = pd.DataFrame(data["xyz"][:, :3], columns=["a", "b", "c"]).to_csv(index=False)
    proc = run_cli("mi", "-", "--x-cols", "a,b", "--y-cols", "c", "--json", cwd=data["dir"],
                   input=text.encode())
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["details"]["inputs"] == {"x": "<stdin>[a,b]", "y": "<stdin>[c]"}
    assert record["value"] == pytest.approx(_mi_ref(data), rel=1e-9)


def test_stdin_npy_bytes(data):
    import io

    buf = io.BytesIO()
    np.save(buf, data["xyz"])
    proc = run_cli("cmi", "-", "--x-cols", "0:2", "--y-cols", "2", "--given-cols", "3",
                   "--json", cwd=data["dir"], input=buf.getvalue())
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    xyz = data["xyz"]
    ref = infocli.conditional_mutual_information(xyz[:, :2], xyz[:, 2:3], xyz[:, 3:])
    assert record["value"] == ref.value
    assert record["dims"] == {"x": 2, "y": 1, "z": 1}


# --------------------------------------------------------------------------- JSON record

RECORD_KEYS = {"measure", "estimator", "value", "unit", "stderr", "n_samples", "dims", "params",
               "device", "seconds", "version", "warnings", "p_value", "details", "interval",
               "reliable"}


def test_json_record_subprocess_with_permutations(data, tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli("mi", "x.npy", "y.npy", "--permutations", "9", "--seed", "3", "--json",
                   "-o", out, cwd=data["dir"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    record = json.loads(proc.stdout)  # exactly one JSON object, nothing else on stdout
    assert proc.stdout.endswith("}\n") and proc.stdout.startswith("{")
    assert set(record) == RECORD_KEYS
    assert record["measure"] == "mutual_information" and record["estimator"] == "auto"
    assert record["unit"] == "nats" and record["device"] == "cpu"
    assert record["n_samples"] == N and record["dims"] == {"x": 2, "y": 1}
    assert record["params"] == {"k": 1, "ties": "jitter", "seed": 3}  # auto, mi's default
    assert record["version"] == infocli.__version__
    assert record["warnings"] == []
    assert record["seconds"] > 0 and record["stderr"] > 0
    # strongly dependent data: no shuffle reaches the estimate, p = 1 / (9 + 1)
    assert record["p_value"] == pytest.approx(0.1)
    ref = infocli.mutual_information(data["x"], data["y"], seed=3, permutations=9)
    assert record["value"] == ref.value and record["p_value"] == ref.p_value
    assert json.loads(out.read_text()) == record


def test_json_without_permutations_has_null_p_value(runner, data):
    res = invoke(runner, "entropy", data["dir"] / "x.npy", "-e", "kl", "-p", "k=4", "--json")
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout)
    assert set(record) == RECORD_KEYS and record["p_value"] is None
    assert record["params"]["k"] == 4 and record["params"]["seed"] == 0
    assert record["params"]["metric"] == "euclidean"  # defaults are recorded too


def test_output_without_json_writes_the_same_record(runner, data, tmp_path):
    out = tmp_path / "o.json"
    args = ["mi", "-e", "ksg", data["dir"] / "x.npy", data["dir"] / "y.npy", "--seed", "5"]
    with_json = invoke(runner, *args, "--json")
    to_file = invoke(runner, *args, "-o", out)
    assert with_json.exit_code == 0 and to_file.exit_code == 0
    a, b = json.loads(with_json.stdout), json.loads(out.read_text())
    assert a.pop("seconds") >= 0 and b.pop("seconds") >= 0
    assert a == b
    assert "I(X;Y) - ksg" in to_file.stdout


@pytest.mark.parametrize("command", [["entropy", "x.npy"], ["mi", "x.npy", "y.npy"],
                                     ["entropy", "x.npy", "-e", "gaussian"]])
def test_unit_bits_is_nats_over_ln2(runner, data, monkeypatch, command):
    monkeypatch.chdir(data["dir"])
    nats = json.loads(invoke(runner, *command, "--json").stdout)
    bits = json.loads(invoke(runner, *command, "--unit", "bits", "--json").stdout)
    assert (nats["unit"], bits["unit"]) == ("nats", "bits")
    assert bits["value"] == pytest.approx(nats["value"] / math.log(2), rel=1e-12)
    assert bits["stderr"] == pytest.approx(nats["stderr"] / math.log(2), rel=1e-12)


def test_seed_makes_runs_repeatable(runner, data, tmp_path):
    # tied data are jittered with seeded noise: same seed, same value; other seed, other value
    tied = tmp_path / "tied.npy"
    np.save(tied, np.round(data["x"], 1))
    runs = [json.loads(invoke(runner, "entropy", tied, "--seed", s, "--json").stdout)
            for s in ("1", "1", "2")]
    assert runs[0]["value"] == runs[1]["value"] != runs[2]["value"]
    assert runs[0]["params"]["seed"] == 1 and runs[2]["params"]["seed"] == 2
    assert any("repeated values" in w for w in runs[0]["warnings"])


# --------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def bad(tmp_path_factory, data):
    """A folder of broken inputs (next to good ones)."""
    folder = tmp_path_factory.mktemp("cli_bad")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((300, 3))
    np.save(folder / "x.npy", x)
    np.save(folder / "y299.npy", x[:299, :1])
    np.save(folder / "three.npy", x[:3])
    np.save(folder / "cube.npy", rng.standard_normal((50, 2, 2)))
    np.save(folder / "objects.npy", np.array(["a", "b"] * 30, dtype=object))
    nan = x.copy()
    nan[5, 1] = np.nan
    nan[8, 2] = np.inf
    nan[9, 1] = np.nan
    np.save(folder / "nan.npy", nan)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(kind=["u", "v", "w"] * 100)
    frame.to_csv(folder / "kinds.csv", index=False)
    holes = pd.DataFrame(x, columns=["a", "b", "c"])
    holes.loc[3, "b"] = np.nan
    holes.to_csv(folder / "holes.csv", index=False)
    np.savez(folder / "two.npz", a=x, b=x)
    (folder / "data.xlsx").write_bytes(b"PK\x03\x04 not really")
    (folder / "broken.parquet").write_bytes(b"PAR1 this is not a parquet file")
    (folder / "broken.npy").write_bytes(b"\x93NUMPY garbage after the magic")
    good = (folder / "x.npy").read_bytes()
    (folder / "truncated.npy").write_bytes(good[: len(good) // 2])
    (folder / "broken.npz").write_bytes(b"PK not a zip archive")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "empty.npy").write_bytes(b"")
    (folder / "header_only.csv").write_text("a,b,c\n")
    return folder


BAD_INPUTS = [
    pytest.param(["entropy", "missing.npy"], "missing.npy: no such file", id="missing-file"),
    pytest.param(["entropy", "data.xlsx"],
                 "data.xlsx: unknown extension '.xlsx'; expected one of .npy, .npz, .parquet",
                 id="unknown-extension"),
    pytest.param(["entropy", "broken.parquet"], "broken.parquet: not a valid parquet file",
                 id="corrupt-parquet"),
    pytest.param(["entropy", "broken.npy"], "broken.npy: not a valid .npy file",
                 id="corrupt-npy"),
    pytest.param(["entropy", "truncated.npy"], "truncated.npy: not a valid .npy file",
                 id="truncated-npy"),
    pytest.param(["entropy", "broken.npz"], "broken.npz: not a valid .npz file",
                 id="corrupt-npz"),
    pytest.param(["entropy", "objects.npy"], "objects.npy: holds Python objects",
                 id="pickled-object-npy"),
    pytest.param(["entropy", "cube.npy"], "cube.npy: expected a 1-D or 2-D array, got shape "
                 "(50, 2, 2)", id="3d-array"),
    pytest.param(["entropy", "empty.csv"], "empty.csv: file is empty", id="empty-csv"),
    pytest.param(["entropy", "empty.npy"], "empty.npy: file is empty", id="empty-npy"),
    pytest.param(["entropy", "header_only.csv"], "header_only.csv: has no data rows",
                 id="header-only-csv"),
    pytest.param(["entropy", "-"], "<stdin>: no data on standard input", id="empty-stdin"),
    pytest.param(["entropy", "two.npz"],
                 "two.npz: holds 2 arrays (a, b); choose one as two.npz:KEY",
                 id="multi-array-npz-without-key"),
    pytest.param(["entropy", "two.npz:c"], "two.npz: no array 'c'; it holds a, b",
                 id="npz-unknown-key"),
    pytest.param(["entropy", "kinds.csv"], "kinds.csv: column 'kind' is not numeric (row 0 "
                 "holds 'u')", id="non-numeric-continuous"),
    # auto takes a text X as labels (issue 26); ksg needs numbers
    pytest.param(["mi", "kinds.csv", "--x-cols", "kind", "--y-cols", "a", "-e", "ksg"],
                 "kinds.csv[kind]: column 'kind' is not numeric", id="non-numeric-x"),
    pytest.param(["entropy", "nan.npy"], "nan.npy: 2 NaN and 1 infinite value(s) (first in "
                 "column 1, row 5, 0-based)", id="nan-inf"),
    pytest.param(["entropy", "nan.npy", "--x-cols", "1:"], "nan.npy[1,2]: 2 NaN and 1 "
                 "infinite value(s) (first in column '1', row 5", id="nan-in-selected-columns"),
    pytest.param(["entropy", "holes.csv"], "holes.csv: 1 NaN value(s) (first in column 'b', "
                 "row 3, 0-based)", id="empty-csv-cell"),
    pytest.param(["mi", "x.npy", "y299.npy"],
                 "x.npy has 300 rows but y299.npy has 299", id="row-mismatch"),
    pytest.param(["entropy", "three.npy", "-e", "kl", "-p", "k=3"],
                 "three.npy has 3 rows but k=3 needs at least 4", id="k-not-below-n"),
    pytest.param(["mi", "three.npy", "--y-cols", "0", "-e", "ksg", "-p", "k=3"],
                 "has 3 rows but k=3 needs at least 4", id="k-not-below-n-mi"),
    pytest.param(["entropy", "x.npy", "-e", "nope"],
                 "unknown estimator 'nope'; valid estimators: ",
                 id="unknown-estimator"),
    pytest.param(["entropy", "x.npy", "-e", "ksg"],
                 "estimator 'ksg' does not estimate entropy; estimators that do: kl, gaussian",
                 id="estimator-without-measure"),
    pytest.param(["entropy", "x.npy", "-e", "kl", "-p", "kk=1"],
                 "estimator 'kl' has no parameter 'kk'; valid parameters: k, metric, weights, whiten_data, "
                 "standardize, ties, backend", id="unknown-parameter"),
    pytest.param(["mi", "x.npy", "y299.npy", "-e", "ksg", "-p", "alpha=1"],
                 "estimator 'ksg' has no parameter 'alpha'; valid parameters: k, algorithm",
                 id="unknown-parameter-mi"),
    pytest.param(["entropy", "x.npy", "-p", "k=0"], "parameter k=0: expected >= 1",
                 id="k-zero"),
    pytest.param(["entropy", "x.npy", "-p", "k=abc"], "parameter k='abc': expected an integer",
                 id="k-not-a-number"),
    pytest.param(["entropy", "x.npy", "-p", "k=2.5"], "parameter k=2.5: expected an integer",
                 id="k-fraction"),
    pytest.param(["mi", "x.npy", "--y-cols", "0", "-e", "ksg", "-p", "algorithm=3"],
                 "parameter algorithm=3: expected one of 1, 2", id="algorithm-choice"),
    pytest.param(["entropy", "x.npy", "-e", "kl", "-p", "standardize=maybe"],
                 "parameter standardize='maybe': expected true or false", id="bool-param"),
    pytest.param(["entropy", "x.npy", "-p", "k"], "--param 'k': expected key=value",
                 id="param-without-value"),
    pytest.param(["entropy", "x.npy", "--device", "cuda"],
                 "device 'cuda' requested but CUDA is not available", id="cuda-missing"),
    pytest.param(["entropy", "x.npy", "--device", "tpu"],
                 "device 'tpu': expected auto, cpu, cuda or cuda:N", id="device-unknown"),
    pytest.param(["mi", "x.npy"], "mi needs Y: a second file, or --y-cols to take Y from X's "
                 "file", id="mi-without-y"),
    pytest.param(["cmi", "x.npy", "x.npy"], "cmi needs Z", id="cmi-without-z"),
    pytest.param(["entropy", "kinds.csv", "--x-cols", "zz"],
                 "--x-cols 'zz': no such column in kinds.csv; valid columns: a, b, c, kind",
                 id="unknown-column"),
    pytest.param(["mi", "x.npy", "--y-cols", "7"], "--y-cols '7': x.npy has 3 columns (0..2)",
                 id="column-index-out-of-range"),
    pytest.param(["entropy", "x.npy", "--x-cols", "5:9"],
                 "--x-cols '5:9': empty range for x.npy with 3 columns", id="empty-range"),
    pytest.param(["entropy", "x.npy", "--unit", "furlongs"],
                 "--unit 'furlongs': expected nats or bits", id="unit"),
]


def _assert_clean_error(proc, expected: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("infocli: error: "), lines[0]
    assert expected in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("args, expected", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(bad, tmp_path, args, expected):
    if "cuda" in args:
        import torch

        if torch.cuda.is_available():  # pragma: no cover - this test needs a machine without
            pytest.skip("CUDA is available here")
    out = tmp_path / "out.json"
    proc = run_cli(*args, "-o", out, cwd=bad)
    _assert_clean_error(proc, expected)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file either


@pytest.mark.parametrize("value", ["inf", "1e400"])
def test_infinite_integer_parameter_is_a_parameter_error(bad, value):
    # int(float("inf")) raises OverflowError: it must become a parameter error.
    proc = run_cli("entropy", "x.npy", "-p", f"k={value}", cwd=bad)
    line = _assert_clean_error(proc, "infocli: error: parameter k=")
    assert "integer" in line


def test_unreadable_file_message(runner, bad, monkeypatch):
    # the same check in-process, with the permission bit faked, so it also runs as root
    monkeypatch.chdir(bad)
    real_access = os.access
    monkeypatch.setattr(os, "access",
                        lambda p, mode, **kw: False if str(p).endswith("x.npy") and mode == os.R_OK
                        else real_access(p, mode, **kw))
    res = invoke(runner, "entropy", "x.npy")
    assert res.exit_code == 2
    assert res.stderr == "infocli: error: x.npy: permission denied\n"


def test_directory_as_input(bad):
    proc = run_cli("entropy", ".", cwd=bad)
    _assert_clean_error(proc, ".: is a directory, expected a data file")


def test_output_into_missing_directory_is_refused_before_work(bad, tmp_path):
    out = tmp_path / "no" / "such" / "out.json"
    proc = run_cli("entropy", "x.npy", "-o", out, cwd=bad)
    line = _assert_clean_error(proc, f"--output {out}: directory {out.parent} does not exist")
    assert line.endswith("does not exist")
    assert not out.parent.exists()


def test_output_that_is_a_directory(bad, tmp_path):
    proc = run_cli("entropy", "x.npy", "-o", tmp_path, cwd=bad)
    _assert_clean_error(proc, f"--output {tmp_path}: is a directory")


def test_traceback_flag_shows_the_trace(bad):
    proc = run_cli("entropy", "x.npy", "-p", "k=0", "--traceback", cwd=bad)
    assert "Traceback (most recent call last)" in proc.stderr
    assert "infocli.errors.ParameterError: parameter k=0: expected >= 1" in proc.stderr
    # the documented exit code and the one-line message stay as without --traceback
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == "infocli: error: parameter k=0: expected >= 1"
    assert proc.stdout == ""


def test_traceback_flag_on_an_input_error(bad):
    proc = run_cli("mi", "x.npy", "y299.npy", "--traceback", cwd=bad)
    assert proc.returncode == 2
    assert "Traceback (most recent call last)" in proc.stderr
    assert "InputError: x.npy has 300 rows but y299.npy has 299" in proc.stderr


# --------------------------------------------------------------------------- help, version


def test_version(tmp_path):
    proc = run_cli("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == f"infocli {infocli.__version__}\n"


def test_help_lists_the_commands(tmp_path):
    proc = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for command in ("entropy", "mi", "cmi", "estimators"):
        assert re.search(rf"^\s+{command}\s", proc.stdout, flags=re.M), command
    assert "--version" in proc.stdout


@pytest.mark.parametrize("command, options", [
    ("entropy", ["--given", "--given-cols", "--discrete-given", "--x-cols"]),
    ("mi", ["--x-cols", "--y-cols", "--discrete-y", "--permutations"]),
    ("cmi", ["--given", "--given-cols", "--discrete-given", "--y-cols"]),
])
def test_command_help_lists_the_options(runner, command, options):
    res = invoke(runner, command, "--help")
    assert res.exit_code == 0
    common = ["--estimator", "-e", "--param", "-p", "--unit", "--seed", "--device", "--json",
              "--output", "-o", "--quiet", "--traceback"]
    for opt in options + common:
        assert re.search(rf"(^|[\s,]){re.escape(opt)}[\s,]", res.stdout), opt
