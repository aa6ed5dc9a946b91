"""Training-side tools: sound losses (KNIFE MI regulariser, ReMINE), the SSGE
self-check, and the dse check option."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import infocli
import infocli.torch as B
from conftest import labelled_blobs
from infocli.torch import KNIFEMI


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- KNIFE MI regulariser -------------------------------------------------------------
def test_init_labels_start_each_class_at_its_rows():
    # z = 5 + N(0, I) independent of s: every form starts near the truth 0 (the
    # conditionals used to start at the origin: -49.8 nats)
    g = torch.Generator().manual_seed(0)
    z = 5 + torch.randn(500, 4, generator=g)
    s = torch.randint(0, 2, (500,), generator=g)
    torch.manual_seed(0)
    zs = (z - z.mean(0)) / z.std(0, unbiased=False)  # what the densities see
    for form in ("posterior", "pooled", "difference"):
        mi = KNIFEMI(4, n_classes=2, init_samples=z, init_labels=s, form=form)
        for c in range(2):
            means = mi.conditional.kernels[c].means.detach()
            own = zs[s == c]
            # each kernel mean is one of the class's own rows
            assert (means[:, None] - own[None]).abs().amax(2).min(1).values.max() < 1e-6
        with torch.no_grad():
            assert abs(float(mi(z, s))) < 0.1, form
    # without labels every class starts at all rows, never at the origin
    mi = KNIFEMI(4, n_classes=2, init_samples=z, form="difference", standardize=False)
    assert float(mi.conditional.kernels[1].means.detach().mean()) == pytest.approx(5.0, abs=0.3)
    with pytest.raises(infocli.InputError, match="500 rows but init_labels has 3"):
        KNIFEMI(4, n_classes=2, init_samples=z, init_labels=s[:3])
    with pytest.raises(infocli.ParameterError, match="init_labels is for class labels"):
        KNIFEMI(4, y_dim=1, init_samples=z, init_labels=s)
    with pytest.raises(infocli.ParameterError, match="form='bad'"):
        KNIFEMI(4, n_classes=2, form="bad")


def test_posterior_form_equals_the_kl_of_posterior_to_prior():
    # an independent computation from the class densities
    g = torch.Generator().manual_seed(1)
    z = torch.randn(60, 2, generator=g)
    s = torch.tensor([0] * 20 + [1] * 40)
    torch.manual_seed(1)
    mi = KNIFEMI(2, n_classes=3, n_kernels=3, init_samples=z, init_labels=s, init_std=0.3,
                 standardize=False)
    with torch.no_grad():
        lp = torch.stack([mi.conditional.kernels[c].log_prob(z) for c in range(2)], 1).double()
        prior = torch.tensor([20 / 60, 40 / 60], dtype=torch.float64)
        post = prior * lp.exp() / (prior * lp.exp()).sum(1, keepdim=True)
        kl = (post * (post / prior).log()).sum(1).mean()
        assert float(mi(z, s)) == pytest.approx(float(kl), rel=1e-4, abs=1e-6)
        pooled = (post.gather(1, s[:, None]).squeeze(1) / prior[s]).log().mean()
        mi.form = "pooled"
        assert float(mi(z, s)) == pytest.approx(float(pooled), rel=1e-4, abs=1e-6)
        # KL <= H(Y): the plug-in entropy of the batch's labels
        mi.form = "posterior"
        assert 0 <= float(mi(3 * z, s)) <= -(prior * prior.log()).sum() + 1e-6


def test_posterior_form_with_continuous_y_is_between_0_and_log_b():
    # the value reads the labels only through the fitted densities (I = E_x KL(p(y|x) ||
    # p(y))), so the independent case is a density fitted on shuffled pairs; scored on
    # a held-out batch of 64
    g = torch.Generator().manual_seed(2)
    y = torch.randn(576, 1, generator=g)
    z = torch.cat([y + 0.1 * torch.randn(576, 1, generator=g),
                   torch.randn(576, 1, generator=g)], 1)

    def fitted(y_all):
        torch.manual_seed(2)
        mi = KNIFEMI(2, y_dim=1, cond_kernels=2, hidden=8, init_samples=z)
        opt = torch.optim.Adam(mi.parameters(), lr=2e-2)
        for _ in range(150):
            opt.zero_grad()
            mi.kernel_loss(z[64:], y_all[64:]).backward()
            opt.step()
        with torch.no_grad():
            return float(mi(z[:64], y_all[:64]))

    dependent = fitted(y)
    independent = fitted(y[torch.randperm(576, generator=g)])
    assert 0 <= independent < 0.2 and 1.5 < dependent <= math.log(64)


def _adversarial_run(form: str, seed: int, standardize: bool = True) -> tuple[float, float]:
    """A linear encoder of data independent of s minimises the MI term alone (the
    kernels refit each step): the lowest epoch-average of the term and the code's SD."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = torch.randn(600, 4, generator=g)
    s = torch.randint(0, 2, (600,), generator=g)
    enc = torch.nn.Linear(4, 4)
    mi = KNIFEMI(4, n_classes=2, n_kernels=8, init_samples=enc(x).detach(), init_labels=s,
                 form=form, standardize=standardize)
    opt_net = torch.optim.Adam(enc.parameters(), lr=1e-2)
    opt_mi = torch.optim.Adam(mi.parameters(), lr=1e-2)
    averages = []
    for _ in range(8):
        values = []
        for idx in torch.randperm(600, generator=g).split(100):
            z = enc(x[idx])
            opt_mi.zero_grad()
            mi.kernel_loss(z.detach(), s[idx]).backward()
            opt_mi.step()
            value = mi(z, s[idx])
            opt_net.zero_grad()
            value.backward()
            opt_net.step()
            values.append(value.item())
        averages.append(sum(values) / len(values))
    return min(averages), float(enc(x).detach().std())


