"""Neural MI bounds (mine, nwj, infonce, smile, js), ReMINE penalties, critics and
the SSGE gradient surrogates: exact values on hand-computed score matrices,
small seeded training runs, gradient checks, bad input and the CLI mapping.
Fast settings throughout (tiny critics, few steps)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import infocli
from infocli import EstimationError, InputError, ParameterError
import infocli.torch as B

from conftest import gaussian_pair

E = math.e
# scores[i, j] = T(x_i, y_j); diagonal = joint pairs
S = torch.tensor([[2.0, 0.0, 1.0], [-1.0, 3.0, 0.0], [0.0, 1.0, 1.0]], dtype=torch.float64)
# off-diagonal entries: 0, 1, -1, 0, 0, 1; mean of the diagonal: 2
MEAN_EXP_OFF = (3 + 2 * E + 1 / E) / 6
FAST = dict(hidden="16", embed_dim=8, batch_size=32, max_steps=150, eval_every=50, patience=3)
BOUND_NAMES = ["mine", "nwj", "infonce", "smile", "js"]


# -- bounds on a hand-computed score matrix ------------------------------------------
def test_dv_nwj_infonce_smile_js_values():
    assert B.dv_bound(S).item() == pytest.approx(2 - math.log(MEAN_EXP_OFF))
    assert B.bound_value(S, "mine").item() == pytest.approx(2 - math.log(MEAN_EXP_OFF))
    assert B.nwj_bound(S).item() == pytest.approx(2 - (3 / E + 2 + E**-2) / 6)
    rows = [2 - math.log(E**2 + 1 + E), 3 - math.log(1 / E + E**3 + 1), 1 - math.log(1 + 2 * E)]
    assert B.infonce_bound(S).item() == pytest.approx(math.log(3) + sum(rows) / 3)
    clipped = (3 + 2 * math.exp(0.5) + math.exp(-0.5)) / 6
    assert B.smile_bound(S, clip=0.5).item() == pytest.approx(2 - math.log(clipped))
    assert B.smile_bound(S, clip=10).item() == pytest.approx(B.dv_bound(S).item())
    softplus = lambda t: math.log1p(math.exp(t))  # noqa: E731
    js = -sum(softplus(-t) for t in (2, 3, 1)) / 3 - sum(softplus(t) for t in (0, 1, -1, 0, 0, 1)) / 6
    assert B.js_objective(S).item() == pytest.approx(js)
    assert B.js_mi(S).item() == pytest.approx(3 - MEAN_EXP_OFF)  # NWJ(T + 1)
    assert B.bound_value(S, "js").item() == pytest.approx(3 - MEAN_EXP_OFF)


def test_infonce_never_above_log_b():
    scores = torch.full((8, 8), -50.0) + torch.eye(8) * 100
    assert B.infonce_bound(scores).item() == pytest.approx(math.log(8), abs=1e-6)
    assert B.infonce_bound(torch.randn(8, 8) * 30).item() <= math.log(8)


def test_penalty_values():
    assert B.penalty(S, "mine", lam=2.0, target=0.5).item() == pytest.approx(
        2 * (math.log(MEAN_EXP_OFF) - 0.5) ** 2)
    # NWJ's optimal critic has log E_Q[e^(T-1)] = 0: its penalty is shifted by one
    assert B.penalty(S, "nwj").item() == pytest.approx((math.log(MEAN_EXP_OFF) - 1) ** 2)


@pytest.mark.parametrize("bound", ["dv", "nwj", "infonce", "smile", "js"])
def test_penalty_leaves_the_reported_value_unchanged(bound):
    scores = S.clone().requires_grad_(True)
    loss0, value0 = B.objective(scores, bound)
    loss1, value1 = B.objective(scores, bound, regularize="remine", lam=5.0, target=2.0)
    assert value1.item() == value0.item() == B.bound_value(S, bound).item()
    assert (loss1 - loss0).item() == pytest.approx(B.penalty(S, bound, lam=5.0, target=2.0).item())
    # ... but it does change the gradients
    g0, = torch.autograd.grad(loss0, scores)
    g1, = torch.autograd.grad(loss1, scores)
    assert not torch.allclose(g0, g1)


@pytest.mark.parametrize("bound", ["dv", "infonce", "smile", "js"])
def test_penalty_routed_through_the_offset(bound):
    # scores = free + offset: the bound's gradient reaches `free` only (JS-trained
    # bounds train on `free` itself), the penalty's gradient reaches `offset` only
    free = (S - 0.7).clone().requires_grad_(True)
    offset = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    loss, value = B.objective(free + offset, bound, regularize="remine", lam=3.0, target=0.5,
                              offset=offset)
    assert value.item() == pytest.approx(B.bound_value(S, bound).item(), abs=1e-12)
    g_free, g_off = torch.autograd.grad(loss, (free, offset))

    ref = free.detach().clone().requires_grad_(True)
    trained = B.js_objective(ref) if bound in ("js", "smile") else B.bound_value(ref + 0.7, bound)
    want_free, = torch.autograd.grad(-trained, ref)
    assert torch.allclose(g_free, want_free)
    _, marginal = B.bounds._diag_offdiag(S)
    lme = torch.logsumexp(marginal, 0) - math.log(marginal.numel())
    assert g_off.item() == pytest.approx(2 * 3.0 * (lme.item() - 0.5))


def test_nwj_penalty_acts_on_the_whole_critic():
    # NWJ's unnormalised gradient: the offset is ignored, same loss graph as without it
    free = (S - 0.7).clone().requires_grad_(True)
    offset = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    with_off, _ = B.objective(free + offset, "nwj", regularize="remine", offset=offset)
    without, _ = B.objective(free + offset, "nwj", regularize="remine")
    for a, b in zip(torch.autograd.grad(with_off, (free, offset)),
                    torch.autograd.grad(without, (free, offset))):
        assert torch.allclose(a, b)


def test_critic_offset():
    sep, cat = B.SeparableCritic(2, 3, (4,)), B.ConcatCritic(2, 3, (4,))
    assert B.critic_offset(sep) is sep.c
    assert B.critic_offset(cat) is cat.rest[-1].bias and cat.rest[-1].bias.numel() == 1
    assert B.critic_offset(torch.nn.Bilinear(2, 3, 1)) is None


def test_bad_bound_and_scores():
    with pytest.raises(ValueError, match="expected one of"):
        B.bound_value(S, "mien")
    with pytest.raises(ValueError, match="square"):
        B.dv_bound(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="regularize"):
        B.objective(S, "nwj", regularize="l1")


# -- critics -----------------------------------------------------------------------
def test_critics_score_all_pairs():
    torch.manual_seed(0)
    x, y = torch.randn(5, 3), torch.randn(5, 2)
    concat = B.ConcatCritic(3, 2, hidden=(8, 4))
    scores = concat(x, y)
    assert scores.shape == (5, 5)
    # scores[i, j] = MLP([x_i, y_j]): rebuild one pair from the weights
    w = torch.cat([concat.fx.weight, concat.fy.weight], 1)
    h = torch.relu(torch.cat([x[1], y[3]]) @ w.T + concat.fx.bias)
    assert concat.rest(h).item() == pytest.approx(scores[1, 3].item(), rel=1e-5)
    sep = B.make_critic("separable", 3, 2, (8,), embed_dim=4)
    assert torch.allclose(sep(x, y)[2, 4], sep.g(x[2]) @ sep.h(y[4]) + sep.c)
    with pytest.raises(ValueError, match="concat or separable"):
        B.make_critic("bilinear", 3, 2)


# -- estimators ---------------------------------------------------------------------
@pytest.mark.parametrize("bound", BOUND_NAMES)
def test_independent_data_is_about_zero(bound, rng):
    x, y = rng.standard_normal((1500, 2)), rng.standard_normal((1500, 2))
    est = infocli.mutual_information(x, y, estimator=bound, device="cpu", **FAST)
    assert abs(est.value) < 0.15
    assert est.measure == "mutual_information" and est.estimator == bound
    assert 0 < est.stderr < 0.2
    assert est.details["split"] == {"train": 1050, "validation": 150, "test": 300}


@pytest.mark.parametrize("bound, regularize", [
    ("mine", "remine"), ("nwj", "remine"), ("infonce", "none"), ("smile", "remine"),
    ("js", "none")])
def test_correlated_gaussian(bound, regularize, rng):
    x, y, truth = gaussian_pair(rng, 4000, 2, 0.8)  # 1.02 nats
    est = infocli.mutual_information(x, y, estimator=bound, device="cpu", hidden="32",
                                     max_steps=600, eval_every=100, regularize=regularize,
                                     lr=2e-3)
    assert abs(est.value - truth) < 0.3, est
    assert est.details["best_step"] > 0


def test_same_seed_same_value_and_progress(rng):
    x, y, _ = gaussian_pair(rng, 600, 1, 0.6)
    seen = []
    a = infocli.mutual_information(x, y, estimator="mine", seed=3, device="cpu", **FAST,
                                   progress=lambda d, c, t: seen.append((d, c, t)))
    b = infocli.mutual_information(x, y, estimator="mine", seed=3, device="cpu", **FAST)
    assert a.value == b.value and a.stderr == b.stderr
    best = a.details["best_validation_bound"]
    assert seen[-1] == (f"mine critic | best validation {best:.3f} nats at step "
                        f"{a.details['best_step']}", 150, 150)
    checks = [d for d, c, t in seen[:-1]]
    assert checks and all(re.fullmatch(r"mine critic \| train -?\d+\.\d{3}, validation "
                                       r"-?\d+\.\d{3} nats", d) for d in checks)
    assert f"validation {best:.3f} nats" in " ".join(checks)


def test_concat_critic_and_labels(rng):
    x = rng.standard_normal((1200, 2))
    labels = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0)  # 4 classes, I = log 4
    est = infocli.mutual_information(x, labels, estimator="nwj", discrete_y=True, device="cpu",
                                     critic="concat", hidden="32", batch_size=32,
                                     max_steps=300, eval_every=50, lr=3e-3)
    assert 0.5 < est.value < math.log(4) + 0.2


def test_infonce_reports_its_ceiling(rng):
    x, y, truth = gaussian_pair(rng, 2000, 4, 0.99)  # 7.8 nats >> log 8
    kw = dict(estimator="infonce", device="cpu", batch_size=8, hidden="32", max_steps=300,
              eval_every=100, lr=3e-3)
    est = infocli.mutual_information(x, y, eval_batch_size=8, **kw)
    assert est.value <= math.log(8)
    assert est.details["capped"] is True and est.details["ceiling"] == pytest.approx(math.log(8))
    assert any("capped" in w and "log(eval_batch_size)" in w for w in est.warnings)
    # automatic: scored on batches of min(2048, test rows / 4, validation rows) = 100
    auto = infocli.mutual_information(x, y, **kw)
    assert auto.details["eval_batch_size"] == 100
    assert math.log(8) < auto.value <= math.log(100)
    assert auto.details["capped"] is True


class _TrueLogRatio(torch.nn.Module):
    """The optimal critic log p(x, y) / (p(x) p(y)) of unit Gaussians with correlation rho."""

    def __init__(self, rho):
        super().__init__()
        self.rho = rho

    def forward(self, x, y):
        r = self.rho
        xx = (x**2).sum(1)[:, None]
        yy = (y**2).sum(1)[None, :]
        return (-0.5 * x.shape[1] * math.log(1 - r * r)
                - (r * r * (xx + yy) - 2 * r * x @ y.T) / (2 * (1 - r * r)))


def _true_critic_sample(mi, seed, d=20, n=8192):
    """n rows of d-dim unit Gaussians with MI ``mi`` (float64) and their true critic."""
    rho = math.sqrt(1 - math.exp(-2 * mi / d))
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = rho * x + math.sqrt(1 - rho * rho) * torch.randn(n, d, generator=g, dtype=torch.float64)
    return x, y, _TrueLogRatio(rho)


@pytest.mark.parametrize("mi, capped", [(2.0, False), (6.0, True)])
def test_infonce_flags_a_bound_still_rising_with_the_batch(mi, capped):
    # true critic, d = 20: B = 1024 gives ~1.99 / 5.22 at I = 2 / 6 (ceiling 6.93, so
    # never "near"); batches of 256 give ~1.91 / 4.62: only I = 6 rises by > 0.25
    from infocli.estimators._common import Context
    from infocli.estimators.neural import _flag_infonce_ceiling

    x, y, critic = _true_critic_sample(mi, seed=1)
    n = x.shape[0]
    rows = np.arange(n)
    value = float(np.mean([B.infonce_bound(critic(x[i:i + 1024], y[i:i + 1024]))
                           for i in range(0, n, 1024)]))
    ctx = Context(rng=np.random.default_rng(0))
    _flag_infonce_ceiling(ctx, critic, x, y, rows, 1024, value, 10.0, torch)
    assert value < math.log(1024) - 1
    assert ctx.details["capped"] is capped
    assert (ctx.details["batch_gain"] > 0.4) is capped and ctx.details["batch_gain"] > 0
    assert any("rose by" in w for w in ctx.warnings) is capped


@pytest.mark.parametrize("mi, flagged", [(2.0, False), (8.0, True)])
def test_dv_flags_its_small_batch_upward_bias(mi, flagged):
    # true critic, d = 20: per-batch DV with B = 64 is biased upward at high MI
    # (Jensen), and scoring the same rows in batches of 2048 gives less
    from infocli.estimators._common import Context
    from infocli.estimators.neural import _flag_dv_batch_bias

    x, y, critic = _true_critic_sample(mi, seed=2)
    n = x.shape[0]
    rows = np.arange(n)
    value = float(np.mean([B.dv_bound(critic(x[i:i + 64], y[i:i + 64]))
                           for i in range(0, n, 64)]))
    ctx = Context(rng=np.random.default_rng(0))
    _flag_dv_batch_bias(ctx, critic, x, y, rows, 64, value, "mine", 10.0, torch)
    assert ctx.details["large_batch_size"] == 2048
    assert ctx.details["batch_drop"] == pytest.approx(value - ctx.details["large_batch_value"])
    assert (ctx.details["batch_drop"] > 0.25) is flagged
    assert abs(ctx.details["large_batch_value"] - mi) < 0.2  # 7.98 at I = 8
    assert any("biased upward" in w for w in ctx.warnings) is flagged


def test_chunked_scores_match_the_full_matrix():
    from infocli.estimators.neural import _score_matrix

    torch.manual_seed(0)
    critic = B.make_critic("concat", 3, 2, (16, 8))
    x, y = torch.randn(50, 3), torch.randn(50, 2)
    full = critic(x, y).double()
    # width 2**20 forces one-row blocks of x; width 1 one block
    torch.testing.assert_close(_score_matrix(critic, x, y, 1 << 20, torch), full)
    torch.testing.assert_close(_score_matrix(critic, x, y, 1, torch), full)


def test_divergence_is_a_warning_or_an_error(rng, monkeypatch):
    x, y, _ = gaussian_pair(rng, 600, 1, 0.6)
    real = B.objective
    calls = {"n": 0}

    def diverging_after(step):
        def objective(scores, bound, **kw):
            calls["n"] += 1
            loss, value = real(scores, bound, **kw)
            return (loss * math.nan, value) if calls["n"] > step else (loss, value)
        return objective

    monkeypatch.setattr(B, "objective", diverging_after(120))
    est = infocli.mutual_information(x, y, estimator="mine", device="cpu", **FAST)
    assert math.isfinite(est.value) and est.details["stopped"] == "diverged"
    assert any("diverged at step 121" in w and "regularize=remine" in w for w in est.warnings)

    calls["n"] = 0
    monkeypatch.setattr(B, "objective", diverging_after(0))
    with pytest.raises(EstimationError, match="regularize=remine"):
        infocli.mutual_information(x, y, estimator="smile", device="cpu", **FAST)


def test_bad_input(rng):
    x, y, _ = gaussian_pair(rng, 200, 1, 0.5)
    with pytest.raises(InputError, match=r"batch_size=256 is larger than the training part "
                                         r"\(140 of 200 rows"):
        infocli.mutual_information(x, y, estimator="mine", batch_size=256)
    with pytest.raises(InputError, match="the test part has 40 of 200 rows"):
        infocli.mutual_information(x, y, estimator="nwj", batch_size=50, val_fraction=0.3)
    with pytest.raises(ParameterError, match="leave no training rows"):
        infocli.mutual_information(x, y, estimator="js", val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ParameterError, match="hidden='64,x'"):
        infocli.mutual_information(x, y, estimator="mine", hidden="64,x")
    with pytest.raises(ParameterError, match="regularize='l2'"):
        infocli.mutual_information(x, y, estimator="mine", regularize="l2")
    with pytest.raises(ParameterError, match="no parameter 'clip'"):
        infocli.mutual_information(x, y, estimator="mine", clip=5.0)
    with pytest.raises(ParameterError, match="unknown estimator 'mien'.*mine"):
        infocli.mutual_information(x, y, estimator="mien")
    with pytest.raises(InputError, match=r"eval_batch_size=50 must lie between 2 and the smaller "
                                         r"of the validation \(20 rows\)"):
        infocli.mutual_information(x, y, estimator="infonce", batch_size=16, eval_batch_size=50)
    with pytest.raises(InputError, match="column 0 is constant"):
        infocli.mutual_information(np.ones((200, 1)), y, estimator="mine", batch_size=16)


# -- gradient surrogates ------------------------------------------------------------
@pytest.mark.parametrize("d", [2, 8])
def test_entropy_gradient_surrogate(d):
    # h(sigma Z) = d/2 log(2 pi e) + d log sigma  =>  dh/dsigma = d / sigma
    torch.manual_seed(d)
    sigma = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    x = sigma * torch.randn(400, d, dtype=torch.float64)
    grad, = torch.autograd.grad(B.entropy_gradient_surrogate(x), sigma)
    assert grad.item() == pytest.approx(d / 1.5, rel=0.15)


def test_mi_gradient_surrogate():
    # I = -d/2 log(1 - rho^2)  =>  dI/drho = rho d / (1 - rho^2)
    torch.manual_seed(0)
    d, rho0 = 8, 0.6
    rho = torch.tensor(rho0, dtype=torch.float64, requires_grad=True)
    z1, z2 = torch.randn(2, 500, d, dtype=torch.float64)
    y = rho * z1 + torch.sqrt(1 - rho**2) * z2
    grad, = torch.autograd.grad(B.mi_gradient_surrogate(z1, y), rho)
    assert grad.item() == pytest.approx(rho0 * d / (1 - rho0**2), rel=0.2)


def test_ssge_score_of_a_gaussian_and_parameters():
    torch.manual_seed(1)
    x = torch.randn(400, 2, dtype=torch.float64)
    score = B.ssge_score(x)  # truth: -x
    inner = (x.abs().max(1).values < 1.5)
    assert torch.allclose(score[inner], -x[inner], atol=0.25)
    with pytest.warns(B.SSGEWarning, match="kept 1 eigenfunctions"):  # too few for d = 2
        fewer = B.ssge_score(x, eigen_cutoff=0.5, ridge=1e-3, bandwidth=2.0)
    assert fewer.shape == x.shape and not torch.allclose(fewer, score)
    with pytest.raises(ValueError, match="eigen_cutoff"):
        B.ssge_score(x, eigen_cutoff=0)
    with pytest.raises(ValueError, match="rows"):
        B.mi_gradient_surrogate(x, x[:10])


# -- command line -------------------------------------------------------------------
def test_cli_mapping_reaches_the_implementation(tmp_path, monkeypatch):
    import infocli.cli
    import infocli.estimators.neural as neural
    from infocli.estimators._common import Raw

    seen = {}

    def fake(ctx, x, y, **params):
        seen.update(params, shape=(x.shape, y.shape))
        return Raw(0.25, 0.01, "fake")

    monkeypatch.setattr(neural, "neural_mi", fake)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((100, 3)))
    np.save(tmp_path / "y.npy", rng.standard_normal((100, 2)))
    result = CliRunner().invoke(infocli.cli.app, [
        "mi", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "-e", "smile",
        "-p", "regularize=remine", "-p", "reg_lambda=0.5", "-p", "reg_target=1",
        "-p", "critic=concat", "-p", "hidden=32,16", "-p", "clip=5", "-p", "batch-size=16",
        "--json"])
    assert result.exit_code == 0, result.output
    assert seen["bound"] == "smile" and seen["regularize"] == "remine"
    assert seen["reg_lambda"] == 0.5 and seen["reg_target"] == 1.0 and seen["clip"] == 5.0
    assert seen["critic"] == "concat" and seen["hidden"] == "32,16"
    assert seen["batch_size"] == 16 and seen["max_steps"] == 4000
    assert seen["shape"] == ((100, 3), (100, 2))
    record = json.loads(result.stdout)
    assert record["estimator"] == "smile" and record["params"]["regularize"] == "remine"


def test_cli_runs_and_fails_cleanly(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((300, 2)))
    np.save(tmp_path / "y.npy", rng.standard_normal((300, 1)))
    base = [sys.executable, "-m", "infocli", "mi", str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"), "--json", "--device", "cpu"]
    ok = subprocess.run(base + ["-e", "mine", "-p", "regularize=remine", "-p", "max_steps=30",
                                "-p", "eval_every=10", "-p", "hidden=8", "-p", "batch_size=16"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    record = json.loads(ok.stdout)
    assert record["params"]["regularize"] == "remine" and math.isfinite(record["value"])
    too_big = subprocess.run(base + ["-e", "nwj", "-p", "batch_size=500"],
                             capture_output=True, text=True)
    assert too_big.returncode == 2 and too_big.stdout == ""
    assert too_big.stderr.count("\n") == 1
    assert "batch_size=500 is larger than the training part" in too_big.stderr
    bad = subprocess.run(base + ["-e", "infonce", "-p", "regularize=yes"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "expected one of none, remine" in bad.stderr
