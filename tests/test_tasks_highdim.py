"""The highdim task family: every truth against an independent computation
(the Gaussian MI of the full covariance, Monte Carlo in the full dimension,
direct quadrature of a transformed density, SciPy's entropies), the exact
inverses that make the embeddings injective, the class-function property of
the digits, sampling and selection."""

from __future__ import annotations

import pickle
import sys
import tracemalloc

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp, ndtr

import infocli
import infocli.cli
from infocli import tasks
from infocli.errors import ParameterError
from infocli.tasks import highdim

HD = [t.name for t in tasks.select(family="highdim")]


def _slogdet(a: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(a)
    assert sign > 0
    return float(value)


def _mc_check(values: np.ndarray, truth: float, truth_error: float = 0.0):
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert abs(values.mean() - truth) < 4 * se + truth_error + 1e-9, (values.mean(), truth, se)


# ------------------------------------------------------------------ registry and selection


def test_family_is_registered_tagged_and_opt_in():
    assert "highdim" in tasks.families()
    assert len(HD) >= 20
    for t in tasks.select(family="highdim"):
        assert {"high-dimensional", tasks.OPT_IN} <= set(t.tags), t.name
        # runnable across the benchmark's sizes (1,000 to 20,000 rows)
        assert 2 < t.min_n <= 1000 and t.description and t.params, t.name
        assert max(t.dims.values()) >= 64, t.name
    default = {t.name for t in tasks.default_tasks()}
    assert not default & set(HD)
    assert default | set(HD) == {t.name for t in tasks.all_tasks()}
    # a measure alone is not a selection of the opt-in tasks; a name or family is
    assert all(t.family == "entropy" for t in tasks.select(measure="entropy"))
    assert {t.name for t in tasks.select("hd-entropy-*")} == {
        "hd-entropy-spiked-gaussian-128", "hd-entropy-tanh-gaussian-64"}


def test_cli_lists_the_family_only_when_selected():
    from typer.testing import CliRunner

    runner = CliRunner(env={"COLUMNS": "240"})
    res = runner.invoke(infocli.cli.app, ["bench", "--list", "--family", "highdim"])
    assert res.exit_code == 0, res.output
    for name in ("hd-linear-4x4096-noise0.1", "hd-digits-32x32-p0.9", "hd-curved-2x256"):
        assert name in res.stdout
    assert f"infocli bench tasks ({len(HD)})" in res.stdout
    res = runner.invoke(infocli.cli.app, ["bench", "--list"])
    assert res.exit_code == 0, res.output
    assert "hd-linear" not in res.stdout and "1v1-normal-0.75" in res.stdout


@pytest.mark.parametrize("name", HD)
def test_sampling_is_seeded_shaped_and_pickles(name):
    t = tasks.get(name)
    a, b, c = t.sample(120, seed=3), t.sample(120, seed=3), t.sample(120, seed=4)
    assert set(a) == set(t.dims)
    for key, d in t.dims.items():
        assert a[key].shape == (120, d)
        np.testing.assert_array_equal(a[key], b[key])
        if key not in t.discrete:
            assert a[key].dtype == (np.float32 if "float32" in t.tags else np.float64)
            assert np.isfinite(a[key]).all() and not np.array_equal(a[key], c[key])
    again = pickle.loads(pickle.dumps(t)).sample(120, seed=3)
    for key in a:
        np.testing.assert_array_equal(a[key], again[key])


# ------------------------------------------------------------------ linear embeddings


def _linear_covariance(p: dict) -> np.ndarray:
    """Full covariance of (X, Y) from the model's definition (no span reduction)."""
    a, b, s, rho = p["a"], p["b"], p["sigma"], np.diag(p["rhos"])
    sxx = a @ a.T + s * s * np.eye(len(a))
    syy = b @ b.T + s * s * np.eye(len(b))
    sxy = a @ rho @ b.T
    return np.block([[sxx, sxy], [sxy.T, syy]])


@pytest.mark.parametrize("name", [n for n in HD if n.startswith("hd-linear-")
                                  and "4096" not in n])
def test_linear_truth_is_the_full_covariance_gaussian_mi(name):
    t = tasks.get(name)
    p = t.params
    cov = _linear_covariance(p)
    dx = t.dims["x"]
    brute = 0.5 * (_slogdet(cov[:dx, :dx]) + _slogdet(cov[dx:, dx:]) - _slogdet(cov))
    assert t.truth == pytest.approx(brute, abs=1e-8)
    # the noise-free latent MI bounds it from above
    latent = -0.5 * np.sum(np.log(1 - p["rhos"] ** 2))
    assert t.truth <= latent + 1e-12


def test_linear_truth_by_hand_and_independent_of_the_dimension():
    rhos = np.array([0.9, 0.8, 0.6, 0.4])
    for s in (0.001, 0.1, 0.5):
        c = rhos / (1 + s * s)
        hand = -0.5 * sum(np.log(1 - ci * ci) for ci in c)
        found = [t for t in tasks.select("hd-linear-4x*") if t.params["sigma"] == s]
        assert found and all(t.truth == pytest.approx(hand, abs=1e-12) for t in found)


@pytest.mark.parametrize("name", ["hd-linear-4x4096-noise0.1", "hd-linear-4x4096-noise0.001",
                                  "hd-linear-4x256x1024-noise0.1"])
def test_linear_samples_are_the_model(name):
    t = tasks.get(name)
    p = t.params
    for m in (p["a"], p["b"]):  # the span reduction needs orthonormal columns
        np.testing.assert_allclose(m.T @ m, np.eye(p["r"]), atol=1e-12)
    n = 3000
    d = t.sample(n, seed=1)
    u, v = highdim.latent_sample(t, n, seed=1)
    tol = 6e-6 if d["x"].dtype == np.float32 else 1e-12  # float32 rounding of the signal
    for x, z, m in ((d["x"], u, p["a"]), (d["y"], v, p["b"])):
        noise = x.astype(np.float64) - z @ m.T
        assert noise.std() == pytest.approx(p["sigma"], rel=0.02, abs=tol)
        assert abs(noise.mean()) < 5 * p["sigma"] / np.sqrt(noise.size) + tol
    # projected on the span, coordinate pairs have correlation rho / (1 + s^2)
    px, py = d["x"].astype(np.float64) @ p["a"], d["y"].astype(np.float64) @ p["b"]
    r = np.array([np.corrcoef(px[:, i], py[:, i])[0, 1] for i in range(p["r"])])
    np.testing.assert_allclose(r, p["rhos"] / (1 + p["sigma"] ** 2), atol=4 / np.sqrt(n))


def test_float32_samples_are_light_and_accepted_by_infocli():
    t = tasks.get("hd-linear-4x4096-noise0.1")
    tracemalloc.start()
    d = t.sample(1500, seed=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out = d["x"].nbytes + d["y"].nbytes
    assert d["x"].dtype == np.float32 and peak < 1.6 * out  # no float64 copy of a side
    x, y = d["x"][:, :12], d["y"][:, :12]
    r32 = infocli.mutual_information(x, y, estimator="gaussian")
    r64 = infocli.mutual_information(x.astype(np.float64), y.astype(np.float64),
                                     estimator="gaussian")
    assert r32.value == pytest.approx(r64.value, rel=1e-12)


# ------------------------------------------------------------------ curved embeddings


@pytest.mark.parametrize("name", ["hd-curved-2x64", "hd-curved-2x256"])
def test_curved_embedding_is_injective_and_curved(name):
    t = tasks.get(name)
    p = t.params
    n = 300
    d = t.sample(n, seed=2)
    u, v = highdim.latent_sample(t, n, seed=2)
    np.testing.assert_allclose(p["map_x"].latent(d["x"]), u, atol=1e-10)
    np.testing.assert_allclose(p["map_y"].latent(d["y"]), v, atol=1e-10)
    rot = p["map_x"].parts()["rotation"]
    np.testing.assert_allclose(rot @ rot.T, np.eye(t.dims["x"]), atol=1e-10)
    # distinct latents give distinct images
    gaps = np.linalg.norm(d["x"][:, None, :] - d["x"][None, :, :], axis=-1)
    assert gaps[~np.eye(n, dtype=bool)].min() > 0
    # not a plane: many directions carry variance
    sv = np.linalg.svd(d["x"] - d["x"].mean(0), compute_uv=False)
    assert sv[4] > 0.1 * sv[0]
    # the truth is the latents' MI, from their covariance
    rho = p["rhos"]
    cov = np.block([[np.eye(2), np.diag(rho)], [np.diag(rho), np.eye(2)]])
    assert t.truth == pytest.approx(-0.5 * _slogdet(cov), abs=1e-12)


# ------------------------------------------------------------------ bump images


@pytest.mark.parametrize("name", ["hd-bumps-28x28-mi-1", "hd-bumps-28x28-mi-4"])
def test_bumps_28_are_invertible_images_of_the_latents(name):
    from infocli import datasets

    t = tasks.get(name)
    p = t.params
    n = 60
    d = t.sample(n, seed=1)
    rng = np.random.default_rng([1, tasks._name_key(name)])
    zx = rng.standard_normal((n, 2))
    zy = p["rho"] * zx + np.sqrt(1 - p["rho"] ** 2) * rng.standard_normal((n, 2))
    ux, uy = ndtr(zx @ p["rot_x"]), ndtr(zy @ p["rot_y"])
    np.testing.assert_array_equal(d["x"], datasets.gaussian_bumps(ux, size=28))
    np.testing.assert_array_equal(d["y"], datasets.gaussian_bumps(uy, size=28))
    # log of a bump's profile is a parabola with its vertex at the centre 0.2 + 0.6 u
    grid = np.linspace(0, 1, 28)
    img = d["x"].reshape(n, 28, 28)
    for prof, j in ((np.log(img.sum(axis=1)), 0), (np.log(img.sum(axis=2)), 1)):
        a, b, _ = np.polyfit(grid, prof.T, 2)
        np.testing.assert_allclose((-b / (2 * a) - 0.2) / 0.6, ux[:, j], atol=1e-7)
    cov = np.block([[np.eye(2), p["rho"] * np.eye(2)], [p["rho"] * np.eye(2), np.eye(2)]])
    assert t.truth == pytest.approx(-0.5 * _slogdet(cov), abs=1e-12) == pytest.approx(p["mi"])


# ------------------------------------------------------------------ digits


def test_digit_class_is_a_function_of_the_image():
    from sklearn.datasets import load_digits

    data = load_digits()
    seen: dict[bytes, int] = {}
    for image, label in zip(data.data, data.target):
        key = image.astype(np.uint8).tobytes()
        assert seen.setdefault(key, int(label)) == int(label)
    images, labels = highdim.digit_images()
    assert images.shape == (1797, 64) and np.bincount(labels).tolist() == np.bincount(
        data.target).tolist()


def _digit_classes(x: np.ndarray, side: int) -> np.ndarray:
    from sklearn.datasets import load_digits

    data = load_digits()
    if side == 8:
        table = data.data
    else:
        f = side // 8
        table = np.array([np.kron(im.reshape(8, 8), np.ones((f, f))).ravel() for im in data.data])
    lookup = {row.tobytes(): int(c) for row, c in zip(table, data.target)}
    return np.array([lookup[row.tobytes()] for row in x])  # KeyError: not a dataset image


@pytest.mark.parametrize("name", ["hd-digits-8x8-p0.9", "hd-digits-8x8-p0.5",
                                  "hd-digits-32x32-p0.9"])
def test_digit_pairs_follow_the_class_channel(name):
    t = tasks.get(name)
    p, side = t.params["p"], t.params["side"]
    # truth: MI of the joint class table, computed from its definition
    joint = np.where(np.eye(10, dtype=bool), p / 10, (1 - p) / 90)
    margin = joint.sum(1)
    assert t.truth == pytest.approx(
        float(np.sum(joint * np.log(joint / np.outer(margin, margin)))), abs=1e-12)
    n = 20_000
    d = t.sample(n, seed=0)
    c1, c2 = _digit_classes(d["x"], side), _digit_classes(d["y"], side)
    counts = np.zeros((10, 10))
    np.add.at(counts, (c1, c2), 1)
    np.testing.assert_allclose(counts / n, joint, atol=5 * np.sqrt(joint / n).max())
    if side > 8:  # repeated blocks of columns, and constant ones
        img = d["x"].reshape(n, side, side)
        np.testing.assert_array_equal(img[:, ::4, ::4].reshape(n, -1),
                                      img[:, 3::4, 3::4].reshape(n, -1))
        assert (d["x"].std(axis=0) == 0).sum() >= 3 * 16


def test_digits_without_sklearn_say_how_to_install(monkeypatch):
    highdim.digit_images.cache_clear()
    highdim._digit_table.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    try:
        with pytest.raises(ParameterError, match="pip install scikit-learn"):
            tasks.get("hd-digits-8x8-p0.9").sample(200, seed=0)
    finally:
        highdim.digit_images.cache_clear()
        highdim._digit_table.cache_clear()


# ------------------------------------------------------------------ labels


def test_latent_label_truths_by_monte_carlo_in_the_full_dimension():
    # linear: X | C=k ~ N(A mu_k, A A^T + s^2 I) in all 256 columns
    t = tasks.get("hd-labels-linear-4class-256")
    p = t.params
    n = 20_000
    d = t.sample(n, seed=7)
    x, c = d["x"], d["y"][:, 0]
    cov = p["basis"] @ p["basis"].T + p["sigma"] ** 2 * np.eye(t.dims["x"])
    chol = np.linalg.cholesky(cov)
    sq = np.stack([(np.linalg.solve(chol, (x - p["basis"] @ m).T) ** 2).sum(0)
                   for m in p["means"]], axis=1) / 2
    logw = np.log(p["weights"])
    _mc_check(-sq[np.arange(n), c] - logsumexp(logw - sq, axis=1), t.truth, t.truth_error)
    # curved: the latent is recovered exactly, and u | C=k ~ N(mu_k, I)
    t = tasks.get("hd-labels-curved-4class-256")
    p = t.params
    d = t.sample(n, seed=8)
    u, c = p["curve"].latent(d["x"]), d["y"][:, 0]
    np.testing.assert_allclose(p["curve"](u), d["x"], atol=1e-10)
    sq = ((u[:, None, :] - p["means"][None]) ** 2).sum(-1) / 2
    _mc_check(-sq[np.arange(n), c] - logsumexp(logw - sq, axis=1), t.truth, t.truth_error)
    np.testing.assert_allclose(np.bincount(c) / n, 0.25, atol=0.015)
    assert t.truth < np.log(4)


# ------------------------------------------------------------------ entropy


def test_spiked_gaussian_entropy_by_scipy_and_eigenvalues():
    t = tasks.get("hd-entropy-spiked-gaussian-128")
    cov = t.params["covariance"]
    assert t.truth == pytest.approx(stats.multivariate_normal(cov=cov).entropy(), abs=1e-8)
    lam = np.concatenate([[8.0, 4.0, 2.0, 1.0], np.zeros(124)]) + 0.09
    assert t.truth == pytest.approx(0.5 * (128 * np.log(2 * np.pi * np.e) + np.log(lam).sum()),
                                     abs=1e-8)
    x = t.sample(20_000, seed=0)["x"]
    np.testing.assert_allclose(np.linalg.eigvalsh(np.cov(x.T))[-4:], [1.09, 2.09, 4.09, 8.09],
                               rtol=0.1)


def test_tanh_gaussian_entropy_by_direct_quadrature_of_each_coordinate():
    t = tasks.get("hd-entropy-tanh-gaussian-64")
    cov = t.params["covariance"]
    h_x = stats.multivariate_normal(cov=cov).entropy()

    def shift(sd):  # h(tanh X) - h(X), X ~ N(0, sd^2), from the density of Y = tanh X
        def p_y(y):
            z = np.arctanh(y)
            return stats.norm.pdf(z, scale=sd) / (1 - y * y)

        def integrand(y):
            q = p_y(y)
            return -q * np.log(q) if q > 0 else 0.0

        h_y = integrate.quad(integrand, -1, 1, limit=400, epsabs=1e-11, points=[0.0])[0]
        return h_y - stats.norm(scale=sd).entropy()

    sds = np.sqrt(np.diag(cov))
    some = sds[::9]
    np.testing.assert_allclose(-2 * highdim.log_cosh_expectation(some),
                               [shift(sd) for sd in some], atol=1e-8)
    assert t.truth == pytest.approx(h_x - 2 * highdim.log_cosh_expectation(sds).sum(), abs=1e-9)
    # and by Monte Carlo of -log p_Y on the task's own sample
    y = t.sample(20_000, seed=3)["x"]
    log_p = stats.multivariate_normal(cov=cov).logpdf(np.arctanh(y)) - np.log1p(-y * y).sum(1)
    _mc_check(-log_p, t.truth, t.truth_error)