def test_regulariser_cannot_be_fooled_below_zero():
    # true I(Z;S) = 0 for every encoder; the paper's difference form is driven
    # below it by the network, the default posterior form never is
    lowest, _ = _adversarial_run("posterior", 0)
    assert lowest >= -1e-6
    fooled, _ = _adversarial_run("difference", 0, standardize=False)
    assert fooled < -0.1


def test_fit_kernels_is_the_documented_loop():
    g = torch.Generator().manual_seed(4)
    z = torch.randn(100, 2, generator=g, requires_grad=True)
    s = torch.randint(0, 2, (100,), generator=g)
    torch.manual_seed(4)
    a = KNIFEMI(2, n_classes=2, n_kernels=3, init_samples=z.detach(), init_labels=s)
    torch.manual_seed(4)
    b = KNIFEMI(2, n_classes=2, n_kernels=3, init_samples=z.detach(), init_labels=s)
    opt_a = torch.optim.Adam(a.parameters(), lr=1e-2)
    opt_b = torch.optim.Adam(b.parameters(), lr=1e-2)
    last = a.fit_kernels(z, s, opt_a, steps=3)
    for _ in range(3):
        opt_b.zero_grad()
        loss = b.kernel_loss(z.detach(), s)
        loss.backward()
        opt_b.step()
    assert last == pytest.approx(float(loss.detach()))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert z.grad is None  # the network's codes get no gradient from the kernel fit
    with pytest.raises(infocli.ParameterError, match="steps=0"):
        a.fit_kernels(z, s, opt_a, steps=0)


def test_standardised_regulariser_ignores_the_codes_scale():
    # I(Z;S) is unchanged by affine maps of each coordinate of Z; with standardize
    # (the default) so is the regulariser's value, so inflating the code buys nothing
    g = torch.Generator().manual_seed(3)
    s = torch.randint(0, 2, (200,), generator=g)
    z = torch.randn(200, 3, generator=g) + 1.5 * s[:, None]
    torch.manual_seed(3)
    mi = KNIFEMI(3, n_classes=2, n_kernels=4, init_samples=z, init_labels=s)
    scale, shift = torch.tensor([30.0, 0.1, 4.0]), torch.tensor([5.0, -2.0, 0.0])
    with torch.no_grad():
        base = float(mi(z, s))
        assert base > 0.05
        assert float(mi(z * scale + shift, s)) == pytest.approx(base, rel=1e-5)
        assert float(mi.kernel_loss(z * scale + shift, s)) == pytest.approx(
            float(mi.kernel_loss(z, s)), rel=1e-5)
    raw = KNIFEMI(3, n_classes=2, n_kernels=4, init_samples=z, init_labels=s,
                  standardize=False)
    with torch.no_grad():
        assert abs(float(raw(z * scale + shift, s)) - float(raw(z, s))) > 0.01
    with pytest.raises(infocli.InputError, match="batches of >= 2 rows"):
        mi(z[:1], s[:1])


