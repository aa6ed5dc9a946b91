"""Discrete and mixed data (issue 26): plug-in entropies and MI with bias corrections
against exact values, their intervals, masks, auto's dispatch and the H bound."""

import numpy as np
import pytest

import infocli
from infocli.estimators import discrete


def _h(p):
    p = np.asarray(p, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def test_entropy_from_counts_hand_values():
    counts = np.array([5, 3, 1, 1])
    n = 10
    plug = _h(counts / n)
    assert discrete.entropy_from_counts(counts, "plugin") == pytest.approx(plug)
    assert discrete.entropy_from_counts(counts, "miller_madow") == pytest.approx(plug + 3 / 20)
    # Chao-Shen by hand: f1 = 2 singletons, coverage C = 0.8
    pa = 0.8 * counts / n
    cs = -(pa * np.log(pa) / (1 - (1 - pa) ** n)).sum()
    assert discrete.entropy_from_counts(counts, "chao_shen") == pytest.approx(cs)


@pytest.mark.parametrize("method", ["miller_madow", "chao_shen"])
def test_multinomial_entropy_within_interval(method):
    # closed form: 8 classes with geometric-like probabilities; 60 seeds at n = 400
    p = 0.6 ** np.arange(8)
    p /= p.sum()
    truth = _h(p)
    inside, values = 0, []
    for seed in range(60):
        x = np.random.default_rng([7, seed]).choice(8, size=400, p=p)
        est = infocli.entropy(x, estimator="discrete", discrete_x=True, method=method)
        lo, hi = est.interval
        inside += lo <= truth <= hi
        values.append(est.value)
    assert inside >= 54  # 95 % nominal; >= 90 % of 60 runs
    # Miller-Madow removes the 1/n bias; Chao-Shen equals the plug-in when no class is
    # seen once (coverage 1), so it keeps part of that bias here
    se = np.std(values, ddof=1) / np.sqrt(len(values))
    assert abs(np.mean(values) - truth) < 3 * se + (0.0 if method == "miller_madow" else 0.01)
    # the plug-in is biased down by about (K - 1) / 2n; the corrections remove it
    plug = np.mean([infocli.entropy(np.random.default_rng([7, s]).choice(8, 400, p=p),
                                    estimator="discrete", discrete_x=True,
                                    method="plugin", check="off").value for s in range(60)])
    assert truth - plug > 0.005


def test_chao_shen_beats_miller_madow_when_undersampled():
    # 1,000 equiprobable classes, 300 rows: most classes unseen; H = log 1000
    truth = np.log(1000)
    errs = {"miller_madow": [], "chao_shen": []}
    for seed in range(10):
        x = np.random.default_rng([3, seed]).integers(0, 1000, 300)
        for m in errs:
            errs[m].append(infocli.entropy(x, estimator="discrete", discrete_x=True, method=m,
                                           check="off").value - truth)
    assert abs(np.mean(errs["chao_shen"])) < abs(np.mean(errs["miller_madow"])) / 2
    # auto picks Chao-Shen there (low coverage) and says why
    est = infocli.entropy(np.random.default_rng(1).integers(0, 1000, 300), discrete_x=True)
    assert est.details["auto"]["chosen"] == "discrete(chao_shen)"


def test_discrete_mi_exact_for_large_n():
    # x uniform on 4 values, y = x with prob 0.7 else uniform: exact I by enumeration
    rng = np.random.default_rng(11)
    n = 200_000
    x = rng.integers(0, 4, n)
    keep = rng.random(n) < 0.7
    y = np.where(keep, x, rng.integers(0, 4, n))
    pxy = np.full((4, 4), 0.3 / 16)
    pxy[np.diag_indices(4)] += 0.7 / 4
    truth = _h(pxy.sum(1)) + _h(pxy.sum(0)) - _h(pxy.ravel())
    est = infocli.mutual_information(x, y, estimator="discrete", discrete_x=True,
                                     discrete_y=True)
    assert est.value == pytest.approx(truth, abs=0.003)
    assert est.interval[0] <= truth <= est.interval[1]
    # auto takes integer columns with few levels as discrete and gives the same value
    auto = infocli.mutual_information(x, y)
    assert auto.details["auto"]["chosen"] == "discrete(miller_madow)"
    assert auto.value == est.value
    assert any("treated as discrete" in w and "discrete_x=False" in w for w in auto.warnings)


def test_discrete_mi_near_independence_over_50_seeds():
    # n = 200, 3 x 4 classes, independent: Miller-Madow's mean within 0.01 of 0,
    # the interval holds 0 in >= 90 % of 50 seeds
    vals, zero_in = [], 0
    for seed in range(50):
        rng = np.random.default_rng([26, seed])
        est = infocli.mutual_information(rng.integers(0, 3, 200), rng.integers(0, 4, 200))
        vals.append(est.value)
        zero_in += est.interval[0] <= 0.0
    assert abs(np.mean(vals)) < 0.01
    assert zero_in >= 45


def test_continuous_near_independence_bias_over_50_seeds():
    # auto at n = 200, independent normals: mean within 0.01 of 0 over seeds 0..49
    # (a one-sample test against 0: |mean| below 3 standard errors as well)
    vals = np.array([infocli.mutual_information(
        *np.random.default_rng([200, s]).standard_normal((2, 200)), check="off").value
        for s in range(50)])
    assert abs(vals.mean()) < 0.01
    assert abs(vals.mean()) < 3 * vals.std(ddof=1) / np.sqrt(vals.size) + 1e-3


def test_masks_by_index_name_and_bool():
    import pandas as pd

    rng = np.random.default_rng(5)
    n = 300
    c = rng.integers(0, 3, n)
    frame = pd.DataFrame({"c": c.astype(float), "u": rng.standard_normal(n)})
    y = c + rng.standard_normal(n)
    values = {infocli.mutual_information(frame, y, discrete_x=m, check="off").value
              for m in (["c"], [0], [True, False], np.array([True, False]))}
    assert len(values) == 1
    est = infocli.mutual_information(frame, y, discrete_x=["c"], check="off")
    assert est.details["auto"]["chosen"].startswith("mixed_ksg")
    with pytest.raises(infocli.InputError, match="no column 'zz'"):
        infocli.mutual_information(frame, y, discrete_x=["zz"])
    with pytest.raises(infocli.ParameterError, match="both discrete and continuous"):
        infocli.mutual_information(frame, y, discrete_x=["c"], estimator="ksg")


def test_mixed_ksg_recovers_ross_and_is_symmetric():
    # one discrete side: the mixed estimator and Ross's agree within noise, and auto
    # gives the same value with the roles of x and y swapped
    rng = np.random.default_rng(9)
    n = 2000
    lab = rng.integers(0, 3, n)
    x = lab + rng.standard_normal(n)
    ross = infocli.mutual_information(x, lab, estimator="ksg", discrete_y=True, k=3)
    gao = infocli.mutual_information(x, lab, estimator="mixed_ksg", discrete_y=True)
    assert gao.value == pytest.approx(ross.value, abs=3 * ross.stderr + 0.01)
    a = infocli.mutual_information(x, lab)
    b = infocli.mutual_information(lab, x)
    assert a.value == pytest.approx(b.value, abs=1e-12)


def test_mi_above_the_discrete_entropy_is_clipped_and_marked():
    # y a deterministic function of a 2-class x: I = H(x) = log 2; kNN estimators read
    # above it on small n, and the excess is clipped, recorded and warned about
    from infocli.estimators._common import Context

    ctx = Context(rng=np.random.default_rng(0), names={"y": "y"})
    out = discrete.bound_by_entropy(ctx, 0.9, {"y": np.array([0, 1] * 50)})
    assert out["value"] == pytest.approx(np.log(2) + 1 / 200)
    assert ctx.details["clipped"] == {"from": 0.9, "to": out["value"], "bound": "H(y)"}
    assert any("clipped" in w for w in ctx.warnings)


def test_discrete_bad_input():
    with pytest.raises(infocli.InputError, match="needs discrete data"):
        infocli.entropy(np.random.default_rng(0).standard_normal(100), estimator="discrete")
    with pytest.raises(infocli.InputError, match="100,000 distinct class labels"):
        infocli.entropy(np.arange(100_000).astype(str), estimator="discrete")
    # text and booleans are labels (documented conversion), never numbers
    est = infocli.entropy(np.array(["a", "b"] * 50))
    assert est.value == pytest.approx(np.log(2) + 1 / 200)
    est = infocli.entropy(np.array([True, False] * 50))
    assert est.value == pytest.approx(np.log(2) + 1 / 200)


def test_auto_reports_tie_jitter_in_the_columns_units():
    # a column on a grid of 1/10.5: auto works on normal scores, but the warning and
    # details.ties give the width in the column's own units (not the scores' gap)
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal(442) * 10) / 10.5
    est = infocli.mutual_information(x, x + rng.standard_normal(442))
    assert est.details["ties"]["x[0]"]["width"] == pytest.approx(1 / 10.5)
    assert any("width 0.0952" in w for w in est.warnings)
    # and a 1 x 1 MI is never told to reduce its dimension
    assert not any("reduce the dimension" in w or "high dimension" in w for w in est.warnings)


