"""DSE and DSMI: agreement with the authors' package, closed-form limits, bad input."""

import json
import random

import numpy as np
import pytest
from typer.testing import CliRunner

import infocli
import infocli.cli
from infocli import InputError, ParameterError
from infocli.estimators import dse as dse_mod

LN2 = np.log(2)


def _pinned_data():
    rng = np.random.default_rng(2024)
    x = rng.standard_normal((400, 6))
    x[:, 0] *= 3
    y = rng.integers(0, 4, 400)
    return x, y


def _reference_subsets(groups, n, repeats, seed=0):
    """The baseline subsets dse-dsmi draws (Python's random, reseeded per class)."""
    out = []
    for g in groups:
        random.seed(seed)
        out.append([np.array(random.sample(range(n), k=len(g))) for _ in range(repeats)])
    return out


# Computed with dse-dsmi 1.1 (diffusion_spectral_entropy /
# diffusion_spectral_mutual_information, random_seed=0) on _pinned_data();
# they guard the values even where that package is not installed.
PINNED_DSE = {(1.0, 1): 7.987603087485757, (2.5, 1): 5.0927055453912775,
              (2.5, 4): 0.6734061015304821}
PINNED_DSMI = 0.4167275112458014  # sigma 2, t 2, 3 repetitions, x + 0.5 y


# -- exactness -----------------------------------------------------------------
@pytest.mark.parametrize("sigma, t", list(PINNED_DSE))
def test_dse_pinned_reference_values(sigma, t):
    x, _ = _pinned_data()
    est = infocli.dse(x, sigma=sigma, t=t, unit="bits")
    assert abs(est.value - PINNED_DSE[sigma, t]) < 1e-6
    assert est.details["native_unit"] == "bits"
    assert abs(est.details["dse_bits"] - PINNED_DSE[sigma, t]) < 1e-6


def test_dsmi_pinned_reference_value():
    x, y = _pinned_data()
    x = x + 0.5 * y[:, None]
    groups = [np.flatnonzero(y == c) for c in range(4)]
    weights = np.array([len(g) for g in groups]) / len(y)
    bits, _ = dse_mod.dsmi_from_groups(x, groups, _reference_subsets(groups, len(y), 3),
                                       weights, 2.0, 2.0, "cpu")
    assert abs(bits - PINNED_DSMI) < 1e-6


def test_agreement_with_dse_dsmi_package():
    # dse-dsmi is in the `test` extra, so this always runs in the test environment
    from dse_dsmi import diffusion_spectral_entropy, diffusion_spectral_mutual_information

    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, (300, 20))
    for sigma, t in [(0.5, 1), (1.3, 2), (3.0, 3)]:
        ref = diffusion_spectral_entropy(x, gaussian_kernel_sigma=sigma, t=t)
        assert abs(infocli.dse(x, sigma=sigma, t=t, unit="bits").value - ref) < 1e-6
    y = rng.integers(0, 3, 300)
    xs = x + 0.3 * y[:, None]
    ref, _ = diffusion_spectral_mutual_information(xs, y, gaussian_kernel_sigma=1.0, t=1,
                                                   num_repetitions=2, random_seed=0)
    groups = [np.flatnonzero(y == c) for c in range(3)]
    weights = np.array([len(g) for g in groups]) / len(y)
    bits, _ = dse_mod.dsmi_from_groups(xs, groups, _reference_subsets(groups, 300, 2),
                                       weights, 1.0, 1.0, "cpu")
    assert abs(bits - ref) < 1e-6
    # the reference's equal-width binning of a continuous scalar y
    yc = xs[:, 0] + rng.standard_normal(300)
    _, clusters = diffusion_spectral_mutual_information(xs, yc, gaussian_kernel_sigma=1.0,
                                                        n_clusters=4, num_repetitions=1)
    ctx = dse_mod.Context(rng=np.random.default_rng(0), discrete={"y": False})
    mine, _ = dse_mod._groups_of_y(ctx, yc[:, None], 4)
    ref_groups = [np.flatnonzero(clusters.ravel() == c) for c in np.unique(clusters)]
    assert [g.tolist() for g in mine] == [g.tolist() for g in ref_groups]


# -- limits ----------------------------------------------------------------------
def test_tiny_sigma_gives_log2_n(rng):
    x = rng.standard_normal((300, 3))
    assert abs(infocli.dse(x, sigma=1e-4, unit="bits").value - np.log2(300)) < 1e-9