# -- batch KDE regulariser ----------------------------------------------------------------
def _loop_kde_mi(z: np.ndarray, s: np.ndarray, h: float, factors, whiten: bool,
                 n_queries: int | None = None) -> float:
    """The leave-one-out KDE posterior KL written out row by row in NumPy (float64)."""
    z = np.asarray(z, dtype=np.float64)
    if whiten:
        zc = z - z.mean(0)
        chol = np.linalg.cholesky(zc.T @ zc / len(z))
        z = np.linalg.solve(chol, zc.T).T
    m = len(z)
    n = m if n_queries is None else n_queries
    classes = range(int(s.max()) + 1)
    total = 0.0
    for f in factors:
        for i in range(n):
            w = {j: math.exp(-np.sum((z[i] - z[j]) ** 2) / (2 * (f * h) ** 2))
                 for j in range(m) if j != i}
            norm = sum(w.values())
            for c in classes:
                q = sum(v for j, v in w.items() if s[j] == c) / norm
                p = (np.sum(s == c) - (s[i] == c)) / (m - 1)
                if q > 0:
                    total += q * math.log(q / p) / (n * len(factors))
    return total


@pytest.mark.parametrize("whiten", [True, False])
def test_batch_kde_mi_matches_a_row_by_row_computation(whiten):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((9, 2)) * [1.0, 3.0] + [[0.0, 0.0]] * 9
    z[:, 1] += 0.8 * z[:, 0]  # correlated coordinates: whitening differs from scaling
    s = np.array([0, 1, 2, 0, 1, 2, 0, 0, 1])
    h = 9 ** (-1 / 6)  # Scott's rule for n = 9, d = 2
    factors = (0.5, 1.0, 2.0)
    got = B.batch_kde_mi(torch.tensor(z), torch.tensor(s),
                         standardize="whiten" if whiten else False)
    assert float(got) == pytest.approx(_loop_kde_mi(z, s, h, factors, whiten), rel=1e-4)
    # rows 6..8 as reference kernels: queries are rows 0..5 only, h from all 9 rows
    got = B.batch_kde_mi(torch.tensor(z[:6]), torch.tensor(s[:6]),
                         reference=(torch.tensor(z[6:]), torch.tensor(s[6:])),
                         standardize="whiten" if whiten else False)
    assert float(got) == pytest.approx(_loop_kde_mi(z, s, h, factors, whiten, n_queries=6),
                                       rel=1e-4)
    # a fixed bandwidth and one factor
    got = B.batch_kde_mi(torch.tensor(z), torch.tensor(s), bandwidth=0.7, factors=(1.0,),
                         standardize=False)
    assert float(got) == pytest.approx(_loop_kde_mi(z, s, 0.7, (1.0,), False), rel=1e-4)


def _independent(seed: int, n: int = 128, d: int = 4):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, 2, (n,), generator=g)


def test_batch_kde_mi_is_small_at_independence_and_large_with_dependence():
    raw, debiased, dep_raw, dep_debiased = [], [], [], []
    g = torch.Generator().manual_seed(0)
    for seed in range(20):
        z, s = _independent(seed)
        raw.append(float(B.batch_kde_mi(z, s)))
        debiased.append(float(B.batch_kde_mi(z, s, permutations=4, generator=g)))
        shifted = z + 2.0 * s[:, None].float() * torch.tensor([1.0, 0, 0, 0])
        dep_raw.append(float(B.batch_kde_mi(shifted, s)))
        dep_debiased.append(float(B.batch_kde_mi(shifted, s, permutations=4, generator=g)))
    # the measured bias of the raw value at B = 128 (docs/estimators/knife.md): 0.16
    assert 0.13 < np.mean(raw) < 0.19
    assert abs(np.mean(debiased)) < 0.005
    assert min(debiased) > -0.03
    # one coordinate shifted by 2 s (I(Z;S) about 0.3 nats; the KDE reads much less
    # than the truth, but clearly more than at independence)
    assert np.mean(dep_raw) > np.mean(raw) + 0.08
    assert np.mean(dep_debiased) > 0.08
    assert min(dep_debiased) > 0.03


def test_batch_kde_mi_cannot_be_driven_negative():
    # independent labels; one class's codes scaled or shifted arbitrarily: the raw
    # value is a mean of KL divergences (>= 0), the debiased value stays near or above 0
    z, s = _independent(1, n=64)
    g = torch.Generator().manual_seed(1)
    ones = (s == 1)[:, None]
    for scale in (1e-3, 0.1, 10.0, 1e3):
        for shift in (0.0, 5.0):
            bent = torch.where(ones, z * scale + shift, z)
            assert float(B.batch_kde_mi(bent, s)) >= 0.0
            assert float(B.batch_kde_mi(bent, s, standardize=True)) >= 0.0
            assert float(B.batch_kde_mi(bent, s, permutations=4, generator=g)) > -0.03
    # free codes minimising the raw value by gradient descent: it falls, never below 0
    codes = z.clone().requires_grad_(True)
    start = float(B.batch_kde_mi(codes.detach(), s))
    for _ in range(40):
        value = B.batch_kde_mi(codes, s)
        (grad,) = torch.autograd.grad(value, codes)
        with torch.no_grad():  # steps of 0.05 (in code units) for the fastest-moving row
            codes -= 0.05 * grad / grad.abs().max()
        assert float(value.detach()) >= 0.0
    assert float(B.batch_kde_mi(codes.detach(), s)) < 0.5 * start