def test_cli_discrete_x_columns_with_text(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    import infocli.cli

    rng = np.random.default_rng(2)
    n = 300
    f = pd.DataFrame({"s": rng.choice(["a", "b", "c"], n), "x": rng.standard_normal(n)})
    f["y"] = f["x"] + (f["s"] == "a") + rng.standard_normal(n)
    f.to_csv(tmp_path / "m.csv", index=False)
    runner = CliRunner()
    res = runner.invoke(infocli.cli.app, ["mi", str(tmp_path / "m.csv"), "--x-cols", "x,s",
                                          "--y-cols", "y", "--discrete-x", "s", "--json",
                                          "--check", "off"])
    assert res.exit_code == 0, res.output
    import json

    out = json.loads(res.stdout)
    assert out["details"]["auto"]["chosen"].startswith("mixed_ksg")
    # the same as the library with the text column named in discrete_x
    lib = infocli.mutual_information(f[["x", "s"]], f["y"], discrete_x=["s"], check="off")
    assert out["value"] == pytest.approx(lib.value)
    res = runner.invoke(infocli.cli.app, ["mi", str(tmp_path / "m.csv"), "--x-cols", "x",
                                          "--y-cols", "y", "--discrete-x", "s"])
    assert res.exit_code == 2 and "is not one of the selected columns" in res.stderr


def test_auto_keeps_many_integer_columns_continuous_when_their_joint_values_are_too_many():
    # 20 pixel-like columns of 10 levels at n = 300: nearly every row is its own joint
    # value, so counting cannot work; auto keeps them continuous, in one warning
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, (300, 20)).astype(float)
    y = x[:, :2].sum(1, keepdims=True) + rng.standard_normal((300, 1))
    est = infocli.mutual_information(x, y, seed=0, check="off")
    notes = [w for w in est.warnings if "too many to count" in w]
    assert len(notes) == 1 and "20 integer-valued column(s)" in notes[0]
    assert not est.details.get("discrete_columns") and est.value > 0.2
    # a well-populated integer column (10 values, 30 rows each) is still counted
    small = infocli.mutual_information(x[:, :1], y, seed=0, check="off")
    assert any("treated as discrete" in w for w in small.warnings)


