"""The command line of KNIFE: --save-model / --model / --per-sample map to the
estimator's parameters, the progress bar keys, and one-line errors with their
exit codes (STYLE principle 11: the mapping, not the maths)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import infocli
import infocli.api
import infocli.cli
from infocli.result import Estimate

FAST = ["-p", "n_kernels=4", "-p", "max_epochs=3"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "100"})


def invoke(runner, *args):
    return runner.invoke(infocli.cli.app, [str(a) for a in args])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("knife_cli")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((400, 2))
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", x[:, :1] + 0.5 * rng.standard_normal((400, 1)))
    np.save(folder / "x3.npy", rng.standard_normal((50, 3)))
    np.save(folder / "labels.npy", rng.integers(0, 2, 400))
    (folder / "junk.pt").write_bytes(b"not a model at all")
    return folder


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def fake(measure):
        def f(*args, **kwargs):
            seen.append((measure, args, kwargs))
            return Estimate(measure=measure, estimator=kwargs["estimator"], value=1.0,
                            unit="nats", stderr=0.1, n_samples=len(args[0]), dims={"x": 1},
                            params=kwargs["params"], device="cpu", seconds=0.1,
                            version=infocli.__version__)
        return f

    monkeypatch.setattr(infocli.api, "entropy", fake("entropy"))
    monkeypatch.setattr(infocli.api, "mutual_information", fake("mutual_information"))
    return seen


def test_options_map_to_knife_parameters(runner, calls, data):
    res = invoke(runner, "entropy", data / "x.npy", "-e", "knife", "--save-model", "m.pt",
                 "--per-sample", "ps.npy", "-p", "lr=0.001", "--json")
    assert res.exit_code == 0, res.output
    (_, _, kwargs), = calls
    assert kwargs["estimator"] == "knife"
    assert kwargs["params"] == {"lr": 0.001, "save_model": "m.pt", "per_sample": "ps.npy"}


def test_model_implies_knife(runner, calls, data):
    res = invoke(runner, "mi", data / "x.npy", data / "y.npy", "--model", "m.pt", "--json")
    assert res.exit_code == 0, res.output
    (measure, _, kwargs), = calls
    assert measure == "mutual_information" and kwargs["estimator"] == "knife"
    assert kwargs["params"] == {"model": "m.pt"}


@pytest.mark.parametrize("option", ["--save-model", "--model", "--per-sample"])
def test_model_options_need_knife(runner, calls, data, option):
    res = invoke(runner, "entropy", data / "x.npy", "-e", "kl", option, "f")
    assert res.exit_code == 2
    assert f"{option} needs an estimator with a fitted model (-e knife), not -e kl" in res.output
    assert calls == []


def test_progress_status_updates_one_bar(monkeypatch):
    bar = infocli.cli._RichProgress()
    with bar:
        bar("fit H(x) | train 1.0 val 1.1 nats", 1, 3)
        bar("fit H(x) | train 0.9 val 1.0 nats", 2, 3)
        bar("fit H(x|y) | train 0.5", 1, 3)
        tasks = {t.description: t.completed for t in bar._p.tasks}
    assert tasks == {"fit H(x) | train 0.9 val 1.0 nats": 2, "fit H(x|y) | train 0.5": 1}


def test_save_then_evaluate_on_new_rows(runner, data, tmp_path):
    model, ps = tmp_path / "m.pt", tmp_path / "ps.npy"
    res = invoke(runner, "entropy", data / "x.npy", "-e", "knife", *FAST, "--save-model", model,
                 "--per-sample", ps, "--json")
    assert res.exit_code == 0, res.output
    fitted = json.loads(res.stdout)
    log_f = np.load(ps)
    assert log_f.shape == (400,) and np.isnan(log_f).sum() == 400 - fitted["details"]["n_test"]
    test_rows = np.load(data / "x.npy")[~np.isnan(log_f)]
    np.save(tmp_path / "test.npy", test_rows)
    res = invoke(runner, "entropy", tmp_path / "test.npy", "--model", model, "--per-sample",
                 tmp_path / "ps2.npy", "--json")
    assert res.exit_code == 0, res.output
    again = json.loads(res.stdout)
    assert again["value"] == pytest.approx(fitted["value"], abs=1e-12)
    assert np.allclose(np.load(tmp_path / "ps2.npy"), log_f[~np.isnan(log_f)], atol=1e-12)


def run_cli(*args, cwd):
    src = os.path.dirname(os.path.dirname(infocli.__file__))
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.run([sys.executable, "-m", "infocli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=env)
    return proc


def test_model_errors_exit_2_with_one_line(data, tmp_path):
    model = tmp_path / "m.pt"
    fit = run_cli("entropy", data / "x.npy", "-e", "knife", *FAST, "--save-model", model,
                  "-q", cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr
    for args, message in [
        (("entropy", data / "x3.npy", "--model", model),
         f"infocli: error: model {model} was fitted on 2 columns of x ({data / 'x.npy'}) "
         f"but {data / 'x3.npy'} has 3"),
        (("entropy", data / "x.npy", "--model", data / "junk.pt"),
         f"infocli: error: model {data / 'junk.pt'}: not a KNIFE model saved by infocli"),
        (("mi", data / "x.npy", data / "labels.npy", "--discrete-y", "--model", model),
         f"infocli: error: model {model} estimates entropy, not mutual information"),
        (("entropy", data / "x.npy", "-e", "knife", "-p", "test_fraction=0.95"),
         "infocli: error: parameter test_fraction=0.95: expected <= 0.9"),
    ]:
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith(message), proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_non_finite_loss_exits_3(data, tmp_path):
    big = tmp_path / "big.npy"
    np.save(big, 1e3 * np.load(data / "x.npy"))
    proc = run_cli("entropy", big, "-e", "knife", "-p", "lr=1e30", "-p", "max_epochs=3",
                   cwd=tmp_path)
    assert proc.returncode == 3
    assert "lower the learning rate (lr=1e+30" in proc.stderr and proc.stderr.count("\n") == 1