def test_batch_kde_mi_is_affine_invariant_and_checks_its_input():
    g = torch.Generator().manual_seed(2)
    s = torch.randint(0, 2, (100,), generator=g)
    z = torch.randn(100, 3, generator=g, dtype=torch.float64) + 0.8 * s[:, None]
    a = torch.tensor([[2.0, 0.5, 0.0], [0.0, 30.0, -1.0], [0.3, 0.0, 0.1]], dtype=torch.float64)
    base = float(B.batch_kde_mi(z, s))
    assert base > 0.2
    # whitening (the default): any invertible affine map; per coordinate: scalings only
    assert float(B.batch_kde_mi(z @ a + 4.0, s)) == pytest.approx(base, rel=1e-3)
    per = float(B.batch_kde_mi(z, s, standardize=True))
    assert float(B.batch_kde_mi(z * torch.tensor([9.0, 0.2, 1.0], dtype=torch.float64) - 1.0, s,
                                standardize=True)) == pytest.approx(per, rel=1e-3)
    assert abs(float(B.batch_kde_mi(z @ a, s, standardize=True)) - per) > 0.01
    # the knn bandwidth (each row's distance to its k-th neighbour) is affine-invariant too
    knn = float(B.batch_kde_mi(z, s, bandwidth="knn", k=5))
    assert knn > 0.05
    assert float(B.batch_kde_mi(z @ a, s, bandwidth="knn", k=5)) == pytest.approx(knn, rel=1e-3)
    with pytest.raises(infocli.InputError, match="x has 100 rows but y has 99"):
        B.batch_kde_mi(z, s[:99])
    with pytest.raises(infocli.InputError, match="x has 3 columns but reference x has 2"):
        B.batch_kde_mi(z, s, reference=(z[:5, :2], s[:5]))
    with pytest.raises(infocli.ParameterError, match="bandwidth='silverman'"):
        B.batch_kde_mi(z, s, bandwidth="silverman")
    with pytest.raises(infocli.ParameterError, match="k=99"):
        B.batch_kde_mi(z, s, bandwidth="knn", k=99)
    with pytest.raises(infocli.ParameterError, match="permutations=-1"):
        B.batch_kde_mi(z, s, permutations=-1)
    with pytest.raises(infocli.ParameterError, match="factors"):
        B.batch_kde_mi(z, s, factors=(0.0,))


# -- ReMINE ---------------------------------------------------------------------------
def _gaussian_pair(n: int, d: int, mi: float, seed: int):
    rng = np.random.default_rng(seed)
    rho = math.sqrt(1 - math.exp(-2 * mi / d))  # I = -d/2 log(1 - rho^2)
    x = rng.standard_normal((n, d))
    return x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))


def test_default_remine_keeps_a_high_mi_bound_near_the_truth():
    x, y = _gaussian_pair(3000, 2, 4.0, 0)
    est = infocli.mutual_information(x, y, estimator="mine", device="cpu", seed=0,
                                     critic="concat", hidden="32", regularize="remine",
                                     max_steps=800, lr=3e-3, eval_every=100)
    assert abs(est.value - 4.0) < 0.5, est


@pytest.mark.parametrize("regularize, routed", [("remine", False), ("remine_offset", True),
                                               ("none", False)])
def test_remine_penalises_the_whole_critic_unless_asked(regularize, routed, monkeypatch):
    seen = []
    real = B.objective

    def spy(scores, bound, **kw):
        seen.append(kw)
        return real(scores, bound, **kw)

    monkeypatch.setattr(B, "objective", spy)
    x, y = _gaussian_pair(400, 1, 0.5, 1)
    try:  # three steps test the mapping, not the estimate, which may be refused
        infocli.mutual_information(x, y, estimator="mine", device="cpu", hidden="8",
                                   batch_size=32, max_steps=3, eval_every=3,
                                   regularize=regularize)
    except infocli.EstimationError:
        pass
    assert seen and all((kw["offset"] is not None) == routed for kw in seen)
    assert all(kw["regularize"] == ("none" if regularize == "none" else "remine") for kw in seen)


def test_whole_critic_penalty_reaches_every_weight():
    torch.manual_seed(0)
    critic = B.ConcatCritic(1, 1, (8,))
    x, y = torch.randn(2, 16, 1)
    loss_plain, _ = B.objective(critic(x, y), "mine")
    loss_pen, _ = B.objective(critic(x, y), "mine", regularize="remine", lam=10.0)
    g_plain = torch.autograd.grad(loss_plain, critic.fx.weight)[0]
    g_pen = torch.autograd.grad(loss_pen, critic.fx.weight)[0]
    assert not torch.allclose(g_plain, g_pen)