# --------------------------------------------------------------------------- NSB


@pytest.mark.parametrize("counts, value, sd", [
    # ndd's README (simomarsili/ndd, v1.6-1.7), k = 100: published values of its NSB
    ([4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2], 2.8060922529931225,
     0.11945501149743358),
    ([12, 4, 12, 4, 5, 3, 1, 5, 1, 2, 2, 2, 2, 11, 3, 4, 12, 12, 1, 2], 2.840012048914245,
     None),
])
def test_nsb_matches_ndd_published_values(counts, value, sd):
    post = discrete.nsb_entropy(np.array(counts), 100)
    assert post["value"] == pytest.approx(value, abs=2e-5)
    if sd is not None:
        assert post["sd"] == pytest.approx(sd, abs=1e-4)


def test_nsb_against_an_independent_integral():
    # the same posterior mean by another route: quad over beta, the evidence from
    # scipy's Dirichlet-multinomial, the prior d xi / d beta by a finite difference of
    # xi(beta) = psi(K beta + 1) - psi(beta + 1), E[H | beta] summed class by class
    from scipy import integrate, special, stats

    K = 30
    counts = np.array([7, 3, 3, 2, 1, 1, 1, 1])
    full = np.concatenate([counts, np.zeros(K - counts.size)])
    n = int(counts.sum())

    def xi(b):
        return special.digamma(K * b + 1) - special.digamma(b + 1)

    def weight(b):
        dxi = (xi(b * (1 + 1e-6)) - xi(b * (1 - 1e-6))) / (2e-6 * b)
        return dxi * np.exp(stats.dirichlet_multinomial.logpmf(full, np.full(K, b), n))

    def cond_mean(b):
        a = full + b
        A = a.sum()
        return special.digamma(A + 1) - sum(ai / A * special.digamma(ai + 1) for ai in a)

    z = integrate.quad(weight, 0, np.inf, limit=400)[0]
    mean = integrate.quad(lambda b: weight(b) * cond_mean(b), 0, np.inf, limit=400)[0] / z
    assert discrete.nsb_entropy(counts, K)["value"] == pytest.approx(mean, abs=1e-6)


