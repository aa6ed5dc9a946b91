"""The noisy channel (estimator ``noisy``): I(X; T+eps) and I(T+eps; Y) with X
uniform over the rows, its use by the Tracker, and the plane from records."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.special import logsumexp
from scipy.stats import norm

import infocli
from conftest import labelled_blobs
from infocli.estimators import noisy
from infocli.estimators.noisy import noisy_terms


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _within(summary: dict, truth: float, k: float = 4.0) -> bool:
    return abs(summary["value"] - truth) <= k * summary["stderr"]


def test_two_points_match_the_binary_gaussian_channel():
    # two rows at distance D: I(X; T+eps) is the capacity-style integral of a binary
    # input Gaussian channel; with one class per row I(T+eps; Y) has the same terms
    dist, s = 1.3, 0.8

    def integrand(u):
        p0, p1 = norm.pdf(u, 0, s), norm.pdf(u, dist, s)
        m = (p0 + p1) / 2
        return 0.5 * p0 * np.log(p0 / m) + 0.5 * p1 * np.log(p1 / m)

    exact = quad(integrand, -20, 20)[0]
    ch = noisy_terms(np.array([[0.0], [dist]]), np.array([0, 1]), sigma=s, draws=2000, seed=1)
    assert _within(ch.mi_x(), exact) and abs(ch.mi_x()["value"] - exact) < 0.04
    np.testing.assert_allclose(ch.term_y, ch.term_x, atol=1e-6)
    assert ch.mi_y()["top"] == pytest.approx(math.log(2))
    # rows repeated: X's copies of one point are indistinguishable through the channel,
    # so I(X; T+eps) and I(T+eps; Y) are the same binary-channel value
    copies = noisy_terms(np.repeat([[0.0], [dist]], 400, axis=0), np.repeat([0, 1], 400),
                         sigma=s, draws=10, seed=2)
    assert _within(copies.mi_x(), exact) and _within(copies.mi_y(), exact)
    assert abs(copies.mi_y()["value"] - exact) < 0.01


def test_agrees_with_a_brute_force_mixture_computation():
    # an independent NumPy/SciPy computation of the same Monte Carlo (its own noise)
    rng = np.random.default_rng(1)
    n, d, s = 60, 3, 0.7
    t = rng.standard_normal((n, d))
    y = rng.integers(0, 3, n)
    tx, ty = [], []
    same = y[:, None] == y[None, :]
    for _ in range(1000):
        eps = rng.standard_normal(t.shape) * s
        logphi = -(((t + eps)[:, None, :] - t[None, :, :]) ** 2).sum(-1) / (2 * s * s)
        lp = logsumexp(logphi, 1) - math.log(n)
        tx.append(-(eps ** 2).sum(1) / (2 * s * s) - lp)
        own = logsumexp(np.where(same, logphi, -np.inf), 1) - np.log(same.sum(1))
        ty.append(own - lp)
    ref_x, ref_y = np.concatenate(tx), np.concatenate(ty)
    ch = noisy_terms(t, y, sigma=s, draws=1000, seed=5)
    for mine, ref in ((ch.mi_x(), ref_x), (ch.mi_y(), ref_y)):
        se = math.hypot(mine["stderr"], ref.std() / math.sqrt(ref.size))
        assert abs(mine["value"] - ref.mean()) < 4 * se


def test_bounds_limits_and_a_constant_layer():
    rng = np.random.default_rng(2)
    t = rng.standard_normal((200, 4))
    y = rng.integers(0, 4, 200)
    h_y = -sum(p * math.log(p) for p in np.bincount(y) / 200)
    ch = noisy_terms(t, y, noise=1.0, seed=0)
    assert ch.term_x.max() <= math.log(200) + 1e-9  # the row's own centre bounds every term
    for summary, top in ((ch.mi_x(), math.log(200)), (ch.mi_y(), h_y)):
        assert 0.0 <= summary["lo"] <= summary["value"] <= summary["hi"] <= top + 1e-12
    # labels independent of t: I(T+eps; Y) near 0
    assert ch.mi_y()["value"] < 0.1
    # tiny noise resolves every row (log n, H(Y)); huge noise passes nothing
    sharp = noisy_terms(t, y, sigma=1e-3, seed=0)
    assert sharp.mi_x()["value"] == pytest.approx(math.log(200), abs=1e-6)
    assert sharp.mi_y()["value"] == pytest.approx(h_y, abs=1e-6)
    assert sharp.float64  # sigma far below the spread: the float64 path
    blurred = noisy_terms(t, y, sigma=1e3, seed=0)
    assert abs(blurred.mi_x()["value"]) < 1e-3 and abs(blurred.mi_y()["value"]) < 1e-3
    const = noisy_terms(np.ones((50, 3)), y[:50], seed=0)
    assert const.mi_x()["value"] == 0.0 and const.mi_y()["value"] == 0.0


def test_relative_noise_is_blind_to_scale_and_a_fixed_sigma_is_not():
    rng = np.random.default_rng(3)
    t = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 5))
    y = (t[:, 0] > 0).astype(int)
    base = noisy_terms(t, y, seed=7)
    scaled = noisy_terms(10.0 * t + 3.0, y, seed=7)
    np.testing.assert_allclose(scaled.term_x, base.term_x, atol=1e-4)
    np.testing.assert_allclose(scaled.term_y, base.term_y, atol=1e-4)
    fixed, fixed_scaled = (noisy_terms(a, y, sigma=1.0, seed=7) for a in (t, 10.0 * t))
    assert fixed_scaled.mi_x()["value"] > fixed.mi_x()["value"] + 1.0


def test_seeds_queries_shuffles_and_the_overflow_fallback(monkeypatch):
    rng = np.random.default_rng(4)
    t = rng.standard_normal((400, 6))
    y = rng.integers(0, 5, 400) + (t[:, 0] > 0) * 5
    a, b = noisy_terms(t, y, seed=11), noisy_terms(t, y, seed=11)
    np.testing.assert_array_equal(a.term_x, b.term_x)
    assert not np.array_equal(noisy_terms(t, y, seed=12).term_x, a.term_x)
    # a subset of query rows: the same quantity, a wider stderr
    sub = noisy_terms(t, y, queries=100, seed=11)
    assert sub.term_x.size == 100 and sub.mi_y()["stderr"] > a.mi_y()["stderr"]
    assert abs(sub.mi_y()["value"] - a.mi_y()["value"]) < 4 * math.hypot(
        sub.mi_y()["stderr"], a.mi_y()["stderr"])
    # shuffled rows: the same quantity
    perm = rng.permutation(400)
    shuffled = noisy_terms(t[perm], y[perm], seed=11)
    for key in ("mi_x", "mi_y"):
        one, two = getattr(a, key)(), getattr(shuffled, key)()
        assert abs(one["value"] - two["value"]) < 4 * math.hypot(one["stderr"], two["stderr"])
    # an overflowing exponent makes the rows be redone shifted in float64: same answer
    real = noisy._exponents

    def overflowing(q, eps, cen, sigma, out):
        real(q, eps, cen, sigma, out=out)
        if out.dtype == torch.float32:
            out[:5].add_(1000.0)  # exp2 of these rows overflows float32

    monkeypatch.setattr(noisy, "_exponents", overflowing)
    fallback = noisy_terms(t, y, seed=11)
    np.testing.assert_allclose(fallback.term_x, a.term_x, atol=1e-4)
    np.testing.assert_allclose(fallback.term_y, a.term_y, atol=1e-4)


def test_several_layers_in_one_pass_match_one_at_a_time():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 3, 300)
    a = torch.tensor(rng.standard_normal((300, 5)) + y[:, None], dtype=torch.float32)
    c = torch.tensor(rng.standard_normal((300, 12)), dtype=torch.float32)
    first, const, second = noisy.noisy_terms_many([a, torch.ones(300, 2), c], y, seed=3)
    alone = noisy_terms(a, y, seed=3)  # the first layer draws its noise first
    np.testing.assert_allclose(first.term_x, alone.term_x, atol=1e-6)
    np.testing.assert_allclose(first.term_y, alone.term_y, atol=1e-6)
    assert not const.term_x.any() and not const.term_y.any()
    other = noisy_terms(c, y, seed=4)
    for key in ("mi_x", "mi_y"):
        one, two = getattr(second, key)(), getattr(other, key)()
        assert abs(one["value"] - two["value"]) < 4 * math.hypot(one["stderr"], two["stderr"])
    with pytest.raises(infocli.ParameterError, match="the same rows"):
        noisy.noisy_terms_many([a, c[:10]], None)


def test_registry_estimates_with_intervals_and_refusals():
    rng = np.random.default_rng(5)
    t = rng.standard_normal((300, 3))
    y = (t[:, 0] + 0.5 * rng.standard_normal(300) > 0).astype(int)
    est = infocli.mutual_information(t, y, estimator="noisy", discrete_y=True, seed=2)
    assert est.estimator == "noisy" and est.reliable is True
    lo, hi = est.interval
    assert 0.0 <= lo <= est.value <= hi <= math.log(2) + 0.01
    assert est.value > 0.1  # y depends on t's first column
    ch = noisy_terms(t, y, seed=np.random.default_rng(2))
    assert est.value == pytest.approx(ch.mi_y()["value"])  # the same seeded draws
    again = infocli.mutual_information(t, y, estimator="noisy", discrete_y=True, seed=2)
    assert again.value == est.value
    h = infocli.entropy(t, estimator="noisy", seed=2)
    sigma = h.details["noisy"]["sigma"]
    h_eps = 1.5 * math.log(2 * math.pi * math.e * sigma ** 2)
    alone = noisy_terms(t, None, seed=np.random.default_rng(2))  # rows in their own order
    assert h.value == pytest.approx(h_eps + alone.mi_x()["value"])
    assert h_eps <= h.interval[0] <= h.value <= h.interval[1] <= h_eps + math.log(300)
    # at the ceiling the interval of I(X; T+eps) is too narrow: marked, with the reason
    sat = infocli.entropy(t, estimator="noisy", seed=2, params={"sigma": 1e-3})
    assert sat.reliable is False and "saturated" in sat.details["diagnostics"]
    assert any("too narrow" in w for w in sat.warnings)
    sat_mi = infocli.mutual_information(t, y, estimator="noisy", discrete_y=True, seed=2,
                                        params={"sigma": 1e-3})
    assert sat_mi.reliable is True and any("saturated" in w for w in sat_mi.warnings)
    with pytest.raises(infocli.ParameterError, match="with class labels y"):
        infocli.mutual_information(t, t[:, :1], estimator="noisy", seed=2)
    with pytest.raises(infocli.ParameterError, match="sigma"):
        infocli.entropy(t, estimator="noisy", params={"sigma": "-1"})
    bits = infocli.mutual_information(t, y, estimator="noisy", discrete_y=True, seed=2,
                                      unit="bits")
    assert bits.value == pytest.approx(est.value / math.log(2))


# -- the Tracker's default measures and the plane from records ---------------------------
def test_tracker_defaults_are_the_noisy_plane_and_agree_with_the_estimator(tmp_path):
    from infocli.ib import plane_from_records
    from infocli.torch import Tracker

    torch.manual_seed(0)
    x, y = labelled_blobs(400, 0, classes=4, dims=8)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    path = tmp_path / "records.jsonl"
    with Tracker(model, ["1", "2"], x, y, every=1, rows=300, path=path, seed=1) as tracker:
        assert tracker.measures == ("mi_x_noisy", "mi_y_noisy")
        for epoch in range(3):
            for idx in torch.randperm(400).split(50):
                loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            new = tracker.step(epoch)
            assert len(new) == 4
    last = {(r["layer"], r["measure"]): r for r in tracker.records if r["epoch"] == 2}
    with torch.no_grad():
        logits = model(x[tracker.probe_index]).double().numpy()
    direct = infocli.mutual_information(logits, y[tracker.probe_index].numpy(),
                                        estimator="noisy", discrete_y=True, seed=9)
    rec = last[("2", "mi_y_noisy")]
    assert abs(rec["value"] - direct.value) < 4 * math.hypot(rec["stderr"], direct.stderr)
    for r in tracker.records:
        assert r["estimator"] == "noisy" and r["reliable"] is True and r["n_samples"] == 300
        assert 0.0 <= r["lo"] <= r["value"] <= r["hi"]
    # the trained logits carry the labels: well above 0, below H(Y)
    assert 0.3 < rec["value"] <= math.log(4) + 1e-9
    # the records plot as an information plane with error bars
    plane = plane_from_records(str(path))
    assert len(plane.points) == 3 * 2
    point = [p for p in plane.points if p.epoch == 2 and p.layer == "2"][0]
    assert point.i_ty == pytest.approx(rec["value"]) and point.i_ty_stderr == pytest.approx(
        rec["stderr"])
    assert point.i_xt == pytest.approx(last[("2", "mi_x_noisy")]["value"])
    in_bits = plane_from_records(tracker.records, unit="bits")
    assert in_bits.points[0].i_xt == pytest.approx(plane.points[0].i_xt / math.log(2))
    with Tracker(model, ["1"], x, y, rows=300, params={"noisy": {"noise": 1e-3}}) as sharp:
        by = {r["measure"]: r for r in sharp.step(0)}
    assert by["mi_x_noisy"]["reliable"] is False and "ceiling" in by["mi_x_noisy"]["warnings"]
    assert by["mi_y_noisy"]["reliable"] is True
    with pytest.raises(infocli.ParameterError, match="unknown noisy parameter"):
        Tracker(model, ["1"], x, y, params={"noisy": {"nose": 1}})
    with pytest.raises(infocli.ParameterError, match="needs class labels"):
        Tracker(model, ["1"], x, x[:, 0], discrete_y=False, measures=("mi_y_noisy",))


def test_plane_from_records_warns_and_refuses(tmp_path):
    from infocli.ib import plane_from_records

    base = {"estimator": "noisy", "stderr": 0.1, "lo": 0, "hi": 1, "unit": "nats",
            "n_samples": 10, "dim": 2, "warnings": ""}
    records = [
        {**base, "epoch": 0, "layer": "a", "measure": "mi_x_noisy", "value": 1.0,
         "reliable": True},
        {**base, "epoch": 0, "layer": "a", "measure": "mi_y_noisy", "value": 0.5,
         "reliable": False, "warnings": "bad fit"},
        {**base, "epoch": 1, "layer": "a", "measure": "mi_x_noisy", "value": 1.2,
         "reliable": True},
    ]
    plane = plane_from_records(records)
    assert [(p.epoch, p.i_xt, p.i_ty) for p in plane.points] == [(0, 1.0, 0.5)]
    assert any("no mi_y_noisy record" in w for w in plane.warnings)
    assert any("marked unreliable (bad fit)" in w for w in plane.warnings)
    with pytest.raises(infocli.InputError, match="no mi_x or mi_y records"):
        plane_from_records(records, x_measure="mi_x", y_measure="mi_y")
    with pytest.raises(infocli.InputError, match="unit 'furlongs'; expected nats or bits"):
        plane_from_records([{**r, "unit": "furlongs"} for r in records])
    bad = tmp_path / "r.jsonl"
    bad.write_text(json.dumps({"epoch": 0}) + "\n")
    with pytest.raises(infocli.InputError, match="record 1 has no layer"):
        plane_from_records(str(bad))


def _cli(*args, cwd):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "infocli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    return proc


def test_cli_noisy_estimator_and_ib_from_records(tmp_path):
    rng = np.random.default_rng(6)
    t = rng.standard_normal((200, 3))
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "y.npy", (t[:, 0] > 0).astype(np.int64))
    res = _cli("mi", "t.npy", "y.npy", "-e", "noisy", "--discrete-y", "--format", "json",
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["estimator"] == "noisy"
    records = tmp_path / "records.jsonl"
    with open(records, "w") as fh:
        for epoch in range(2):
            for measure, value in (("mi_x_noisy", 2.0 + epoch), ("mi_y_noisy", 1.0)):
                fh.write(json.dumps({"epoch": epoch, "layer": "fc", "measure": measure,
                                     "value": value, "stderr": 0.05, "unit": "nats",
                                     "reliable": True}) + "\n")
    res = _cli("ib", "records.jsonl", "--format", "csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("epoch,layer,I_XT") and len(lines) == 3
    assert lines[2].split(",")[2] == "3.0"
    res = _cli("ib", "missing.jsonl", cwd=tmp_path)
    assert res.returncode == 2 and "missing.jsonl: no such file or directory" in res.stderr
    res = _cli("ib", ".", cwd=tmp_path)  # activations need --x and --y
    assert res.returncode == 2 and "pass --x FILE and --y FILE" in res.stderr
    assert "Traceback" not in res.stderr
