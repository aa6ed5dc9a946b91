"""The known-truth task suite: registry, sampling, and every family's truth
against an independent computation (hand closed forms, quadrature, Monte Carlo
of the log-density ratio, exact inversion of the MI-preserving transforms)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import ndtri

from infocli import tasks
from infocli.errors import ParameterError
from infocli.tasks import bmi as bmi_tasks

# bmi's BENCHMARK_TASKS_LIST (src/bmi/benchmark/task_list.py), in order
BMI_V1_IDS = [
    "1v1-normal-0.75", "normal_cdf-1v1-normal-0.75", "1v1-additive-0.1", "1v1-additive-0.75",
    "1v1-bimodal-0.75", "wiggly-1v1-normal-0.75", "half_cube-1v1-normal-0.75",
    "student-identity-1-1-1", "asinh-student-identity-1-1-1",
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    "multinormal-dense-2-2-0.5", "multinormal-dense-3-3-0.5", "multinormal-dense-5-5-0.5",
    "multinormal-dense-25-25-0.5", "multinormal-dense-50-50-0.5",
    "multinormal-sparse-2-2-2-2.0", "multinormal-sparse-3-3-2-2.0",
    "multinormal-sparse-5-5-2-2.0", "multinormal-sparse-25-25-2-2.0",
    "student-identity-2-2-1", "student-identity-2-2-2", "student-identity-3-3-2",
    "student-identity-3-3-3", "student-identity-5-5-2", "student-identity-5-5-3",
    "normal_cdf-multinormal-sparse-3-3-2-2.0", "normal_cdf-multinormal-sparse-5-5-2-2.0",
    "normal_cdf-multinormal-sparse-25-25-2-2.0", "half_cube-multinormal-sparse-3-3-2-2.0",
    "half_cube-multinormal-sparse-5-5-2-2.0", "half_cube-multinormal-sparse-25-25-2-2.0",
    "spiral-multinormal-sparse-3-3-2-2.0", "spiral-multinormal-sparse-5-5-2-2.0",
    "spiral-multinormal-sparse-25-25-2-2.0", "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0", "asinh-student-identity-2-2-1",
    "asinh-student-identity-3-3-2", "asinh-student-identity-5-5-2",
]


def _equicorrelation_logdet(m: int, c: float) -> float:
    # det(I (1 - c) + c 11^T) = (1 - c)^(m-1) (1 + (m - 1) c)
    return (m - 1) * np.log(1 - c) + np.log(1 + (m - 1) * c)


# ------------------------------------------------------------------ registry


def test_bmi_family_is_bmis_v1_list_in_order():
    names = [t.name for t in tasks.select(family="bmi")]
    assert names == BMI_V1_IDS
    assert all(t.measure == "mutual_information" for t in tasks.select(family="bmi"))


def test_select_by_pattern_family_measure_and_errors():
    assert [t.name for t in tasks.select("1v1-*", family="bmi")] == [
        n for n in BMI_V1_IDS if n.startswith("1v1-")]
    both = tasks.select("student-identity-2-2-*,asinh-student-identity-2-2-1")
    assert [t.name for t in both] == ["student-identity-2-2-1", "student-identity-2-2-2",
                                      "asinh-student-identity-2-2-1"]
    assert all(t.measure == "mutual_information"
               for t in tasks.select(measure="mutual_information"))
    with pytest.raises(ParameterError, match="unknown task family 'nope'"):
        tasks.select(family="nope")
    with pytest.raises(ParameterError, match="no task matches pattern='zzz"):
        tasks.select("zzz*")
    with pytest.raises(ParameterError, match="unknown task 'zzz'"):
        tasks.get("zzz")
    with pytest.raises(ValueError, match="registered twice"):
        tasks.register(tasks.get("1v1-normal-0.75"))


def test_every_task_has_consistent_metadata():
    for t in tasks.all_tasks():
        assert t.family in tasks.families()
        assert np.isfinite(t.truth), t.name
        if t.measure != "entropy":  # differential entropies may be negative
            assert t.truth >= 0, t.name
        assert t.min_n >= 2 and t.description, t.name
        assert set(t.discrete) <= set(t.dims), t.name


# ------------------------------------------------------------------ sampling


@pytest.mark.parametrize("name", BMI_V1_IDS)
def test_bmi_sampling_shapes_seeds_and_standardization(name):
    t = tasks.get(name)
    a, b, c = t.sample(300, seed=1), t.sample(300, seed=1), t.sample(300, seed=2)
    assert set(a) == set(t.dims)
    for key, d in t.dims.items():
        assert a[key].shape == (300, d) and a[key].dtype == np.float64
        np.testing.assert_array_equal(a[key], b[key])
        assert not np.allclose(a[key], c[key])
        # bmi's v1 rescaling: every column zero mean, unit variance
        np.testing.assert_allclose(a[key].mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(a[key].std(axis=0), 1.0, atol=1e-12)
    raw = t.sample(300, seed=1, standardize=False)
    assert raw["x"].shape == a["x"].shape
    np.testing.assert_allclose((raw["x"] - raw["x"].mean(0)) / raw["x"].std(0), a["x"])


def test_sample_and_check_n_reject_bad_values():
    t = tasks.get("multinormal-dense-5-5-0.5")
    assert t.min_n == 12
    t.check_n(12)
    with pytest.raises(ParameterError, match=r"n=11 is too small for its 10 columns"):
        t.check_n(11)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ParameterError, match="expected a positive integer"):
            t.sample(bad)
    with pytest.raises(ParameterError, match="seed=-1"):
        t.sample(10, seed=-1)


def test_tasks_pickle_and_sample_identically():
    for name in ("1v1-bimodal-0.75", "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0",
                 "asinh-student-identity-3-3-2"):
        t = tasks.get(name)
        u = pickle.loads(pickle.dumps(t))
        np.testing.assert_array_equal(u.sample(50, 3)["y"], t.sample(50, 3)["y"])
        assert u.truth == t.truth


def test_same_seed_different_tasks_are_independent_streams():
    a = tasks.get("multinormal-sparse-3-3-2-2.0").sample(100, 0, standardize=False)["x"]
    b = tasks.get("normal_cdf-multinormal-sparse-3-3-2-2.0").sample(
        100, 0, standardize=False)["x"]
    assert not np.allclose(ndtri(b), a)


# ------------------------------------------------------------------ bmi truths


def test_bmi_truths_against_hand_computed_values():
    truth = {t.name: t.truth for t in tasks.select(family="bmi")}
    assert truth["1v1-normal-0.75"] == pytest.approx(-0.5 * np.log(1 - 0.75 ** 2), abs=1e-12)
    # 2-pair: correlation lambda^2 / (1 + lambda^2) = 0.8 on two pairs
    assert truth["multinormal-sparse-25-25-2-2.0"] == pytest.approx(-np.log(1 - 0.64), abs=1e-12)
    for m in (2, 3, 5, 25, 50):
        want = 0.5 * (2 * _equicorrelation_logdet(m, 0.5) - _equicorrelation_logdet(2 * m, 0.5))
        assert truth[f"multinormal-dense-{m}-{m}-0.5"] == pytest.approx(want, abs=1e-10)
    # bivariate Cauchy: 2 h(Cauchy) - h(2-D t_1) = 2 log(4 pi) - (log(2 pi) + 3) = log(8 pi) - 3
    assert truth["student-identity-1-1-1"] == pytest.approx(np.log(8 * np.pi) - 3, abs=1e-12)
    # df = 2, 2 x 2: 2 (log 2pi + 2) - (2 log 2pi - log 2 + 9/2) = log 2 - 1/2
    assert truth["student-identity-2-2-2"] == pytest.approx(np.log(2) - 0.5, abs=1e-12)
    assert truth["1v1-additive-0.1"] == pytest.approx(0.1 - np.log(0.2), abs=1e-12)
    assert truth["1v1-additive-0.75"] == pytest.approx(1 / 3, abs=1e-12)
    # every transformed task carries its base's truth
    assert truth["asinh-student-identity-5-5-2"] == truth["student-identity-5-5-2"]
    assert truth["swissroll_x-normal_cdf-1v1-normal-0.75"] == truth["1v1-normal-0.75"]


@pytest.mark.parametrize("eps", [0.1, 0.3, 0.75, 2.0])
def test_additive_uniform_truth_by_quadrature(eps):
    # I = h(Y) - h(Y | X) = h(Y) - log(2 eps), h(Y) by quadrature of the convolution density
    def p(y):
        return (min(1.0, y + eps) - max(0.0, y - eps)) / (2 * eps)

    def integrand(y):
        v = p(y)
        return -v * np.log(v) if v > 0 else 0.0

    breaks = sorted({-eps, eps, 1 - eps, 1 + eps})
    h_y = sum(integrate.quad(integrand, a, b, epsabs=1e-13)[0] for a, b in zip(breaks, breaks[1:]))
    assert bmi_tasks.additive_uniform(eps).truth == pytest.approx(h_y - np.log(2 * eps), abs=1e-9)


@pytest.mark.parametrize("dx,dy,df", [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 5, 3)])
def test_student_truth_by_monte_carlo_of_the_log_density_ratio(dx, dy, df):
    t = bmi_tasks.student_identity(dx, dy, df)
    d = t.sample(100_000, seed=7, standardize=False)
    xy = np.hstack([d["x"], d["y"]])
    log_ratio = (stats.multivariate_t(np.zeros(dx + dy), np.eye(dx + dy), df=df).logpdf(xy)
                 - stats.multivariate_t(np.zeros(dx), np.eye(dx), df=df).logpdf(d["x"])
                 - stats.multivariate_t(np.zeros(dy), np.eye(dy), df=df).logpdf(d["y"]))
    se = log_ratio.std() / np.sqrt(len(log_ratio))
    assert abs(log_ratio.mean() - t.truth) < 4 * se + 1e-3, (log_ratio.mean(), t.truth, se)


def test_student_marginals_are_t_distributed():
    d = tasks.get("student-identity-3-3-3").sample(20_000, seed=3, standardize=False)
    for col in np.hstack([d["x"], d["y"]]).T:
        assert stats.kstest(col, stats.t(df=3).cdf).pvalue > 1e-3


@pytest.mark.parametrize("name", ["multinormal-dense-5-5-0.5", "multinormal-sparse-5-5-2-2.0"])
def test_gaussian_sample_covariance_matches_the_model(name):
    t = tasks.get(name)
    d = t.sample(200_000, seed=0, standardize=False)
    cov = np.cov(np.hstack([d["x"], d["y"]]).T)
    want = (bmi_tasks.dense_covariance(5, 5) if "dense" in name
            else bmi_tasks.sparse_correlation(5, 5))
    np.testing.assert_allclose(cov, want, atol=0.015)
    if "sparse" in name:
        assert want[0, 5] == pytest.approx(0.8) and want[2, 7] == 0.0


# --------------------------------------- the transforms preserve MI: exact inverses


def _base_and_transformed(name, base_name, n=2000):
    # feed the same generator state to both samplers: the transformed sample must be
    # the image of the base sample under the (invertible, per-variable) map
    t, base = tasks.get(name), tasks.get(base_name)
    return (t.sampler(n, np.random.default_rng(11)), base.sampler(n, np.random.default_rng(11)),
            t, base)


@pytest.mark.parametrize("name,base_name,inv_x,inv_y", [
    ("normal_cdf-multinormal-sparse-5-5-2-2.0", "multinormal-sparse-5-5-2-2.0", ndtri, ndtri),
    ("half_cube-multinormal-sparse-5-5-2-2.0", "multinormal-sparse-5-5-2-2.0",
     lambda a: np.sign(a) * np.abs(a) ** (2 / 3), lambda a: np.sign(a) * np.abs(a) ** (2 / 3)),
    ("asinh-student-identity-3-3-2", "student-identity-3-3-2", np.sinh, np.sinh),
    ("swissroll_x-normal_cdf-1v1-normal-0.75", "normal_cdf-1v1-normal-0.75",
     # t = 21 |p| (the radius grows with t), u = (t / (3 pi / 2) - 1) / 2
     lambda p: ((21 * np.linalg.norm(p, axis=1) / (1.5 * np.pi) - 1) / 2)[:, None],
     lambda a: a),
])
def test_transformed_sample_maps_back_to_the_base_sample(name, base_name, inv_x, inv_y):
    got, base, t, b = _base_and_transformed(name, base_name)
    assert t.truth == b.truth
    np.testing.assert_allclose(inv_x(got["x"]), base["x"], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(inv_y(got["y"]), base["y"], rtol=1e-7, atol=1e-9)


def test_spiral_is_a_norm_preserving_rotation_and_inverts():
    got, base, t, b = _base_and_transformed("spiral-multinormal-sparse-5-5-2-2.0",
                                            "multinormal-sparse-5-5-2-2.0")
    for key, plane in (("x", (0, 1)), ("y", (1, 2))):
        a, z = got[key], base[key]
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), np.linalg.norm(z, axis=1))
        # undo: rotate back by -||x||^2 / d (the norm is unchanged, so the angle is known)
        back = bmi_tasks.spiral(a, plane=plane, speed=-1.0 / 5)
        np.testing.assert_allclose(back, z, atol=1e-12)
        untouched = [i for i in range(5) if i not in plane]
        np.testing.assert_array_equal(a[:, untouched], z[:, untouched])
        assert np.abs(a[:, list(plane)] - z[:, list(plane)]).max() > 0.1


def test_wiggly_maps_are_strictly_increasing_and_applied():
    grid = np.linspace(-12, 12, 200_001)
    for f in (bmi_tasks.wiggly_x, bmi_tasks.wiggly_y):
        assert np.all(np.diff(f(grid)) > 0)
    got, base, _, _ = _base_and_transformed("wiggly-1v1-normal-0.75", "1v1-normal-0.75")
    np.testing.assert_array_equal(got["x"], bmi_tasks.wiggly_x(base["x"]))
    np.testing.assert_array_equal(got["y"], bmi_tasks.wiggly_y(base["y"]))


def test_bimodal_quantiles_invert_the_mixture_cdf_and_map_back():
    u = np.linspace(0.001, 0.999, 999)
    q = bmi_tasks.mixture_quantile(u, weights=(0.3, 0.7), means=(0.0, 5.0))
    cdf = 0.3 * stats.norm.cdf(q) + 0.7 * stats.norm.cdf(q - 5.0)
    np.testing.assert_allclose(cdf, u, atol=1e-13)
    assert np.all(np.diff(q) > 0)
    got, base, t, b = _base_and_transformed("1v1-bimodal-0.75", "1v1-normal-0.75")
    back_x = ndtri(0.3 * stats.norm.cdf(got["x"]) + 0.7 * stats.norm.cdf(got["x"] - 5))
    back_y = ndtri(0.5 * stats.norm.cdf(got["y"] + 1) + 0.5 * stats.norm.cdf(got["y"] - 3))
    np.testing.assert_allclose(back_x, base["x"], atol=1e-6)
    np.testing.assert_allclose(back_y, base["y"], atol=1e-6)
    assert t.truth == b.truth
    # the marginal is the bimodal mixture
    x = tasks.get("1v1-bimodal-0.75").sample(20_000, seed=0, standardize=False)["x"][:, 0]
    mix_cdf = lambda v: 0.3 * stats.norm.cdf(v) + 0.7 * stats.norm.cdf(v - 5)
    assert stats.kstest(x, mix_cdf).pvalue > 1e-3


def test_gaussian_pre_image_mi_matches_truth():
    # the normal-CDF task's pre-image is Gaussian: its sample-covariance MI is the truth
    t = tasks.get("normal_cdf-multinormal-sparse-3-3-2-2.0")
    d = t.sample(100_000, seed=5, standardize=False)
    z = ndtri(np.hstack([d["x"], d["y"]]))
    c = np.corrcoef(z.T)
    mi = 0.5 * (np.linalg.slogdet(c[:3, :3])[1] + np.linalg.slogdet(c[3:, 3:])[1]
                - np.linalg.slogdet(c)[1])
    assert mi == pytest.approx(t.truth, abs=0.01)


# ------------------------------------------------------------------ other families

OTHER = [t.name for t in tasks.all_tasks() if t.family != "bmi"]


def _mc_check(values: np.ndarray, truth: float, truth_error: float = 0.0):
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert abs(values.mean() - truth) < 4 * se + truth_error + 1e-9, (values.mean(), truth, se)


def test_families_and_measures():
    assert tasks.families() == ["bmi", "bmi2", "cmi", "entropy", "highdim", "images", "labels",
                                "staircase"]
    ent = tasks.select(measure="entropy")
    assert {t.family for t in ent} == {"entropy"} and len(ent) == len(
        tasks.select(family="entropy"))
    assert {t.family for t in tasks.select(measure="conditional_mutual_information")} == {"cmi"}
    with pytest.raises(ParameterError, match="no task matches family='cmi', measure='entropy'"):
        tasks.select(family="cmi", measure="entropy")
    assert len(tasks.select(family="bmi,staircase")) == 45


@pytest.mark.parametrize("name", OTHER)
def test_other_families_sampling_is_seeded_and_shaped(name):
    t = tasks.get(name)
    a, b, c = t.sample(60, seed=4), t.sample(60, seed=4), t.sample(60, seed=5)
    assert set(a) == set(t.dims)
    for key, d in t.dims.items():
        assert a[key].shape == (60, d)
        np.testing.assert_array_equal(a[key], b[key])
        if key in t.discrete:
            assert a[key].dtype == np.int64
        else:
            want_dtype = np.float32 if "float32" in t.tags else np.float64
            assert a[key].dtype == want_dtype and np.isfinite(a[key]).all()
            assert not np.array_equal(a[key], c[key])
    want = {("x",): "entropy", ("x", "y"): "mutual_information",
            ("x", "y", "z"): "conditional_mutual_information"}[tuple(sorted(t.dims))]
    assert t.measure == want


# staircase


@pytest.mark.parametrize("level", [2, 4, 6, 8, 10])
def test_staircase_truth_and_correlation(level):
    t = tasks.get(f"staircase-20-20-mi-{level}")
    assert t.dims == {"x": 20, "y": 20} and t.truth == pytest.approx(level, abs=1e-12)
    rho = t.params["rho"]
    cov = np.block([[np.eye(20), rho * np.eye(20)], [rho * np.eye(20), np.eye(20)]])
    assert 0.5 * -np.linalg.slogdet(cov)[1] == pytest.approx(level, abs=1e-10)
    d = t.sample(20_000, seed=0)
    zx = (d["x"] - d["x"].mean(0)) / d["x"].std(0)
    zy = (d["y"] - d["y"].mean(0)) / d["y"].std(0)
    np.testing.assert_allclose((zx * zy).mean(0), rho, atol=5 * (1 - rho ** 2) / np.sqrt(20_000))
    across = (zx[:, :10] * zy[:, 10:]).mean(0)  # different pairs are independent
    assert np.abs(across).max() < 5 / np.sqrt(20_000)


# images


@pytest.mark.parametrize("name", ["images-bumps-mi-1", "images-bumps-mi-4",
                                  "images-rectangles-mi-1", "images-rectangles-mi-4"])
def test_images_are_the_datasets_maps_of_gaussian_latents(name):
    from scipy.special import ndtr

    from infocli import datasets
    from infocli.tasks import images

    t = tasks.get(name)
    assert {"image", "high-dimensional"} <= set(t.tags)
    d = t.sample(100, seed=2)
    zx, zy = images.latent_sample(t, 100, seed=2)
    image = datasets.gaussian_bumps if "bumps" in name else datasets.rectangles
    np.testing.assert_array_equal(d["x"], image(ndtr(zx)))
    np.testing.assert_array_equal(d["y"], image(ndtr(zy)))
    # the truth is the latents' Gaussian MI (rotations do not change it)
    p, k = t.params, t.params["latent_dim"]
    r = p["rho"] * np.eye(k)
    cov = np.block([[np.eye(k), r @ p["rot_y"]], [p["rot_y"].T @ r.T, np.eye(k)]])
    cov = np.block([[p["rot_x"].T, np.zeros((k, k))], [np.zeros((k, k)), np.eye(k)]]) @ cov \
        @ np.block([[p["rot_x"], np.zeros((k, k))], [np.zeros((k, k)), np.eye(k)]])
    mi = 0.5 * -np.linalg.slogdet(cov)[1]
    assert t.truth == pytest.approx(mi, abs=1e-10) == pytest.approx(p["mi"], abs=1e-10)
    for rot in (p["rot_x"], p["rot_y"]):
        np.testing.assert_allclose(rot @ rot.T, np.eye(k), atol=1e-12)


def test_bump_images_are_invertible():
    # log of a bump's column profile is a parabola with vertex at the centre 0.2 + 0.6 u
    from scipy.special import ndtr

    from infocli.tasks import images

    t = tasks.get("images-bumps-mi-4")
    x = t.sample(50, seed=1)["x"].reshape(50, 16, 16)
    zx, _ = images.latent_sample(t, 50, seed=1)
    grid = np.linspace(0, 1, 16)
    cols = np.log(x.sum(axis=1))  # profile along x (sum over rows)
    rows = np.log(x.sum(axis=2))
    for prof, j in ((cols, 0), (rows, 1)):
        a, b, _ = np.polyfit(grid, prof.T, 2)
        np.testing.assert_allclose((-b / (2 * a) - 0.2) / 0.6, ndtr(zx)[:, j], atol=1e-8)


# labels


def _cluster_log_ratio(t, n, seed):
    d = t.sample(n, seed=seed)
    p = t.params
    x, y = d["x"], d["y"][:, 0]
    sq = ((x[:, None, :] - p["means"][None]) ** 2).sum(-1) / (2 * p["sigma"] ** 2)
    logw = np.log(p["weights"])
    from scipy.special import logsumexp

    return -sq[np.arange(n), y] - logsumexp(logw - sq, axis=1)


@pytest.mark.parametrize("name", [t.name for t in tasks.select(family="labels")])
def test_label_truth_by_monte_carlo_in_the_full_dimension(name):
    t = tasks.get(name)
    assert t.discrete == ("y",) and t.dims["y"] == 1 and t.truth_error < 2e-5
    # the full-dimensional log-density ratio also checks the span reduction
    _mc_check(_cluster_log_ratio(t, 60_000, seed=9), t.truth, t.truth_error)
    y = t.sample(20_000, seed=1)["y"][:, 0]
    np.testing.assert_allclose(np.bincount(y) / len(y), t.params["weights"], atol=0.015)


@pytest.mark.parametrize("name", ["labels-1d-2class", "labels-1d-4class-unequal"])
def test_label_truth_1d_by_adaptive_quadrature(name):
    t = tasks.get(name)
    mu, w, s = t.params["means"][:, 0], t.params["weights"], t.params["sigma"]

    def phi(v, m):
        return np.exp(-0.5 * ((v - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))

    def p(v):
        return float(np.sum(w * phi(v, mu)))

    mi = sum(wk * integrate.quad(lambda v, m=m: phi(v, m) * np.log(phi(v, m) / p(v)),
                                 m - 12 * s, m + 12 * s, epsabs=1e-12, limit=200)[0]
             for m, wk in zip(mu, w))
    assert t.truth == pytest.approx(mi, abs=1e-9)


def test_label_mi_is_bounded_by_label_entropy_and_grows_with_separation():
    from infocli.tasks.labels import cluster_mi_quadrature

    w = np.full(3, 1 / 3)
    tri = np.array([[np.cos(a), np.sin(a)] for a in 2 * np.pi * np.arange(3) / 3])
    vals = [cluster_mi_quadrature(r * tri, 1.0, w) for r in (0.0, 0.5, 2.0, 8.0)]
    assert vals[0] == 0.0 and vals[1] < vals[2] < vals[3] < np.log(3)
    assert vals[3] == pytest.approx(np.log(3), abs=1e-3)


# cmi


def test_cmi_hand_values_and_conditional_covariance():
    truth = {t.name: t.truth for t in tasks.select(family="cmi")}
    # collider: X, Y | Z has correlation -(1/2.25) / (1 - 1/2.25) = -0.8
    assert truth["cmi-collider-1-1-1"] == pytest.approx(-0.5 * np.log(1 - 0.64), abs=1e-12)
    assert truth["cmi-chain-1-1-1"] == 0.0 and truth["cmi-chain-3-3-3"] == 0.0
    for name, want in (("cmi-pairs-1-1-1-mi-0.5", 0.5), ("cmi-pairs-3-3-3-mi-1", 1.0),
                       ("cmi-pairs-5-5-5-mi-2", 2.0)):
        assert truth[name] == pytest.approx(want, abs=1e-10)
    for t in tasks.select(family="cmi"):
        cov, dx, dy = t.params["covariance"], t.dims["x"], t.dims["y"]
        a = slice(0, dx + dy)
        zz = slice(dx + dy, None)
        cond = cov[a, a] - cov[a, zz] @ np.linalg.solve(cov[zz, zz], cov[zz, a])
        mi_cond = 0.5 * (np.linalg.slogdet(cond[:dx, :dx])[1]
                         + np.linalg.slogdet(cond[dx:, dx:])[1] - np.linalg.slogdet(cond)[1])
        assert t.truth == pytest.approx(max(mi_cond, 0.0), abs=1e-9), t.name
        if "chain" in t.name:  # the marginal dependence an estimator must not report
            assert t.params["marginal_mi"] > 0.25


def test_cmi_samples_have_the_model_covariance():
    t = tasks.get("cmi-pairs-3-3-3-mi-1")
    d = t.sample(100_000, seed=0)
    cov = np.cov(np.hstack([d["x"], d["y"], d["z"]]).T)
    np.testing.assert_allclose(cov, t.params["covariance"], atol=0.03)


# entropy


def _entropy_mc(t, n=60_000, seed=8):
    return t.sample(n, seed=seed)["x"]


@pytest.mark.parametrize("name", ["entropy-gaussian-2-corr", "entropy-gaussian-20-corr",
                                  "entropy-gaussian-64-corr", "entropy-gaussian-5"])
def test_gaussian_entropy_by_scipy_and_monte_carlo(name):
    t = tasks.get(name)
    cov = t.params["covariance"]
    dist = stats.multivariate_normal(np.zeros(len(cov)), cov)
    assert t.truth == pytest.approx(dist.entropy(), abs=1e-9)
    _mc_check(-dist.logpdf(_entropy_mc(t, n=20_000)), t.truth)


@pytest.mark.parametrize("name", ["entropy-student-1-3", "entropy-student-2-5-corr",
                                  "entropy-student-5-2", "entropy-student-10-4"])
def test_student_entropy_by_scipy_and_monte_carlo(name):
    t = tasks.get(name)
    disp, df = t.params["dispersion"], t.params["df"]
    dist = stats.multivariate_t(np.zeros(len(disp)), disp, df=df)
    assert t.truth == pytest.approx(dist.entropy(), abs=1e-9)
    if len(disp) == 1:
        assert t.truth == pytest.approx(stats.t(df).entropy(), abs=1e-12)
    _mc_check(-dist.logpdf(_entropy_mc(t)), t.truth)


def test_uniform_box_entropy():
    for t in tasks.select("entropy-uniform-*"):
        x, sides = _entropy_mc(t, 20_000), t.params["sides"]
        assert (x >= 0).all() and (x <= sides).all()
        np.testing.assert_allclose(x.max(axis=0), sides, rtol=2e-3)
        assert t.truth == pytest.approx(np.sum(np.log(sides)), abs=1e-12)


def test_cube_of_gaussian_constant_and_monte_carlo():
    from infocli.tasks.entropy import CUBE_GAUSSIAN_PER_DIM

    # h(X^3) = h(X) + E log|3 X^2|, the expectation by quadrature
    f = lambda v: stats.norm.pdf(v) * np.log(3 * v * v)  # log singularity at 0
    e_log = 2 * (integrate.quad(f, 0, 1, limit=200, epsabs=1e-13)[0]
                 + integrate.quad(f, 1, 40, limit=200, epsabs=1e-13)[0])
    assert CUBE_GAUSSIAN_PER_DIM == pytest.approx(0.5 * np.log(2 * np.pi * np.e) + e_log,
                                                  abs=1e-8)
    assert CUBE_GAUSSIAN_PER_DIM == pytest.approx(1.24719, abs=5e-6)
    for d in (1, 5):
        t = tasks.get(f"entropy-cube-gaussian-{d}")
        y = _entropy_mc(t)
        root = np.cbrt(y)  # p_Y(y) = phi(y^(1/3)) / (3 y^(2/3)) per coordinate
        logp = (stats.norm.logpdf(root) - np.log(3 * root ** 2)).sum(axis=1)
        _mc_check(-logp, t.truth)
        assert t.truth == pytest.approx(d * 1.247188, abs=1e-5 * d)


def test_mixture_entropy_1d_by_adaptive_quadrature():
    t = tasks.get("entropy-mixture-1d")
    w, mu = t.params["weights"], t.params["means"][:, 0]
    sd = np.sqrt([c[0, 0] for c in t.params["covariances"]])

    def negplogp(v):
        p = float(np.sum(w * stats.norm.pdf(v, mu, sd)))
        return -p * np.log(p) if p > 0 else 0.0

    h = integrate.quad(negplogp, -20, 20, points=list(mu), limit=400, epsabs=1e-12)[0]
    assert t.truth == pytest.approx(h, abs=1e-9)


@pytest.mark.parametrize("name", ["entropy-mixture-2d", "entropy-mixture-10d-isotropic",
                                  "entropy-mixture-5d"])
def test_mixture_entropy_by_monte_carlo(name):
    t = tasks.get(name)
    p = t.params
    x = _entropy_mc(t, 100_000, seed=3)
    logp = np.log(sum(w * stats.multivariate_normal(m, c).pdf(x)
                      for w, m, c in zip(p["weights"], p["means"], p["covariances"])))
    _mc_check(-logp, t.truth, t.truth_error)
    if name == "entropy-mixture-5d":
        assert 1e-3 < t.truth_error < 1e-2  # the Monte Carlo truth states its error


# ------------------------------------------------------------------ at_dims


def test_at_dims_builds_bmi_style_tasks_at_the_users_dimensions():
    got = {t.name: t for t in tasks.at_dims(4, 6)}
    assert set(got) == {
        "multinormal-dense-4-6-0.5", "multinormal-sparse-4-6-2-2.0", "student-identity-4-6-2",
        "normal_cdf-multinormal-sparse-4-6-2-2.0", "half_cube-multinormal-sparse-4-6-2-2.0",
        "spiral-multinormal-sparse-4-6-2-2.0", "spiral-normal_cdf-multinormal-sparse-4-6-2-2.0",
        "asinh-student-identity-4-6-2"}
    want = 0.5 * (_equicorrelation_logdet(4, 0.5) + _equicorrelation_logdet(6, 0.5)
                  - _equicorrelation_logdet(10, 0.5))
    assert got["multinormal-dense-4-6-0.5"].truth == pytest.approx(want, abs=1e-10)
    assert got["spiral-multinormal-sparse-4-6-2-2.0"].truth == pytest.approx(-np.log(0.36))
    for t in got.values():
        assert t.dims == {"x": 4, "y": 6} and t.sample(30, 0)["y"].shape == (30, 6)
    # 1 x 3 has a single interacting pair and no spiral (it needs dim_x >= 2)
    names = [t.name for t in tasks.at_dims(1, 3)]
    assert "multinormal-sparse-1-3-1-2.0" in names and not any("spiral" in n for n in names)
    assert [t.name for t in tasks.at_dims(1, 1)] == BMI_V1_IDS[:9]
    with pytest.raises(ParameterError, match="dim_y=0"):
        tasks.at_dims(2, 0)
    with pytest.raises(KeyError):  # built on demand, never registered
        tasks._REGISTRY["multinormal-dense-4-6-0.5"]


def test_family_builders_stay_usable_after_registration():
    from infocli.tasks import cmi, entropy, labels, staircase

    assert entropy.gaussian(3).truth == pytest.approx(1.5 * np.log(2 * np.pi * np.e))
    assert entropy.uniform([2.0, 0.5]).truth == pytest.approx(0.0, abs=1e-15)
    assert staircase.gaussian_pairs(4, 3.0).truth == pytest.approx(3.0)
    assert cmi.pairs(2, 0.7).truth == pytest.approx(0.7)
    assert labels.cluster_task("two", [[0.0], [50.0]]).truth == pytest.approx(np.log(2))