def test_nsb_conditional_moments_against_dirichlet_samples():
    # E[H | beta] and E[H^2 | beta] of the closed forms against 200,000 Dirichlet draws
    counts = np.array([5.0, 2.0, 1.0, 0.0, 0.0])
    beta = 0.7
    values, mult = np.array([0.0, 1.0, 2.0, 5.0]), np.array([2.0, 1.0, 1.0, 1.0])
    _, mean, second = discrete._nsb_grid_terms(np.array([np.log(beta)]), values, mult, 5.0,
                                               8.0, moments=True)
    p = np.random.default_rng(0).dirichlet(counts + beta, size=200_000)
    h = -(p * np.log(p)).sum(axis=1)
    assert mean[0] == pytest.approx(h.mean(), abs=3e-3)
    assert second[0] - mean[0] ** 2 == pytest.approx(h.var(), rel=0.03)


def test_nsb_less_biased_than_miller_madow_when_undersampled():
    # 1,000 equiprobable classes, n = 100 and 300: H = log 1000, most classes unseen
    truth = np.log(1000)
    for n, nsb_bias in ((100, 0.35), (300, 0.15)):
        errs = {"plugin": [], "miller_madow": [], "nsb": []}
        inside = 0
        for seed in range(12):
            x = np.random.default_rng([26, n, seed]).integers(0, 1000, n)
            for m in errs:
                est = infocli.entropy(x, estimator="discrete", discrete_x=True, method=m,
                                      check="off", **({"alphabet_size": 1000} if m == "nsb"
                                                      else {}))
                errs[m].append(est.value - truth)
                if m == "nsb":
                    lo, hi = est.details["discrete"]["interval"]
                    inside += lo <= truth <= hi
                    # mean - 1.96 posterior sd (the upper end may be capped at log K)
                    assert lo == pytest.approx(est.value - 1.959964 * est.stderr, abs=1e-6)
                    assert hi <= np.log(1000) + 1e-12
        bias = {m: np.mean(v) for m, v in errs.items()}
        assert bias["plugin"] < bias["miller_madow"] < -0.9  # both far below the truth
        assert abs(bias["nsb"]) < nsb_bias
        assert inside >= 10


def test_nsb_mi_and_parameters():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, 20_000)
    y = np.where(rng.random(20_000) < 0.7, x, rng.integers(0, 4, 20_000))
    pxy = np.full((4, 4), 0.3 / 16)
    pxy[np.diag_indices(4)] += 0.7 / 4
    truth = _h(pxy.sum(1)) + _h(pxy.sum(0)) - _h(pxy.ravel())
    est = infocli.mutual_information(x, y, estimator="discrete", discrete_x=True,
                                     discrete_y=True, method="nsb", check="off")
    assert est.value == pytest.approx(truth, abs=0.01)
    # NSB's alphabet: as given, never below the classes seen; only for nsb and entropy
    with pytest.raises(infocli.InfocliError, match="smaller than the 4 classes seen"):
        infocli.entropy(x, estimator="discrete", discrete_x=True, method="nsb", alphabet_size=3)
    with pytest.raises(infocli.InfocliError, match="only method=nsb"):
        infocli.entropy(x, estimator="discrete", discrete_x=True, alphabet_size=9)
    with pytest.raises(infocli.InfocliError, match="for entropy only"):
        infocli.mutual_information(x, y, estimator="discrete", discrete_x=True,
                                   discrete_y=True, method="nsb", alphabet_size=9)
    # without the alphabet size and with classes seen once, a warning names the parameter
    few = np.random.default_rng(1).integers(0, 1000, 200)
    est = infocli.entropy(few, estimator="discrete", discrete_x=True, method="nsb")
    assert any("alphabet_size" in w for w in est.warnings)
    # a well-sampled alphabet: NSB, Miller-Madow and the truth agree
    p = np.array([0.5, 0.3, 0.2])
    big = np.random.default_rng(2).choice(3, 50_000, p=p)
    nsb = infocli.entropy(big, estimator="discrete", discrete_x=True, method="nsb", check="off")
    assert nsb.value == pytest.approx(_h(p), abs=0.01)
    assert nsb.stderr == pytest.approx(np.sqrt(discrete._delta_variance(np.bincount(big))),
                                       rel=0.05)