def test_constant_data_gives_zero():
    est = infocli.dse(np.full((200, 4), 3.0), unit="bits")
    assert abs(est.value) < 1e-9
    assert "identical" in est.details["sigma_rule"]


@pytest.mark.parametrize("k", [2, 4])
def test_separated_blobs_at_large_t_give_log2_k(rng, k):
    centres = 100.0 * np.arange(k)[:, None] * np.ones((1, 3))
    x = np.concatenate([c + rng.standard_normal((100, 3)) for c in centres])
    assert abs(infocli.dse(x, sigma=2.0, t=200, unit="bits").value - np.log2(k)) < 1e-3


def test_units_and_record(rng):
    x = rng.standard_normal((300, 3))
    bits = infocli.dse(x, unit="bits")
    nats = infocli.dse(x)
    assert bits.unit == "bits" and nats.unit == "nats"
    assert abs(nats.value - bits.value * LN2) < 1e-12
    assert nats.details["dse_bits"] == bits.details["dse_bits"]
    assert nats.details["sigma_rule"] == "median pairwise distance"
    assert 0 < bits.value < np.log2(300)
    assert nats.warnings == ()


def test_auto_sigma_is_scale_free(rng):
    x = rng.standard_normal((300, 3))
    a = infocli.dse(x).value
    assert abs(infocli.dse(1000 * x).value - a) < 1e-9


def test_spectrum_function(rng):
    x = rng.standard_normal((250, 3))
    est, w = infocli.dse_spectrum(x, sigma=1.5, t=2)
    assert w.shape == (250,) and abs(w[-1] - 1) < 1e-10 and w.min() > -1e-10
    assert abs(dse_mod.spectral_entropy_bits(w, 2) - est.details["dse_bits"]) < 1e-12


def test_subsample_above_max_n_is_seeded_and_said(rng):
    x = rng.standard_normal((500, 3))
    a = infocli.dse(x, max_n=200, seed=1)
    assert a.details["n_used"] == 200 and a.details["mode"] == "subsample"
    assert any("subsample" in w for w in a.warnings)
    assert a.value == infocli.dse(x, max_n=200, seed=1).value


def test_slq_mode_close_to_exact(rng):
    x = rng.standard_normal((1500, 5))
    exact = infocli.dse(x, sigma=1.0, unit="bits")
    approx = infocli.dse(x, sigma=1.0, max_n=100, approx=True, unit="bits", probes=16,
                         lanczos_steps=30)
    assert approx.details["mode"] == "slq" and approx.details["n_used"] == 1500
    assert approx.stderr is not None and approx.stderr > 0
    assert abs(approx.value - exact.value) < max(4 * approx.stderr, 0.05)


# -- DSMI ---------------------------------------------------------------------------
def _labelled(rng, n=600, shift=1.5):
    y = rng.integers(0, 3, n)
    return rng.standard_normal((n, 4)) + shift * y[:, None], y


def test_dsmi_permuted_labels_near_zero(rng):
    x, y = _labelled(rng)
    informative = infocli.dsmi(x, y, discrete_y=True, unit="bits").value
    null = infocli.dsmi(x, rng.permutation(y), discrete_y=True, unit="bits").value
    assert informative > 0.3
    assert abs(null) < 0.05


def test_dsmi_decreases_with_label_corruption(rng):
    x, y = _labelled(rng)
    values = []
    for frac in (0.0, 0.3, 0.6, 1.0):
        y2 = y.copy()
        flip = rng.random(len(y)) < frac
        y2[flip] = rng.integers(0, 3, flip.sum())
        values.append(infocli.dsmi(x, y2, discrete_y=True, unit="bits").value)
    assert all(a > b for a, b in zip(values, values[1:])), values


def test_dsmi_string_labels_and_continuous_y(rng):
    x, y = _labelled(rng, n=300)
    names = np.array(["a", "b", "c"])[y]
    est = infocli.dsmi(x, names, unit="bits")
    assert est.details["groups"] == "classes" and est.details["group_sizes"] == \
        np.bincount(y).tolist()
    assert est.stderr is not None and est.stderr > 0
    scalar = infocli.dsmi(x, x[:, 0] + 0.1 * rng.standard_normal(300), n_clusters=4)
    assert scalar.details["groups"] == "4 equal-width bins of y" and scalar.value > 0
    vector = infocli.dsmi(x, x[:, :2], n_clusters=3)
    assert vector.details["groups"].startswith("k-means") and vector.value > 0
    assert len(vector.details["group_sizes"]) == 3


