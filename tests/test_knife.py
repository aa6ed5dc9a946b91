"""KNIFE: closed forms, the held-out protocol, save/load, determinism, the torch
module (exact density, gradients) and bad input. Small seeded fits (few
kernels, few epochs) keep the file fast."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import infocli
from infocli.errors import EstimationError, InputError, ParameterError
from infocli.torch import (KNIFE, KNIFEMI, ClassConditionalKNIFE, ConditionalKNIFE, fit_mixture,
                           select_mixture)

from conftest import gaussian_pair

LOG_2PIE = math.log(2 * math.pi * math.e)
FAST = {"n_kernels": 8, "max_epochs": 40, "batch_size": 256, "patience": 3}


def knife_h(x, **kw):
    return infocli.entropy(x, estimator="knife", params={**FAST, **kw.pop("params", {})}, **kw)


# --------------------------------------------------------------------------- closed forms


def test_gaussian_entropy_matches_closed_form(rng):
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    x = rng.multivariate_normal([1.0, -3.0], cov, size=4000)
    truth = LOG_2PIE + 0.5 * math.log(np.linalg.det(cov))
    est = knife_h(x, seed=0)
    assert est.measure == "entropy" and est.estimator == "knife"
    assert abs(est.value - truth) < 0.1
    assert 0.01 < est.stderr < 0.06  # std(-log f) / sqrt(800 test rows)


def test_uniform_entropy_close_to_closed_form(rng):
    x = rng.uniform(0.0, 2.0, size=(4000, 2))
    truth = 2 * math.log(2.0)
    est = knife_h(x, seed=0, params={"n_kernels": 32})
    # a Gaussian mixture smooths the box edges: a cross-entropy, so biased upwards
    assert truth - 3 * est.stderr < est.value < truth + 0.2


def test_entropy_scale_is_added_back(rng):
    x = rng.standard_normal((3000, 2))
    a = knife_h(x, seed=3).value
    b = knife_h(100.0 * x, seed=3).value
    assert b - a == pytest.approx(2 * math.log(100.0), abs=1e-4)


def test_mi_of_correlated_gaussians(rng):
    x, y, truth = gaussian_pair(rng, 4000, 2, 0.8)
    est = infocli.mutual_information(x, y, estimator="knife", seed=0, params=FAST)
    assert abs(est.value - truth) < 0.15
    three = infocli.mutual_information(x, y, estimator="knife", seed=0,
                                       params={**FAST, "mi_form": "three_entropies"})
    assert abs(three.value - truth) < 0.2
    assert set(three.details["fits"]) == {"H(x)", "H(y)", "H(x,y)"}


def test_mi_with_labels_and_independent_data(rng):
    labels = rng.integers(0, 3, 2000)
    x = rng.standard_normal((2000, 2)) + 4.0 * labels[:, None]
    est = infocli.mutual_information(x, labels, discrete_y=True, estimator="knife", seed=0,
                                     params=FAST)
    assert abs(est.value - math.log(3)) < 0.1  # well separated clusters: I = H(Y)
    noise = infocli.mutual_information(x, rng.permutation(labels), discrete_y=True,
                                       estimator="knife", seed=0, params=FAST)
    assert abs(noise.value) < 0.08


def test_conditional_entropy_discrete_given(rng):
    z = rng.integers(0, 3, 4500)
    sd = np.array([0.5, 1.0, 2.0])
    x = 5.0 * z[:, None] + sd[z][:, None] * rng.standard_normal((4500, 2))
    truth = float(np.mean([LOG_2PIE + 2 * math.log(s) for s in sd]))
    est = infocli.entropy(x, given=z, discrete_given=True, estimator="knife", seed=0,
                          params=FAST)
    assert est.measure == "conditional_entropy"
    assert abs(est.value - truth) < 0.1
    assert est.details["classes"] == {"z": 3}


def test_conditional_entropy_continuous_given(rng):
    x, z, _ = gaussian_pair(rng, 4000, 1, 0.9)
    truth = 0.5 * LOG_2PIE + 0.5 * math.log(1 - 0.81)
    est = infocli.entropy(x, given=z, estimator="knife", seed=0, params=FAST)
    assert abs(est.value - truth) < 0.1


# --------------------------------------------------------------------------- protocol


def test_estimate_uses_held_out_rows_only(rng, tmp_path):
    x = rng.standard_normal((2000, 2))
    out = tmp_path / "ps.npy"
    est = knife_h(x, seed=5, params={"per_sample": str(out)})
    d = est.details
    assert (d["n_train"], d["n_validation"], d["n_test"]) == (1400, 200, 400)
    log_f = np.load(out)
    tested = ~np.isnan(log_f)
    assert tested.sum() == 400
    assert -log_f[tested].mean() == pytest.approx(est.value, abs=1e-12)

    # changing the training rows' values changes neither which rows are tested
    # nor how many; the split depends on the seed and n only
    x2 = x.copy()
    x2[~tested] *= 1.5
    out2 = tmp_path / "ps2.npy"
    knife_h(x2, seed=5, params={"per_sample": str(out2)})
    assert np.array_equal(~np.isnan(np.load(out2)), tested)


def test_save_and_load_give_identical_values(rng, tmp_path):
    x, y, _ = gaussian_pair(rng, 2000, 2, 0.6)
    model, ps = tmp_path / "m.pt", tmp_path / "ps.npy"
    fitted = infocli.mutual_information(x, y, estimator="knife", seed=1,
                                        params={**FAST, "save_model": str(model),
                                                "per_sample": str(ps)})
    test = ~np.isnan(np.load(ps))
    again = infocli.mutual_information(x[test], y[test], estimator="knife",
                                       params={"model": str(model)})
    assert again.value == pytest.approx(fitted.value, abs=1e-12)
    assert again.stderr == pytest.approx(fitted.stderr, abs=1e-12)
    assert again.details["n_test"] == test.sum() and again.details["model"] == str(model)
    saved = torch.load(model, weights_only=True)
    assert saved["format"] == "infocli-knife" and saved["variables"]["x"]["dims"] == 2


def test_save_and_load_with_labels(rng, tmp_path):
    z = np.array(["a", "b"])[rng.integers(0, 2, 2000)]
    x = rng.standard_normal((2000, 2)) + (z == "b")[:, None] * 3.0
    model = tmp_path / "m.pt"
    infocli.entropy(x, given=z, estimator="knife", seed=0,
                    params={**FAST, "save_model": str(model)})
    only_b = z == "b"  # new data holding one class only: codes must be mapped by label
    est_b = infocli.entropy(x[only_b], given=z[only_b], estimator="knife",
                            params={"model": str(model)})
    assert abs(est_b.value - LOG_2PIE) < 0.15
    with pytest.raises(InputError, match="class 'c' was not seen"):
        infocli.entropy(x[:10], given=np.array(["c"] * 10), estimator="knife",
                        params={"model": str(model)})


def test_same_seed_same_value(rng):
    x = rng.standard_normal((1500, 3))
    a, b = knife_h(x, seed=7), knife_h(x, seed=7)
    assert a.value == b.value and a.stderr == b.stderr
    assert knife_h(x, seed=8).value != a.value


def test_permutations_do_not_write_files(rng, tmp_path):
    x, y, _ = gaussian_pair(rng, 600, 1, 0.5)
    ps = tmp_path / "ps.npy"
    fast = {**FAST, "max_epochs": 3, "per_sample": str(ps)}
    est = infocli.mutual_information(x, y, estimator="knife", seed=0, permutations=2,
                                     params=fast)
    plain = infocli.mutual_information(x, y, estimator="knife", seed=0, params=fast)
    assert est.value == plain.value  # the file and the value come from the real fit
    assert np.nanmean(np.load(ps)) == pytest.approx(plain.value, abs=1e-12)


# --------------------------------------------------------------------------- the torch modules


def _precision(model: KNIFE) -> torch.Tensor:
    a = model.precision_factors()
    return a.transpose(1, 2) @ a


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_log_prob_is_the_gaussian_mixture(covariance):
    g = torch.Generator().manual_seed(0)
    model = KNIFE(4, 3, covariance=covariance, init_std=0.5, generator=g)
    with torch.no_grad():
        model.logits.copy_(torch.tensor([0.3, -1.0, 0.5]))
    x = torch.randn(50, 4, generator=g)
    comps = torch.distributions.MultivariateNormal(model.means, precision_matrix=_precision(model))
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=model.logits), comps)
    assert torch.allclose(model.log_prob(x), mix.log_prob(x), atol=1e-4)


def test_conditional_modules_are_normalised_mixtures():
    g = torch.Generator().manual_seed(1)
    cond = ConditionalKNIFE(2, 3, 4, hidden=8, init_std=0.3, generator=g)
    y = torch.randn(1, 3, generator=g).expand(40000, 3)
    x = 6 * torch.rand(40000, 2, generator=g) - 3
    # integral of f(x|y) over [-3, 3]^2 by Monte Carlo ~ 1 (kernels near 0, bandwidth ~1)
    with torch.no_grad():
        mass = cond.log_prob(x, y).exp().mean() * 36
    assert 0.9 < float(mass) < 1.02
    cls = ClassConditionalKNIFE(2, 2, 3, generator=g)
    labels = torch.tensor([0, 1, 1, 0])
    pts = torch.randn(4, 2, generator=g)
    expected = torch.stack([cls.kernels[int(c)].log_prob(p[None])[0] for p, c in zip(pts, labels)])
    assert torch.allclose(cls.log_prob(pts, labels), expected)


def test_gradients_flow_through_knife():
    g = torch.Generator().manual_seed(2)
    model = KNIFE(3, 5, generator=g, init_samples=torch.randn(20, 3, generator=g))
    x = torch.randn(16, 3, generator=g, requires_grad=True)
    model(x).backward()
    assert x.grad is not None and torch.all(torch.isfinite(x.grad)) and x.grad.abs().sum() > 0
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert not model.logits.requires_grad or model.logits.grad is not None
    uniform = KNIFE(3, 5, weights="uniform")
    assert not uniform.logits.requires_grad


def test_knife_mi_is_a_differentiable_loss():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(64, 2, generator=g, requires_grad=True)
    s = torch.randint(0, 2, (64,), generator=g)
    mi = KNIFEMI(2, n_classes=2, n_kernels=4)
    value = infocli.torch.knife_mi(mi, z, s)
    value.backward()
    assert z.grad is not None and torch.all(torch.isfinite(z.grad))
    mi.kernel_loss(z.detach(), s).backward()
    assert all(p.grad is not None for p in mi.parameters() if p.requires_grad)
    cont = KNIFEMI(2, y_dim=3, cond_kernels=2, hidden=4)
    assert torch.isfinite(cont(z, torch.randn(64, 3, generator=g)))
    with pytest.raises(ParameterError, match="exactly one"):
        KNIFEMI(2)


def test_fit_returns_self_and_lowers_the_loss():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(800, 2, generator=g) * torch.tensor([3.0, 0.5])
    model = KNIFE(2, 4, init_samples=x, generator=g)
    before = float(model(x).detach())
    assert model.fit(x, x_val=x[:200], max_epochs=15, generator=g) is model
    assert float(model(x).detach()) < before - 0.1
    assert model.epochs_run_ >= 1 and len(model.history_) == model.epochs_run_


# --------------------------------------------------------------------------- bad input


def test_too_few_rows_for_the_split():
    with pytest.raises(InputError, match="test rows"):
        knife_h(np.random.default_rng(0).standard_normal((4, 2)))
    z = np.array([0] * 50 + [1, 1])
    x = np.random.default_rng(0).standard_normal((52, 1))
    with pytest.raises(InputError, match="class 1.*has 2 rows: too few"):
        infocli.entropy(x, given=z, discrete_given=True, estimator="knife",
                        params={"test_fraction": 0.5, "val_fraction": 0.4})


@pytest.mark.parametrize("params, match", [
    ({"covariance": "banded"}, "covariance='banded'"),
    ({"lr": 0}, "lr=0"),
    ({"n_kernels": 0}, "n_kernels=0"),
    ({"n_kernels": "many"}, "n_kernels='many'"),
    ({"val_fraction": 0.0}, "init=em chooses"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, "leaves no training rows"),
    ({"bandwidth": 1}, "no parameter 'bandwidth'"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ParameterError, match=match):
        knife_h(np.random.default_rng(0).standard_normal((100, 1)), params=params)


def test_three_entropies_refuses_labels(rng):
    with pytest.raises(ParameterError, match="three_entropies needs a continuous y"):
        infocli.mutual_information(rng.standard_normal((100, 1)), rng.integers(0, 2, 100),
                                   discrete_y=True, estimator="knife",
                                   params={"mi_form": "three_entropies"})


def test_non_finite_loss_names_the_learning_rate(rng):
    x = rng.standard_normal((300, 2)) * 1e3
    with pytest.raises(EstimationError, match=r"lower the learning rate \(lr=1e\+30"):
        knife_h(x, params={"lr": 1e30, "max_epochs": 5})


def test_model_file_errors(rng, tmp_path):
    model = tmp_path / "m.pt"
    knife_h(rng.standard_normal((500, 2)), params={"save_model": str(model), "max_epochs": 2})
    with pytest.raises(InputError, match="fitted on 2 columns of x .* has 3"):
        infocli.entropy(rng.standard_normal((50, 3)), estimator="knife",
                        params={"model": str(model)})
    with pytest.raises(InputError, match="estimates entropy, not mutual information"):
        infocli.mutual_information(rng.standard_normal((50, 2)), rng.standard_normal((50, 1)),
                                   estimator="knife", params={"model": str(model)})
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for bad in (other, text, tmp_path / "missing.pt"):
        with pytest.raises(InputError, match="not a KNIFE model|no such file"):
            infocli.entropy(rng.standard_normal((50, 2)), estimator="knife",
                            params={"model": str(bad)})


def _two_class_truth(shift: float) -> float:
    """I(X;Y) for Y ~ Bernoulli(1/2), X | Y ~ N(shift * Y, 1) (one informative
    coordinate), by adaptive quadrature."""
    from scipy.integrate import quad
    from scipy.stats import norm

    def integrand(x):
        f0, f1 = norm.pdf(x), norm.pdf(x - shift)
        m = 0.5 * (f0 + f1)
        return 0.5 * (f0 * np.log(f0 / m) + f1 * np.log(f1 / m))

    return quad(integrand, -12, 12 + shift, limit=200)[0]


@pytest.mark.parametrize("form", ["pooled", "difference"])
def test_mi_with_labels_matches_quadrature(rng, form):
    n = 6000
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 3))
    x[:, 0] += 1.5 * y
    truth = _two_class_truth(1.5)  # 0.2215 nats
    est = infocli.mutual_information(x, y, discrete_y=True, estimator="knife", seed=0,
                                     params={**FAST, "mi_form": form})
    assert est.details["mi_form"] == form
    assert abs(est.value - truth) < 0.05 + 3 * est.stderr


def test_pooled_form_is_default_for_labels_and_never_exceeds_label_entropy(rng):
    # a hard, nearly degenerate representation (a thin curve in 3-D): the pooled
    # estimate is mean log p(y|x) + H(Y) on the test rows, so it cannot exceed H(Y)
    n = 3000
    y = rng.integers(0, 3, n)
    u = rng.standard_normal(n) + 0.5 * y
    x = np.column_stack([u, np.sin(3 * u), 1e-3 * rng.standard_normal(n)]) * [50.0, 80.0, 1.0]
    est = infocli.mutual_information(x, y, discrete_y=True, estimator="knife", seed=0,
                                     params=FAST)
    assert est.details["mi_form"] == "pooled"
    p = np.bincount(y) / n
    h_y = float(-(p * np.log(p)).sum())
    assert est.value <= h_y + 0.01
    cont = infocli.mutual_information(x, u, estimator="knife", seed=0, params=FAST)
    assert cont.details["mi_form"] == "joint"


def test_pooled_form_refuses_continuous_y(rng):
    with pytest.raises(ParameterError, match="mi_form=pooled needs class labels"):
        infocli.mutual_information(rng.standard_normal((100, 1)), rng.standard_normal(100),
                                   estimator="knife", params={"mi_form": "pooled"})


# --------------------------------------------------------------------------- capacity from n and d


def test_twenty_by_twenty_gaussian_is_never_negative_with_defaults(rng):
    # n = 2,000 rows in 40 dimensions: 128 full kernels (the old default) overfit
    # into a negative MI; the capacity chosen on validation rows must not
    x, y, truth = gaussian_pair(rng, 2000, 20, 0.3)
    est = infocli.mutual_information(x, y, estimator="knife", seed=0)
    assert est.details["mi_form"] == "joint"
    assert truth / 1.5 < est.value < truth + 3 * est.stderr  # held-out: biased low, not high


@pytest.mark.slow
def test_twenty_by_twenty_independent_gaussians_give_about_zero(rng):
    x = rng.standard_normal((2000, 20))
    est = infocli.mutual_information(x, rng.standard_normal((2000, 20)), estimator="knife",
                                     seed=0)
    assert abs(est.value) < 0.05


def _blobs(rng, n):
    """Eight well separated blobs on a circle in 2-D: more kernels pay as n grows."""
    centre = rng.integers(0, 8, n)
    angle = 2 * np.pi * centre / 8
    return np.column_stack([np.cos(angle), np.sin(angle)]) * 6 + 0.5 * rng.standard_normal((n, 2))


def test_capacity_choice_is_deterministic_for_a_seed(rng):
    x = _blobs(rng, 1000)
    fast = {"max_epochs": 2, "covariance": "full"}
    a = infocli.entropy(x, estimator="knife", seed=3, params=fast)
    b = infocli.entropy(x, estimator="knife", seed=3, params=fast)
    assert a.details["capacity"] == b.details["capacity"] and a.value == b.value
    chosen = a.details["capacity"]["H(x)"]
    best = max(chosen["candidates"], key=lambda c: c["validation_log_lik"])
    assert (best["covariance"], best["n_kernels"]) == (chosen["covariance"], chosen["n_kernels"])


def test_capacity_grows_with_n(rng):
    # 8 blobs: 120 rows (84 for training) allow 84 / (2 * 10) = 4 kernels at most,
    # 4,000 rows let the validation likelihood ask for all eight blobs
    small = infocli.entropy(_blobs(rng, 120), estimator="knife", seed=0,
                            params={"max_epochs": 2, "covariance": "full"})
    large = infocli.entropy(_blobs(rng, 4000), estimator="knife", seed=0,
                            params={"max_epochs": 2, "covariance": "full"})
    m_small = small.details["capacity"]["H(x)"]["n_kernels"]
    m_large = large.details["capacity"]["H(x)"]["n_kernels"]
    assert m_small <= 4 and max(c["n_kernels"] for c in
                                small.details["capacity"]["H(x)"]["candidates"]) <= 4
    assert m_large >= 8
    # the blobs' entropy: log 8 + h(N(0, 0.25 I_2)) when they do not overlap
    truth = math.log(8) + LOG_2PIE + 2 * math.log(0.5)
    assert abs(large.value - truth) < 0.1


def test_kernel_cap_follows_the_dimension():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(700, 50, dtype=torch.float64, generator=g)
    _, tried = select_mixture([x[:600]], [x[600:]], covariance="diag", generator=g)
    assert max(c["n_kernels"] for c in tried) <= 600 // 100  # 2 max(d, 10) rows per kernel


def test_mixture_knife_and_its_marginal_are_exact():
    from scipy.stats import multivariate_normal

    g = torch.Generator().manual_seed(1)
    x = torch.randn(1500, 3, dtype=torch.float64, generator=g) @ torch.tensor(
        [[1.0, 0.6, 0.0], [0.0, 1.0, -0.4], [0.0, 0.0, 0.7]], dtype=torch.float64)
    mix = fit_mixture(x, 3, covariance="full", shrinkage=2.0, generator=g)
    module = KNIFE.from_mixture(mix)
    covs = (mix["scale"] @ mix["scale"].transpose(1, 2)).numpy()
    w, mu = mix["weights"].numpy(), mix["means"].numpy()
    pts = x[:20].numpy()

    def reference(idx):
        return np.log(sum(w[k] * multivariate_normal(mu[k, idx], covs[k][np.ix_(idx, idx)])
                          .pdf(pts[:, idx]) for k in range(3)))

    got = module.log_prob(x[:20].float()).detach().double().numpy()
    assert np.allclose(got, reference([0, 1, 2]), atol=1e-4)
    marginal = module.marginal([0, 2])
    got = marginal.log_prob(x[:20, [0, 2]].float()).detach().double().numpy()
    assert marginal.dim == 2 and np.allclose(got, reference([0, 2]), atol=1e-4)


def test_joint_form_saves_its_marginals(rng, tmp_path):
    x, y, truth = gaussian_pair(rng, 1500, 2, 0.7)
    model = tmp_path / "joint.pt"
    est = infocli.mutual_information(x, y, estimator="knife", seed=2,
                                     params={"max_epochs": 3, "save_model": str(model)})
    assert abs(est.value - truth) < 0.15
    saved = torch.load(model, weights_only=True)
    assert saved["mi_form"] == "joint" and set(saved["components"]) == {"xy", "x", "y"}
    again = infocli.mutual_information(x, y, estimator="knife", params={"model": str(model)})
    assert again.details["mi_form"] == "joint" and abs(again.value - truth) < 0.15


def test_paper_start_keeps_a_fixed_capacity(rng):
    x = rng.standard_normal((800, 2))
    est = infocli.entropy(x, estimator="knife", seed=0, params={"init": "data", "max_epochs": 30,
                                                                 "batch_size": 64,
                                                                 "n_kernels": 8})
    assert "capacity" not in est.details
    assert abs(est.value - LOG_2PIE) < 0.15
