"""Compressed MI, known-MI data, WKL and the information-plane analysis."""

import json
import subprocess
import sys

import numpy as np
import pytest

import infocli
from infocli import InputError, ParameterError
from infocli import ib
from infocli.datasets import correlated_latents, known_mi

LOG_2PIE = np.log(2 * np.pi * np.e)


def test_latents_have_the_stated_mi():
    zx, zy = correlated_latents(20000, 3, 1.5, seed=1)
    est = infocli.mutual_information(zx, zy, estimator="gaussian")
    assert abs(est.value - 1.5) < 4 * est.stderr
    with pytest.raises(ParameterError, match="non-negative"):
        correlated_latents(10, 2, -1.0)


def test_images_are_injective_smooth_maps():
    x, y, mi = known_mi("gaussian_bumps", 50, 2.0, seed=0)
    assert x.shape == (50, 256) and y.shape == (50, 256) and mi == 2.0
    r, _, _ = known_mi("rectangles", 50, 2.0, seed=0)
    assert r.shape == (50, 1024)
    # distinct latents give distinct images
    assert len(np.unique(np.round(x, 8), axis=0)) == 50


def test_wkl_entropy_of_gaussian(rng):
    cov = np.array([[2.0, 1.5], [1.5, 2.0]])
    x = rng.multivariate_normal([0, 0], cov, size=5000)
    est = infocli.entropy(x, k=5, weights="bsy", whiten_data=True, estimator="kl")
    assert abs(est.value - 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov))) < 0.05


@pytest.mark.parametrize("inner", ["wkl", "ksg"])
def test_pca_path_is_exact_on_a_linear_embedding(rng, inner):
    # A 2-D Gaussian embedded linearly in 20 (30) dimensions: PCA to 2 dims loses nothing.
    zx, zy = correlated_latents(4000, 2, 1.0, seed=3)
    a, b = rng.standard_normal((2, 20)), rng.standard_normal((2, 30))
    est = infocli.mutual_information(zx @ a, zy @ b, estimator="compressed", inner=inner)
    direct = infocli.mutual_information(zx, zy, estimator="ksg")
    assert est.details["compression"]["x"]["explained_variance_ratio"] > 0.999999
    assert abs(est.value - 1.0) < 0.1
    assert abs(est.value - direct.value) < 0.1


def test_discrete_labels(rng):
    labels = rng.integers(0, 3, 3000)
    a = rng.standard_normal((2, 12))
    x = (labels[:, None] * 2.0 + rng.standard_normal((3000, 2))) @ a
    est = infocli.mutual_information(x, labels.astype(str), estimator="compressed")
    ref = infocli.mutual_information(x @ np.linalg.pinv(a), labels, discrete_y=True)
    assert abs(est.value - ref.value) < 0.05
    assert 0 < est.value <= np.log(3)


def test_autoencoder_recovers_mi_of_images_where_pca_fails():
    x, y, mi = known_mi("gaussian_bumps", 2000, 1.0, seed=5)
    opts = dict(estimator="compressed", x_compressor="autoencoder", y_compressor="autoencoder",
                ae_epochs=100, ae_hidden=64)
    est = infocli.mutual_information(x, y, **opts)
    q = est.details["compression"]["x"]
    assert q["compressor"] == "autoencoder" and q["validation_r2"] > 0.95
    assert abs(est.value - mi) < 0.3
    pca = infocli.mutual_information(x, y, estimator="compressed")
    assert est.value > pca.value + 0.3  # the linear compressor loses the bumps' positions
    assert infocli.mutual_information(x, y, **opts).value == est.value  # seeded


def test_code_dim_larger_than_data_is_an_error(rng):
    with pytest.raises(InputError, match="code dimension 5 is larger than the data dimension 3"):
        infocli.mutual_information(rng.standard_normal((100, 3)), rng.standard_normal((100, 3)),
                                   estimator="compressed", x_dim=5)


def _layout(tmp_path, rng, n=300, epochs=(1, 2), layers=("a", "b")):
    x = rng.standard_normal((n, 6))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    for e in epochs:
        d = tmp_path / "acts" / f"epoch_{e}"
        d.mkdir(parents=True)
        for j, layer in enumerate(layers):
            w = np.random.default_rng(e * 10 + j).standard_normal((6, 5))
            np.save(d / f"{layer}.npy", ib.noisy(np.tanh(x @ w), 1e-3, np.random.default_rng(e)))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    return x, y


def test_layout_and_manifest_parsing(tmp_path, rng):
    _layout(tmp_path, rng)
    acts = ib.load_activations(str(tmp_path / "acts"))
    assert sorted(acts) == [(1, "a"), (1, "b"), (2, "a"), (2, "b")]
    manifest = tmp_path / "m.csv"
    manifest.write_text("epoch,layer,path\n1,a,acts/epoch_1/a.npy\n2,a,acts/epoch_2/a.npy\n")
    assert sorted(ib.load_activations(str(manifest))) == [(1, "a"), (2, "a")]
    (tmp_path / "acts" / "epoch_2" / "b.npy").unlink()
    with pytest.raises(InputError, match="layer 'b' is missing at epoch 2"):
        ib.load_activations(str(tmp_path / "acts"))


def test_information_plane_values_and_row_mismatch(tmp_path, rng):
    x, y = _layout(tmp_path, rng)
    acts = ib.load_activations(str(tmp_path / "acts"))
    plane = ib.information_plane(x, y, acts, x_dim=4, t_dim=3)
    assert len(plane.points) == 4
    for p in plane.points:
        assert np.isfinite(p.i_xt) and p.i_xt_stderr > 0
        assert -0.1 < p.i_ty < np.log(3) + 0.05  # I(T;Y) <= H(Y) <= log 3
    bits = ib.information_plane(x, y, acts, x_dim=4, t_dim=3, unit="bits")
    assert bits.points[0].i_xt == pytest.approx(plane.points[0].i_xt / np.log(2))
    acts[(1, "a")] = acts[(1, "a")][:-1]
    with pytest.raises(InputError, match="has 299 rows but x has 300"):
        ib.information_plane(x, y, acts)


def test_ib_cli_writes_table_csv_json_and_plot(tmp_path, rng):
    _layout(tmp_path, rng)
    out = subprocess.run(
        [sys.executable, "-m", "infocli", "ib", str(tmp_path / "acts"), "--x",
         str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy"), "--t-dim", "3", "--json",
         "--csv", str(tmp_path / "p.csv"), "--plot", str(tmp_path / "p.png")],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["points"]) == 4 and doc["unit"] == "nats"
    assert (tmp_path / "p.csv").read_text().startswith("epoch,layer,I_XT")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run(
        [sys.executable, "-m", "infocli", "ib", str(tmp_path / "nope"), "--x",
         str(tmp_path / "x.npy"), "--y", str(tmp_path / "y.npy")],
        capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no such file or directory" in bad.stderr
    assert "Traceback" not in bad.stderr
