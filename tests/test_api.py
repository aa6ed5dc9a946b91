"""The library boundary: inputs, validation messages, the result record, registry."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import infocli
from infocli import DeviceError, InputError, ParameterError
from infocli.registry import all_specs, get

from conftest import gaussian_pair


def test_record_fields_and_json(rng):
    x, y, _ = gaussian_pair(rng, 500, 2, 0.5)
    est = infocli.mutual_information(x, y, k=4, seed=7, estimator="ksg")
    d = json.loads(est.to_json())
    for key in ("measure", "estimator", "value", "unit", "stderr", "n_samples", "dims", "params",
                "device", "seconds", "version", "warnings", "p_value"):
        assert key in d
    assert d["params"] == {"k": 4, "algorithm": 1, "standardize": True, "ties": "jitter",
                           "backend": "auto", "seed": 7}
    assert d["dims"] == {"x": 2, "y": 2} and d["n_samples"] == 500
    assert d["version"] == infocli.__version__ and d["device"] == "cpu"
    assert float(est) == est.value


def test_accepts_torch_pandas_and_lists(rng):
    x, y, _ = gaussian_pair(rng, 400, 1, 0.5)
    ref = infocli.mutual_information(x, y).value
    t = infocli.mutual_information(torch.tensor(x, requires_grad=True), torch.tensor(y)).value
    p = infocli.mutual_information(pd.DataFrame(x), pd.Series(y.ravel())).value
    lst = infocli.mutual_information(x.ravel().tolist(), y.ravel().tolist()).value
    assert t == ref == p == lst


def test_row_mismatch_message(rng):
    with pytest.raises(InputError, match="x has 100 rows but y has 99"):
        infocli.mutual_information(rng.standard_normal(100), rng.standard_normal(99))


def test_nan_message_says_how_many_and_where(rng):
    x = rng.standard_normal((50, 3))
    x[7, 2] = np.nan
    x[9, 0] = np.inf
    with pytest.raises(InputError, match=r"1 NaN and 1 infinite value\(s\) \(first in column 2, row 7"):
        infocli.entropy(x)


def test_non_numeric_column_message():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": ["u", "v", "u", "v", "u"]})
    with pytest.raises(InputError, match="column 'b' is not numeric"):
        infocli.entropy(df, k=1)


def test_label_nan_is_an_error(rng):
    y = np.array(["a", None, "b"] * 20, dtype=object)
    with pytest.raises(InputError, match="missing or non-finite label"):
        infocli.mutual_information(rng.standard_normal(60), y)


def test_unknown_estimator_and_params():
    x = np.random.default_rng(0).standard_normal(100)
    with pytest.raises(ParameterError, match="unknown estimator 'nope'; valid estimators: ") as err:
        infocli.entropy(x, estimator="nope")
    assert {"gaussian", "kl", "ksg"} <= set(str(err.value).split(": ")[-1].split(", "))
    with pytest.raises(ParameterError, match="has no parameter 'kk'; valid parameters: k, metric"):
        infocli.entropy(x, kk=3, estimator="kl")
    with pytest.raises(ParameterError, match="'auto' has no parameter 'kk'; valid parameters: k, ties"):
        infocli.entropy(x, kk=3)
    with pytest.raises(ParameterError, match=r"k=0: expected >= 1"):
        infocli.entropy(x, k=0)
    with pytest.raises(ParameterError, match="expected one of 1, 2"):
        infocli.mutual_information(x, x, algorithm=3, estimator="ksg")
    with pytest.raises(ParameterError, match="does not estimate mutual information"):
        infocli.mutual_information(x, x, estimator="kl")
    with pytest.raises(ParameterError, match="unit 'nat'"):
        infocli.entropy(x, unit="nat")
    with pytest.raises(ParameterError, match="seed"):
        infocli.entropy(x, seed=-1)


def test_cuda_without_gpu_is_a_device_error(rng):
    if torch.cuda.is_available():  # the check below is about machines without CUDA
        assert infocli.entropy(rng.standard_normal(100), device="cuda").device.startswith("cuda")
        return
    with pytest.raises(DeviceError, match="CUDA is not available"):
        infocli.entropy(rng.standard_normal(100), device="cuda")
    with pytest.raises(DeviceError, match="expected auto, cpu"):
        infocli.entropy(rng.standard_normal(100), device="tpu")


def test_registry_lists_everything():
    names = {s.name for s in all_specs()}
    assert {"kl", "ksg", "gaussian"} <= names
    assert {"ksg", "gaussian"} <= set(infocli.available_estimators("mutual_information"))
    assert "kl" not in infocli.available_estimators("mutual_information")
    spec = get("ksg")
    assert spec.resolve_params({"k": "5"})["k"] == 5
    assert spec.param("standardize").parse("false") is False


def test_progress_callback_is_called(rng):
    calls = []
    infocli.mutual_information(*gaussian_pair(rng, 300, 1, 0.5)[:2],
                               progress=lambda d, c, t: calls.append((d, c, t)))
    assert calls and calls[-1][1] == calls[-1][2]