def test_dsmi_single_member_class_contributes_zero_and_warns(rng):
    x, y = _labelled(rng, n=200)
    labels = np.array(["a", "b", "c"])[y].astype(object)
    labels[0] = "lonely"
    est = infocli.dsmi(x, labels, unit="bits")
    assert any("single member" in w and "lonely" in w for w in est.warnings)
    assert np.isfinite(est.value)


# -- bad input ------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0, -1.0, "-2", "abc", "nan", "inf"])
def test_bad_sigma(sigma):
    with pytest.raises(ParameterError, match="sigma"):
        infocli.dse(np.arange(10.0)[:, None], sigma=sigma)


@pytest.mark.parametrize("t", [0, -1.0])
def test_bad_t(t):
    with pytest.raises(ParameterError, match="t="):
        infocli.dse(np.arange(10.0)[:, None], t=t)
    with pytest.raises(ParameterError, match="t="):
        infocli.dsmi(np.arange(10.0)[:, None], np.arange(10) % 2, t=t)


def test_fewer_than_two_points():
    with pytest.raises(InputError, match="at least 2"):
        infocli.dse(np.ones((1, 3)))
    with pytest.raises(InputError, match="at least 2"):
        infocli.dsmi(np.ones((1, 3)), np.array([1]), discrete_y=True)


def test_labels_with_nan():
    y = np.array([0.0, 1.0, np.nan, 1.0, 0.0, 1.0])
    with pytest.raises(InputError, match="non-finite"):
        infocli.dsmi(np.random.default_rng(0).standard_normal((6, 2)), y, discrete_y=True)


# -- command line ----------------------------------------------------------------------
def test_cli_dse_spectrum_and_dsmi(tmp_path, rng):
    x, y = _labelled(rng, n=150)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array(["a", "b", "c"])[y])
    runner = CliRunner()
    spec = tmp_path / "spec.npy"
    res = runner.invoke(infocli.cli.app, ["entropy", str(tmp_path / "x.npy"), "-e", "dse",
                                          "-p", "sigma=1.5", "-p", "t=2", "--unit", "bits",
                                          "--spectrum", str(spec), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["unit"] == "bits" and out["params"]["sigma"] == "1.5" and out["params"]["t"] == 2
    assert out["details"]["native_unit"] == "bits"
    w = np.load(spec)
    assert abs(dse_mod.spectral_entropy_bits(w, 2) - out["value"]) < 1e-9

    res = runner.invoke(infocli.cli.app, ["mi", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                                          "-e", "dsmi", "-p", "repeats=2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["estimator"] == "dsmi" and out["params"]["repeats"] == 2
    assert out["details"]["group_sizes"] == np.bincount(y).tolist()


@pytest.mark.parametrize("args, message", [
    (["-e", "dse", "-p", "sigma=0"], "sigma"),
    (["-e", "dse", "-p", "t=-1"], "t="),
    (["-e", "kl", "--spectrum", "S.npy"], "--spectrum needs -e dse"),
    (["-e", "dse", "-p", "approx=true", "--spectrum", "S.npy"], "exact mode"),
    (["-e", "dse", "--spectrum", "/no/such/dir/s.npy"], "does not exist"),
])
def test_cli_dse_bad_input_exit_2(tmp_path, rng, args, message):
    np.save(tmp_path / "x.npy", rng.standard_normal((20, 2)))
    res = CliRunner().invoke(infocli.cli.app, ["entropy", str(tmp_path / "x.npy"), *args])
    assert res.exit_code == 2
    assert message in res.stderr
    assert not (tmp_path / "S.npy").exists()


def test_slq_matrix_free_operator_matches_stored(rng, monkeypatch):
    x = rng.standard_normal((700, 4))
    stored = infocli.dse(x, sigma=1.0, max_n=100, approx=True, unit="bits")
    monkeypatch.setattr(dse_mod, "DENSE_LIMIT_BYTES", 0)
    monkeypatch.setattr(dse_mod, "_BLOCK_ELEMENTS", 700 * 64)  # several row blocks
    free = infocli.dse(x, sigma=1.0, max_n=100, approx=True, unit="bits")
    assert abs(free.value - stored.value) < 1e-4