# -- SSGE self-check --------------------------------------------------------------------
def _gaussian_gradient(d: int, smallest_sd: float, m: int = 256, seed: int = 0):
    """EGE gradient in A of x = A eps and the autograd truth d log|det A| / dA = A^-T."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    a0 = q @ torch.diag(torch.logspace(math.log10(smallest_sd), 0, d, dtype=torch.float64))
    a = a0.clone().requires_grad_(True)
    x = torch.randn(m, d, generator=g, dtype=torch.float64) @ a.T
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grad, = torch.autograd.grad(B.entropy_gradient_surrogate(x), a)
    truth, = torch.autograd.grad(torch.linalg.slogdet(a)[1], a)
    cosine = float((grad * truth).sum() / grad.norm() / truth.norm())
    return cosine, [w for w in caught if issubclass(w.category, B.SSGEWarning)]


@pytest.mark.parametrize("smallest_sd", [0.5, 0.02])
def test_ssge_at_d20_is_accurate_or_warns(smallest_sd):
    cosine, caught = _gaussian_gradient(20, smallest_sd)
    assert cosine >= 0.9 or caught
    if smallest_sd == 0.5:  # well conditioned: accurate, and silent
        assert cosine > 0.99 and not caught
    else:  # a 50-fold thinner direction than the median bandwidth resolves
        assert cosine < 0.9 and caught
        assert "Stein residual" in str(caught[0].message)


def test_ssge_warns_when_too_few_eigenfunctions_are_kept():
    x = torch.randn(200, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    with pytest.warns(B.SSGEWarning, match="kept 1 eigenfunctions, fewer than d \\+ 1 = 7"):
        B.ssge_score(x, eigen_cutoff=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        B.ssge_score(x, eigen_cutoff=0.01, check=False)


# -- dse check ----------------------------------------------------------------------------
def test_dse_accepts_check_like_its_siblings():
    z = np.random.default_rng(0).standard_normal((300, 3))
    off = infocli.dse(z, check="off")
    default = infocli.dse(z)
    assert off.value == pytest.approx(default.value)
    assert off.value == pytest.approx(infocli.dse_spectrum(z, check="off")[0].value)


# -- the training wing's home -----------------------------------------------------------
@pytest.mark.parametrize("old, names", [
    ("infocli.nn", ["KNIFE", "KNIFEMI", "fit_mixture", "select_mixture", "fit_density",
                    "objective", "ConcatCritic", "ssge_score", "log_prob_chunked"]),
    ("infocli.bounds", ["objective", "dv_bound", "critic_offset", "SeparableCritic",
                        "entropy_gradient_surrogate", "SSGEWarning"]),
])
def test_former_homes_still_work_with_a_deprecation_warning(old, names):
    import importlib
    import sys

    import infocli.torch as new

    saved = sys.modules.pop(old, None)
    try:
        with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*infocli.torch"):
            module = importlib.import_module(old)
    finally:
        if saved is not None:
            sys.modules[old] = saved
    for name in names:
        assert getattr(module, name) is getattr(new, name), name


def test_the_wing_imports_no_cli_batch_bench_or_dispatch():
    import subprocess
    import sys

    code = ("import sys, infocli.torch; "
            "print(sorted(m for m in sys.modules if m.startswith('infocli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = eval(out)  # noqa: S307 - our own printed list
    for banned in ("infocli.cli", "infocli.batch", "infocli.bench", "infocli.estimators",
                   "infocli.registry", "infocli.api", "infocli.nn", "infocli.bounds"):
        assert not any(m == banned or m.startswith(banned + ".") for m in loaded), banned
    # the package's own 'torch' never shadows PyTorch
    import torch as real_torch

    assert infocli.torch.densities.torch is real_torch


# -- layer tracking -----------------------------------------------------------------------
def _labelled(n: int, seed: int):
    return labelled_blobs(n, seed)


def test_tracker_records_two_layers_for_two_epochs(tmp_path):
    import json

    from infocli.torch import RECORD_FIELDS, Tracker

    torch.manual_seed(0)
    x, y = _labelled(300, 0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "records.jsonl"
    tracker = Tracker(model, ["1", model[2]], x, y, every=1, rows=120, measures=("dse", "mi_y"),
                      path=path, activations_dir=tmp_path / "acts", check="off", seed=3)
    assert tracker.layer_names == ["1", "2"] and len(tracker.probe_index) == 120
    hooks_before = [len(m._forward_hooks) for m in model]
    for epoch in range(2):
        model.train()
        for idx in torch.randperm(300).split(50):
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            assert tracker._store == {}  # training passes are not captured
        new = tracker.step(epoch)
        assert len(new) == 4 and model.training  # the model's mode is restored
        assert tracker._store == {}  # nothing held between epochs
        # agreement with an independent computation on the same probe rows
        with torch.no_grad():
            hidden = model[1](model[0](x[tracker.probe_index])).double().numpy()
        dse = [r for r in new if r["layer"] == "1" and r["measure"] == "dse"][0]
        assert dse["value"] == pytest.approx(infocli.dse(hidden, seed=3, check="off").value)
        mi = [r for r in new if r["layer"] == "1" and r["measure"] == "mi_y"][0]
        direct = infocli.mutual_information(hidden, y[tracker.probe_index].numpy(),
                                            discrete_y=True, seed=3, check="off")
        assert mi["value"] == pytest.approx(direct.value) and mi["estimator"] == direct.estimator
    assert [len(m._forward_hooks) for m in model] == hooks_before
    records = tracker.records
    assert len(records) == 2 * 2 * 2
    assert {(r["epoch"], r["layer"], r["measure"]) for r in records} == {
        (e, layer, m) for e in (0, 1) for layer in ("1", "2") for m in ("dse", "mi_y")}
    assert all(set(r) == set(RECORD_FIELDS) for r in records)
    assert {r["dim"] for r in records if r["layer"] == "1"} == {16}
    assert {r["dim"] for r in records if r["layer"] == "2"} == {3}
    assert all(r["n_samples"] == 120 and r["unit"] == "nats" for r in records)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["epoch"], r["layer"], r["measure"]) for r in lines] == [
        (r["epoch"], r["layer"], r["measure"]) for r in records]
    assert np.load(tmp_path / "acts" / "epoch_1" / "2.npy").shape == (120, 3)
    assert np.load(tmp_path / "acts" / "x.npy").shape == (120, 6)
    tracker.close()
    assert all(len(m._forward_hooks) == 0 for m in model)


def test_tracker_csv_every_and_intervals(tmp_path):
    import csv

    from infocli.torch import Tracker

    torch.manual_seed(1)
    x, y = _labelled(200, 1)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh())
    with Tracker(model, ["0"], x, y, every=2, rows=150, measures=("mi_y",),
                 path=tmp_path / "r.csv", seed=0) as tracker:
        assert tracker.step(1) == []  # not due
        (record,) = tracker.step(2)
    assert record["lo"] is not None and record["lo"] <= record["value"] <= record["hi"]
    assert record["reliable"] in (True, False)
    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    assert len(rows) == 1 and rows[0]["epoch"] == "2" and rows[0]["measure"] == "mi_y"
    with pytest.raises(infocli.ParameterError, match="layer 'nope' is not in the model"):
        Tracker(model, ["nope"], x, y)
    with pytest.raises(infocli.ParameterError, match="need probe_y"):
        Tracker(model, ["0"], x, measures=("mi_y",))
    with pytest.raises(infocli.ParameterError, match="every must be a positive integer or 'auto'"):
        Tracker(model, ["0"], x, y, every=0)
    with pytest.raises(infocli.ParameterError, match="budget must be a positive fraction"):
        Tracker(model, ["0"], x, y, budget=0)


def test_tracker_auto_every_keeps_within_its_budget(monkeypatch):
    """every="auto": a measurement happens only when, at the last one's cost, the
    tracker's time stays within budget x the training time (a fake clock: training
    epochs of 1 s, measurements of 0.6 s, budget 0.25 -> every third epoch or so)."""
    import infocli.torch.tracking as tracking

    clock = [0.0]
    monkeypatch.setattr(tracking.time, "perf_counter", lambda: clock[0])
    x, y = _labelled(100, 5)
    model = torch.nn.Sequential(torch.nn.Linear(6, 3))
    tracker = tracking.Tracker(model, ["0"], x, y, rows=100, measures=("mi_y",), check="off")
    def slow(tr):
        real_step = tr._step

        def slow_step(epoch):
            clock[0] += 0.6
            return real_step(epoch)
        tr._step = slow_step

    slow(tracker)
    for epoch in range(30):
        clock[0] += 1.0  # an epoch of training
        tracker.step(epoch)
    assert tracker.measured_epochs[0] == 0 and len(tracker.measured_epochs) >= 8
    assert sorted(tracker.measured_epochs + tracker.skipped_epochs) == list(range(30))
    assert tracker.seconds == pytest.approx(0.6 * len(tracker.measured_epochs))
    # within budget, up to the first measurement (whose cost cannot be known before)
    assert tracker.seconds <= 0.25 * tracker.training_seconds + 0.6
    assert len(tracker.records) == len(tracker.measured_epochs)
    assert tracker.step(30, force=True) and tracker.measured_epochs[-1] == 30
    every = tracking.Tracker(model, ["0"], x, y, every=1, rows=100, measures=("mi_y",),
                             check="off")
    slow(every)
    for epoch in range(5):
        clock[0] += 1.0
        every.step(epoch)
    assert every.measured_epochs == [0, 1, 2, 3, 4] and every.skipped_epochs == []


# -- metric ---------------------------------------------------------------------------------
def test_metric_accumulation_equals_a_one_shot_estimate():
    from infocli.torch import InformationMetric

    x, y = _labelled(400, 2)
    metric = InformationMetric(discrete_y=True, check="off", max_rows=1000)
    for idx in torch.arange(400).split(64):
        metric.update(x[idx], y[idx])
    once = infocli.mutual_information(x.double().numpy(), y.numpy(), discrete_y=True,
                                      check="off")
    got = metric.compute()
    assert got.value == pytest.approx(once.value, abs=1e-12) and got.estimator == once.estimator
    assert metric.n_seen == 400
    metric.reset()
    with pytest.raises(infocli.InputError, match="no rows"):
        metric.compute()
    entropy = InformationMetric("entropy", estimator="kl", check="off")
    entropy.update(x[:200])
    entropy.update(x[200:])
    assert entropy.compute().value == pytest.approx(
        infocli.entropy(x.double().numpy(), estimator="kl", check="off").value, abs=1e-12)


def test_metric_memory_is_bounded_by_a_uniform_reservoir():
    from infocli.torch import InformationMetric

    n, cap = 5000, 200
    ids = torch.arange(n, dtype=torch.float64)[:, None]
    metric = InformationMetric("entropy", max_rows=cap, seed=4)
    for idx in torch.arange(n).split(128):
        metric.update(ids[idx])
    kept, _ = metric.kept()
    assert kept.shape == (cap, 1) and metric.n_seen == n
    assert len(np.unique(kept)) == cap and np.all(np.isin(kept, ids.numpy()))
    # every row is kept with probability cap / n: the kept ids are uniform on 0..n-1
    assert abs(kept.mean() - (n - 1) / 2) < 4 * n / math.sqrt(12 * cap)
    again = InformationMetric("entropy", max_rows=cap, seed=4)
    for idx in torch.arange(n).split(500):  # other batch sizes, same rows kept
        again.update(ids[idx])
    assert np.array_equal(again.kept()[0], kept)


def test_tracker_leaves_dead_units_out_of_density_estimates():
    from infocli.torch import Tracker

    x, y = _labelled(200, 3)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU())
    with torch.no_grad():
        model[0].bias[:2] = -100.0  # two units that never fire
    with Tracker(model, ["1"], x, y, rows=200, measures=("mi_y", "dse"), check="off") as tr:
        mi, dse = tr.step(0)
    with torch.no_grad():
        live = model(x)[:, 2:].double().numpy()
    assert mi["value"] == pytest.approx(infocli.mutual_information(
        live, y.numpy(), discrete_y=True, check="off").value)
    assert "2 constant column(s) of 4 left out" in mi["warnings"] and mi["dim"] == 4
    assert dse["value"] == pytest.approx(infocli.dse(model(x).detach().double().numpy(),
                                                     check="off").value)
    xc = torch.cat([x, torch.zeros(len(x), 1)], 1)  # a constant input column too
    model_x = torch.nn.Sequential(torch.nn.Linear(7, 3))
    with Tracker(model_x, ["0"], xc, y, rows=200, measures=("mi_x",), check="off") as tr:
        (mix,) = tr.step(0)
    with torch.no_grad():
        t = model_x(xc).double().numpy()
    assert mix["value"] == pytest.approx(infocli.mutual_information(
        x.double().numpy(), t, check="off").value)
    # DSMI with the inputs: k-means clusters of the (non-constant) inputs
    with Tracker(model_x, ["0"], xc, y, rows=200, measures=("dsmi_x",), check="off") as tr:
        (dsx,) = tr.step(0)
    direct = infocli.dsmi(t, x.double().numpy(), discrete_y=False, check="off")
    assert dsx["value"] == pytest.approx(direct.value) and dsx["estimator"] == "dsmi"
    with torch.no_grad():
        model[0].bias[:] = -100.0  # a dead layer: I(T;Y) = 0 exactly
    with Tracker(model, ["1"], x, y, rows=50, measures=("mi_y",), check="off") as tr:
        (dead,) = tr.step(0)
    assert dead["value"] == 0.0 and dead["estimator"] == "constant"


# -- integrations (Lightning, TensorBoard, W&B, torchmetrics: the test extra installs them) --
def test_tracker_logs_to_tensorboard_and_a_callable(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    from infocli.torch import Tracker

    x, y = _labelled(200, 6)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh())
    writer = SummaryWriter(log_dir=str(tmp_path / "tb"))
    seen = []
    with Tracker(model, ["1"], x, y, every=1, rows=150, measures=("mi_y",), seed=0,
                 loggers=[writer, seen.extend]) as tracker:
        for epoch in range(2):
            tracker.step(epoch)
    writer.close()
    assert seen == tracker.records and len(seen) == 2
    events = EventAccumulator(str(tmp_path / "tb")).Reload()
    values = events.Scalars("infocli/mi_y/1")
    assert [e.step for e in values] == [0, 1]
    assert [e.value for e in values] == pytest.approx([r["value"] for r in seen], rel=1e-6)
    lo = events.Scalars("infocli/mi_y/1/lo")
    assert [e.value for e in lo] == pytest.approx([r["lo"] for r in seen], rel=1e-6, abs=1e-7)
    assert {e.value for e in events.Scalars("infocli/mi_y/1/reliable")} <= {0.0, 1.0}
    with pytest.raises(infocli.InfocliError, match="cannot log to a int"):
        infocli.torch.log_records(seen, 3)


def test_tracker_logs_to_wandb_offline(tmp_path, monkeypatch):
    import wandb

    from infocli.torch import Tracker

    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    x, y = _labelled(200, 7)
    model = torch.nn.Sequential(torch.nn.Linear(6, 3))
    run = wandb.init(mode="offline", dir=str(tmp_path), project="infocli-test",
                     settings=wandb.Settings(console="off"))
    try:
        with Tracker(model, ["0"], x, y, every=1, rows=150, measures=("mi_y", "dse"),
                     check="off", loggers=[run]) as tracker:
            for epoch in range(2):
                tracker.step(epoch)
        summary = dict(run.summary)
    finally:
        run.finish()
    last = {r["measure"]: r["value"] for r in tracker.records if r["epoch"] == 1}
    assert summary["infocli/mi_y/0"] == pytest.approx(last["mi_y"])
    assert summary["infocli/dse/0"] == pytest.approx(last["dse"])
    assert summary["epoch"] == 1
    assert "infocli/mi_y/0/lo" not in summary  # check="off": no interval to log


def test_lightning_callback_tracks_every_epoch_and_logs(tmp_path):
    import csv

    import lightning.pytorch as pl
    from lightning.pytorch.loggers import CSVLogger

    from infocli.torch import Tracker, lightning_callback

    x, y = _labelled(240, 8)

    class Net(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU())
            self.head = torch.nn.Linear(8, 3)

        def forward(self, xb):  # the tracker's probe pass calls the module
            return self.head(self.body(xb))

        def training_step(self, batch, _):
            xb, yb = batch
            return torch.nn.functional.cross_entropy(self(xb), yb)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    torch.manual_seed(0)
    net = Net()
    tracker = Tracker(net, ["body.1"], x, y, every=1, rows=200, measures=("mi_y",), seed=1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=60)
    trainer = pl.Trainer(max_epochs=3, logger=CSVLogger(str(tmp_path)), accelerator="cpu",
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[lightning_callback(tracker)])
    trainer.fit(net, loader)
    assert tracker.measured_epochs == [0, 1, 2]
    assert all(len(m._forward_hooks) == 0 for m in net.modules())  # closed at the end
    with open(tmp_path / "lightning_logs" / "version_0" / "metrics.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("infocli/mi_y/body.1")]
    assert len(rows) == 3
    assert [float(r["infocli/mi_y/body.1"]) for r in rows] == pytest.approx(
        [r["value"] for r in tracker.records])


def test_torchmetrics_metric_in_a_collection_equals_a_one_shot_estimate():
    from torchmetrics import MetricCollection

    from infocli.torch import torchmetrics_metric

    x, y = _labelled(400, 9)
    metrics = MetricCollection({"mi": torchmetrics_metric(discrete_y=True, check="off")})
    for idx in torch.arange(400).split(64):
        metrics.update(x[idx], y[idx])
    got = metrics.compute()["mi"]
    once = infocli.mutual_information(x.double().numpy(), y.numpy(), discrete_y=True,
                                      check="off")
    assert float(got) == pytest.approx(once.value, abs=1e-12)
    assert metrics["mi"].estimate.value == float(got)
    assert metrics["mi"].estimate.estimator == once.estimator
    metrics.reset()
    metrics["mi"](x[:100], y[:100])  # forward only accumulates
    assert metrics["mi"].inner.n_seen == 100
