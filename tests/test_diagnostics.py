"""The reliability check (issue 13): interval, verdict, check levels, record, table."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import infocli
from infocli import diagnostics
from infocli._render import render_estimate
from infocli.estimators import knn
from infocli.estimators._common import Context, Raw
from infocli.result import Estimate

from conftest import gaussian_pair


def _sparse_25x25(n, seed):
    """25 x 25 dimensions, two coordinate pairs with rho = 0.9, the rest noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 25))
    y = rng.standard_normal((n, 25))
    y[:, :2] = 0.9 * x[:, :2] + math.sqrt(1 - 0.81) * y[:, :2]
    return x, y, -math.log(1 - 0.81)


def _inside(truth, interval):
    lo, hi = interval
    return (lo is None or lo <= truth) and (hi is None or truth <= hi)


# --------------------------------------------------------------------------- easy cases


@pytest.mark.parametrize("estimator", ["ksg", "gaussian"])
def test_interval_contains_the_truth_on_a_gaussian_pair(rng, estimator):
    x, y, truth = gaussian_pair(rng, 2000, 1, 0.6)
    est = infocli.mutual_information(x, y, estimator=estimator, seed=1)
    assert est.reliable is True and est.details["diagnostics"] == []
    lo, hi = est.interval
    assert lo < truth < hi
    assert lo <= est.value <= hi
    assert hi - lo < 0.5 * truth  # sharp: not a vacuous interval
    assert est.details["check"] == "fast"


@pytest.mark.parametrize("estimator", ["kl", "gaussian"])
def test_entropy_interval_contains_the_truth(rng, estimator):
    x = rng.standard_normal((2000, 2)) * [1.0, 3.0]
    truth = 0.5 * 2 * math.log(2 * math.pi * math.e) + math.log(3.0)
    est = infocli.entropy(x, estimator=estimator, seed=2)
    assert est.reliable is True
    assert _inside(truth, est.interval) and None not in est.interval


def test_ksg_rising_with_n_is_an_honest_lower_bound():
    # KSG far below the truth and rising with n: its bias is downward, so the check
    # keeps it as "at least lo" (reliable, one-sided) and says why
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1000, 5))
    y = 0.8 * x + 0.6 * rng.standard_normal((1000, 5))
    truth = -2.5 * math.log(1 - 0.64)  # 2.55 nats; KSG gives about 1.8 at n = 1000
    est = infocli.mutual_information(x, y, seed=0, estimator="ksg")
    assert est.value < 0.8 * truth
    assert est.details["diagnostics"] == [] and est.reliable is True
    assert est.interval[1] is None and _inside(truth, est.interval)
    assert est.interval[0] < est.value
    assert any(w.startswith("rising with sample size") for w in est.warnings)


def test_ksg_falling_with_n_stays_unreliable():
    # the opposite drift (parts above the full-data value: the truth lies below) is no
    # bound: it stays marked. Independent data with one very skewed side, k = 10
    rng = np.random.default_rng(1)
    rng.standard_normal((2000, 2))  # the stream as drawn when this case was found
    x, y = rng.standard_normal((2000, 3)), rng.standard_normal((2000, 3))
    est = infocli.mutual_information(np.exp(3 * x), y, seed=0, estimator="ksg", k=10)
    assert est.details["reliability"]["bias_slow"] > 0  # falling with n
    assert est.reliable is False and "not_converged" in est.details["diagnostics"]
    assert est.interval[0] is not None and est.interval[0] <= 0.0 + 1e-12


@pytest.mark.slow  # brute-force Chebyshev distances in 50 dimensions
def test_unconverged_high_dimensional_ksg_is_unreliable():
    x, y, truth = _sparse_25x25(2000, 0)
    est = infocli.mutual_information(x, y, estimator="ksg", seed=0)
    assert est.value < 0.5 * truth  # far off: the case the check must catch
    assert est.reliable is False
    assert {"not_converged", "high_dimension"} & set(est.details["diagnostics"])
    assert any(w.startswith(("not converged", "high dimension")) for w in est.warnings)
    lo, hi = est.interval
    assert hi is None and lo <= est.value  # "at least lo": the truth is above
    assert _inside(truth, est.interval)


def test_normal_scores_and_moments_match_scipy():
    from scipy.special import ndtri
    from scipy.stats import kurtosis, rankdata, skew

    a = np.random.default_rng(0).integers(0, 5, (200, 3)).astype(float)  # many ties
    np.testing.assert_allclose(diagnostics._rank_gauss(a),
                               ndtri((rankdata(a, axis=0) - 0.5) / 200), rtol=1e-12)
    b = np.random.default_rng(1).standard_t(3, (500, 2))
    g1, g2 = diagnostics._skew_kurtosis(b)
    np.testing.assert_allclose(g1, skew(b, axis=0), rtol=1e-10)
    np.testing.assert_allclose(g2, kurtosis(b, axis=0), rtol=1e-10)


# --------------------------------------------------------------------------- impossible values


def _shifted(delta):
    """KSG plus a constant: a biased estimator, as the check sees any estimator."""
    def impl(ctx, x, y, **params):
        raw = knn.ksg_mi(ctx, x, y, **params)
        return Raw(raw.value + delta, raw.stderr, raw.stderr_method)
    return impl


def _assess(impl, arrays, discrete, measure="mutual_information", check="fast", seed=0):
    params = infocli.registry.get("ksg").resolve_params({})
    ctx = Context(rng=np.random.default_rng(seed), discrete=discrete,
                  names={"x": "x", "y": "y"})
    raw = impl(ctx, *arrays.values(), **params)
    est = Estimate(measure=measure, estimator="ksg", value=raw.value, unit="nats",
                   stderr=raw.stderr, n_samples=len(arrays["x"]), dims={}, params=params,
                   device="cpu", seconds=0.0, version="t", warnings=tuple(ctx.warnings),
                   details=dict(ctx.details))
    return diagnostics.assess(est, impl=impl, arrays=arrays, ctx=ctx, params=params,
                              seed=seed, check=check)


def test_negative_mi_beyond_noise_is_impossible(rng):
    x, y, _ = gaussian_pair(rng, 1000, 1, 0.0)
    est = _assess(_shifted(-0.3), {"x": x, "y": y}, {"x": False, "y": False})
    assert est.value < -0.2
    assert est.reliable is False and "impossible_value" in est.details["diagnostics"]
    assert est.interval[0] == 0.0  # clipped to what MI can be


def test_negative_mi_within_noise_is_not_flagged(rng):
    x, y, _ = gaussian_pair(rng, 1000, 1, 0.0)
    est = _assess(_shifted(0.0), {"x": x, "y": y}, {"x": False, "y": False})
    assert "impossible_value" not in est.details["diagnostics"]
    assert est.interval[0] >= 0.0


def test_mi_above_label_entropy_is_impossible(rng):
    labels = rng.integers(0, 2, 1000)
    x = (labels * 3.0 + rng.standard_normal(1000))[:, None]
    est = _assess(_shifted(1.0), {"x": x, "y": labels}, {"x": False, "y": True})
    h_y = est.details["reliability"]["label_entropy"]
    assert h_y == pytest.approx(math.log(2), abs=0.01)
    assert est.value > h_y + 0.2
    assert est.reliable is False and "impossible_value" in est.details["diagnostics"]
    assert est.interval[1] == pytest.approx(h_y)


def test_labels_interval_is_capped_by_label_entropy(rng):
    labels = rng.integers(0, 2, 2000)
    x = (labels * 8.0 + rng.standard_normal(2000))[:, None]  # nearly separable: I ~ log 2
    est = infocli.mutual_information(x, labels, discrete_y=True, seed=0)
    h_y = est.details["reliability"]["label_entropy"]
    assert est.interval[1] <= h_y + 1e-12
    assert est.interval[0] <= est.value


# --------------------------------------------------------------------------- gaussian


def test_gaussian_plug_in_flags_heavy_tails(rng):
    n = 4000
    z = rng.standard_normal((n, 2))
    t = z * np.sqrt(1 / rng.chisquare(1, size=(n, 1)))  # Student-t, dof 1: MI 0.45, rho 0
    est = infocli.mutual_information(t[:, :1], t[:, 1:], estimator="gaussian")
    assert est.reliable is False and "non_gaussian" in est.details["diagnostics"]
    assert est.interval[1] is None  # with Gaussian margins the plug-in is a lower bound


def test_gaussian_entropy_of_uniform_is_an_upper_bound(rng):
    x = rng.uniform(size=(3000, 1))  # H = 0; the Gaussian plug-in gives 0.18
    est = infocli.entropy(x, estimator="gaussian")
    assert est.reliable is False and "non_gaussian" in est.details["diagnostics"]
    assert est.interval[0] is None and est.interval[1] >= est.value
    assert _inside(0.0, est.interval)


# --------------------------------------------------------------------------- levels


@pytest.mark.parametrize("estimator,fn,args", [
    ("ksg", knn.ksg_mi, ("x", "y")),
    ("kl", knn.kl_entropy, ("x",)),
])
def test_check_off_is_bit_for_bit_the_plain_estimate(rng, estimator, fn, args):
    x, y, _ = gaussian_pair(rng, 800, 2, 0.5)
    arrays = {"x": x, "y": y}
    params = infocli.registry.get(estimator).resolve_params({})
    raw = fn(Context(rng=np.random.default_rng(5), names={"x": "x", "y": "y"}),
             *[arrays[a] for a in args], **params)
    call = infocli.mutual_information if len(args) == 2 else infocli.entropy
    off = call(*[arrays[a] for a in args], estimator=estimator, seed=5, check="off")
    on = call(*[arrays[a] for a in args], estimator=estimator, seed=5)
    assert off.value == raw.value and off.stderr == raw.stderr  # bit for bit
    assert off.interval is None and off.reliable is None and off.details["check"] == "off"
    assert "diagnostics" not in off.details
    assert on.value == raw.value  # the check never moves the value
    assert on.details["stderr_estimator" if on.stderr != raw.stderr else "check"]


def test_gaussian_check_off_keeps_value_and_stderr(rng):
    x, y, _ = gaussian_pair(rng, 600, 2, 0.4)
    off = infocli.mutual_information(x, y, estimator="gaussian", seed=3, check="off")
    on = infocli.mutual_information(x, y, estimator="gaussian", seed=3, check="full")
    assert on.value == off.value
    assert on.details.get("stderr_estimator", on.stderr) == off.stderr
    assert on.details["check"] == "full"


def test_same_seed_same_verdict_and_interval(rng):
    x, y, _ = gaussian_pair(rng, 1500, 2, 0.5)
    a = infocli.mutual_information(x, y, seed=4)
    b = infocli.mutual_information(x, y, seed=4)
    assert a.interval == b.interval and a.reliable == b.reliable and a.stderr == b.stderr
    assert a.details["reliability"] == b.details["reliability"]


def test_too_few_rows_fall_back_and_say_so(rng):
    x, y, _ = gaussian_pair(rng, 60, 1, 0.5)
    est = infocli.mutual_information(x, y)  # the plain estimator accepts 60 rows
    assert est.details["check"] == "bounds" and est.details["check_requested"] == "fast"
    assert est.reliable is False and "too_few_rows" in est.details["diagnostics"]
    assert any("too few rows" in w for w in est.warnings)


def test_full_level_with_fewer_rows_uses_fewer_parts(rng):
    x, y, _ = gaussian_pair(rng, 300, 1, 0.5)
    est = infocli.mutual_information(x, y, check="full")
    parts = est.details["reliability"]["ladder_parts"]
    assert parts == [2, 3, 4, 5, 6]  # parts of at least 50 rows (k=3): 300 // 6
    assert any("fewer parts were used" in w for w in est.warnings)
    assert est.details["check"] == "full"


def test_unknown_check_level_is_a_parameter_error(rng):
    x, y, _ = gaussian_pair(rng, 100, 1, 0.5)
    with pytest.raises(infocli.ParameterError, match="check 'quick': expected one of off"):
        infocli.mutual_information(x, y, check="quick")


# --------------------------------------------------------------------------- fitted estimators


def _record(details, value=1.0, stderr=0.05, estimator="infonce", warnings=()):
    return Estimate(measure="mutual_information", estimator=estimator, value=value,
                    unit="nats", stderr=stderr, n_samples=5000, dims={"x": 1, "y": 1},
                    params={}, device="cpu", seconds=0.0, version="t",
                    warnings=tuple(warnings), details=details)


def test_infonce_capped_flag_becomes_unreliable():
    ctx = Context(rng=np.random.default_rng(0))
    est = diagnostics.assess(_record({"capped": True, "ceiling": 4.16}, value=3.9),
                             impl=None, arrays={"x": np.zeros((5000, 1))}, ctx=ctx,
                             params={}, seed=0, check="fast")
    assert est.reliable is False and est.details["diagnostics"] == ["capped"]
    assert est.interval[1] is None and est.interval[0] < 3.9


def test_neural_bound_is_one_sided_and_gap_is_flagged():
    ctx = Context(rng=np.random.default_rng(0))
    fine = diagnostics.assess(_record({"best_validation_bound": 1.02}), impl=None,
                              arrays={"x": np.zeros((5000, 1))}, ctx=ctx, params={}, seed=0,
                              check="fast")
    assert fine.reliable is True and fine.interval[1] is None
    assert fine.interval[0] == pytest.approx(1 - 1.96 * 0.05, rel=1e-4)
    gap = diagnostics.assess(_record({"best_validation_bound": 1.6}), impl=None,
                             arrays={"x": np.zeros((5000, 1))}, ctx=ctx, params={}, seed=0,
                             check="fast")
    assert gap.reliable is False and gap.details["diagnostics"] == ["train_test_gap"]


# --------------------------------------------------------------------------- record and table


def test_json_carries_interval_and_verdict_and_units_convert(rng):
    x, y, _ = gaussian_pair(rng, 1000, 1, 0.6)
    nats = infocli.mutual_information(x, y, seed=0, estimator="ksg")
    bits = infocli.mutual_information(x, y, seed=0, unit="bits", estimator="ksg")
    d = json.loads(nats.to_json())
    assert d["interval"] == list(nats.interval) and d["reliable"] is True
    assert d["details"]["check"] == "fast" and d["details"]["diagnostics"] == []
    assert bits.interval[0] == pytest.approx(nats.interval[0] / math.log(2), rel=1e-12)
    assert bits.interval[1] == pytest.approx(nats.interval[1] / math.log(2), rel=1e-12)


def test_table_shows_interval_and_verdict(rng):
    x, y, _ = gaussian_pair(rng, 1000, 1, 0.6)
    good = infocli.mutual_information(x, y, seed=0, estimator="ksg")
    console = Console(record=True, width=120)
    render_estimate(good, console)
    text = console.export_text()
    assert "95% interval" in text and "reliable" in text and "UNRELIABLE" not in text
    d = max(0, 1 - math.floor(math.log10(good.stderr)))
    assert f"{good.value:.{d}f} ± {good.stderr:.{d}f}" in text  # rounded to the error bar
    bad = infocli.mutual_information(x[:60], y[:60], estimator="ksg")
    console = Console(record=True, width=120)
    render_estimate(bad, console)
    text = console.export_text()
    assert "UNRELIABLE (too_few_rows)" in text and "too few rows" in text


def test_cli_check_option(tmp_path, rng):
    from infocli.cli import app

    x, y, _ = gaussian_pair(rng, 500, 1, 0.6)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    runner = CliRunner()
    off = runner.invoke(app, ["mi", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                              "--json", "--check", "off"])
    assert off.exit_code == 0, off.output
    rec = json.loads(off.stdout)
    assert rec["interval"] is None and rec["reliable"] is None
    assert rec["value"] == infocli.mutual_information(x, y, check="off").value
    bad = runner.invoke(app, ["entropy", str(tmp_path / "x.npy"), "--check", "always"])
    assert bad.exit_code == 2 and "check 'always'" in bad.output


# --------------------------------------------------------------------------- this round


def test_gaussian_canonical_pair_test_sees_nonlinear_dependence(rng):
    x = rng.standard_normal((3000, 1))
    y = x ** 2 + 0.3 * rng.standard_normal((3000, 1))  # correlation 0, MI about 1.1 nats
    est = infocli.mutual_information(x, y, estimator="gaussian")
    assert est.value < 0.05
    assert est.reliable is False and "non_gaussian" in est.details["diagnostics"]
    (pair,) = est.details["reliability"]["canonical_pairs"]
    assert pair["ksg"] > 0.8 and pair["ksg"] - pair["gaussian"] > 10 * pair["se"]
    assert est.interval[1] is None or est.interval[1] > 0.8  # widened to what KSG sees
    g = infocli.mutual_information(x, 0.7 * x + rng.standard_normal((3000, 1)),
                                   estimator="gaussian")
    assert g.reliable is True and "non_gaussian" not in g.details["diagnostics"]


def test_knife_joint_form_is_a_lower_bound(rng):
    x, y, truth = gaussian_pair(rng, 1000, 2, 0.6)
    est = infocli.mutual_information(x, y, estimator="knife", seed=0)
    assert est.details["mi_form"] == "joint"
    assert est.interval[1] is None and est.interval[0] < est.value
    assert est.details["reliability"]["bound"].startswith("lower")
    assert _inside(truth, est.interval)


def test_auto_ladder_reruns_the_chosen_candidate(monkeypatch):
    # I(X;Y|Z) = 0 (a chain): the max of two noisy candidates drifts up on small parts;
    # read as "not converged" it flagged this sample before the ladder re-ran the
    # chosen candidate alone
    from pathlib import Path

    chain = np.load(Path(__file__).parents[1] / "sample_data" / "chain.npz")
    est = infocli.conditional_mutual_information(chain["x"], chain["y"], chain["z"])
    assert est.estimator == "auto" and est.reliable is True
    assert _inside(0.0, est.interval)
    seen = []
    from infocli.estimators import auto

    real = auto._run_candidates
    monkeypatch.setattr(auto, "_run_candidates",
                        lambda c, cand, a, only=None: seen.append(only) or real(c, cand, a, only))
    again = infocli.conditional_mutual_information(chain["x"], chain["y"], chain["z"])
    assert again.value == est.value
    chosen = est.details["auto"]["chosen"]
    assert seen[0] is None and set(seen[1:]) == {chosen}  # the estimate, then the parts


# --------------------------------------------------------------------------- summaries


def _student(n, seed, d=5, dof=2):
    """Student-t d x d with identity dispersion: all dependence in the shared scale."""
    from infocli import tasks

    t = tasks.get(f"student-identity-{d}-{d}-{dof}")
    return t.sample(n, seed=seed), t.truth


def test_radii_bound_marks_ksg_that_misses_a_shared_scale():
    # KSG in 10 dimensions gives about half the truth (0.45), with no drift on subsamples;
    # the radii carry all the dependence and a 2-D KSG on them sees it
    data, truth = _student(4000, 0)
    est = infocli.mutual_information(data["x"], data["y"], estimator="ksg", seed=0)
    assert est.value < 0.7 * truth
    assert est.reliable is False and "below_bound" in est.details["diagnostics"]
    bound = est.details["reliability"]["summary_bound"]
    assert "radii" in bound["summary"] and abs(bound["value"] - truth) < 0.1
    assert est.interval[1] is None and est.value < est.interval[0] <= truth
    assert any("lower bound on I(X;Y)" in w for w in est.warnings)


def test_summary_bound_is_silent_on_gaussian_data(rng):
    x, y, truth = gaussian_pair(rng, 3000, 3, 0.6)
    for estimator in ("ksg", "gaussian", "auto"):
        est = infocli.mutual_information(x, y, estimator=estimator, seed=0)
        assert "below_bound" not in est.details["diagnostics"], estimator
        b = est.details["reliability"]["summary_bound"]
        # one canonical pair carries a third of the information: a valid lower bound
        assert b["value"] - 2 * b["se"] < truth / 3 + 0.05, estimator


def test_radii_of_independent_variables_carry_no_information():
    from infocli import _summaries

    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((3000, 4)), rng.standard_t(2, size=(3000, 3))
    c = _summaries.canonical(diagnostics._rank_gauss(x), diagnostics._rank_gauss(y), 0)
    r = _summaries.radii_mi(c, 0)
    assert abs(r["ksg"]) < 3 * r["se"]
    assert _summaries.nonlinearity(c)["z"] < 4


def test_reset_test_catches_a_spiral_that_the_gaussian_model_misses():
    # bmi's spiral: x rotated by an angle growing with |x|^2 (MI unchanged, 1.02 nats)
    from infocli import tasks

    task = tasks.get("spiral-normal_cdf-multinormal-sparse-3-3-2-2.0")
    data, truth = task.sample(3000, seed=0), task.truth
    est = infocli.mutual_information(data["x"], data["y"], estimator="gaussian", seed=0)
    assert est.value < truth - 0.1  # the covariance sees part of the dependence
    test = est.details["reliability"]["nonlinearity"]
    assert test["z"] > 4 and test["gain"] > 0.05
    assert est.reliable is False and "non_gaussian" in est.details["diagnostics"]
    assert any("RESET" in w for w in est.warnings)
    assert est.interval[1] is None and est.interval[0] < truth
    # the same model on Gaussian data: no nonlinearity
    g = infocli.mutual_information(*gaussian_pair(np.random.default_rng(1), 3000, 3, 0.6)[:2],
                                   estimator="gaussian", seed=0)
    assert g.details["reliability"]["nonlinearity"]["z"] < 4 and g.reliable is True


def test_mildly_non_gaussian_entropy_is_at_most_the_gaussian_one():
    # three isotropic Gaussians in 10-D, means in a plane: kurtosis 1-2 % off the Gaussian
    # one, a true entropy 0.2 nats below the plug-in; the verdict stands, the interval
    # says "at most"
    from infocli import tasks

    task = tasks.get("entropy-mixture-10d-isotropic")
    x = task.sample(20000, seed=0)["x"]
    est = infocli.entropy(x, estimator="gaussian", seed=0)
    assert abs(est.details["reliability"]["kurtosis_z"]) > 3
    assert est.value > task.truth + 0.1
    assert est.reliable is True and est.interval[0] is None
    assert task.truth < est.interval[1] and est.value < est.interval[1]
    assert any("says only 'at most'" in w for w in est.warnings)


@pytest.mark.parametrize("estimator,measure", [("ksg", "mi"), ("kl", "entropy"),
                                               ("auto", "mi"), ("gaussian", "mi")])
def test_check_runs_its_parts_concurrently_with_the_same_result(monkeypatch, estimator,
                                                                measure):
    # the ladder's parts and the summaries' KSGs run on a thread per core; the
    # record must not depend on how many threads there are
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1200, 3))
    y = x[:, :2] ** 3 + rng.standard_normal((1200, 2))

    def run():
        if measure == "mi":
            return infocli.mutual_information(x, y, estimator=estimator, seed=3)
        return infocli.entropy(y, estimator=estimator, seed=3)

    monkeypatch.setenv("INFOCLI_NUM_THREADS", "1")
    one = run()
    monkeypatch.setenv("INFOCLI_NUM_THREADS", "2")
    two = run()
    assert one.details["reliability"] == two.details["reliability"]
    assert (one.value, one.stderr, one.interval, one.reliable) == \
        (two.value, two.stderr, two.interval, two.reliable)


def test_parallel_map_keeps_order_and_raises_in_order(monkeypatch):
    from infocli.errors import InputError
    from infocli.estimators._neighbors import parallel_map

    monkeypatch.setenv("INFOCLI_NUM_THREADS", "3")
    assert parallel_map(lambda i: i * i, list(range(7))) == [i * i for i in range(7)]

    def fail(i):
        if i >= 2:
            raise InputError(f"part {i}")
        return i

    with pytest.raises(InputError, match="part 2"):
        parallel_map(fail, [0, 1, 2, 3])


def test_fitted_estimators_weigh_the_parts_spread_over_their_stderr():
    # a fit whose randomness (SD 0.1) is far beyond the stderr it reports (0.01), as a
    # critic or a density scored on held-out rows: each part is a new fit and sees it
    def impl(ctx, x, y, **params):
        return Raw(1.0 + 0.1 * float(ctx.rng.standard_normal()), 0.01, "held-out rows")

    arrays = {"x": np.zeros((2000, 1)), "y": np.zeros((2000, 1))}
    ctx = Context(rng=np.random.default_rng(0), names={"x": "x", "y": "y"})
    got = {}
    for estimator in ("knife", "ksg"):
        record = replace(_record({}, value=1.0, stderr=0.01), estimator=estimator)
        est = diagnostics.assess(record, impl=impl, arrays=arrays, ctx=ctx, params={},
                                 seed=1, check="full")
        rel = est.details["reliability"]
        got[estimator] = (est.stderr, rel["stderr_subsample"],
                          sum(g - 1 for g in rel["ladder_parts"]))
    se, spread, dof = got["knife"]  # the stderr counts as one pseudo degree of freedom
    assert se == pytest.approx(math.sqrt((dof * spread ** 2 + 0.01 ** 2) / (dof + 1)))
    assert se > 0.03
    se, spread, dof = got["ksg"]  # kNN: six pseudo-dof, and never below its own stderr
    assert se == pytest.approx(math.sqrt((dof * spread ** 2 + 6 * 0.01 ** 2) / (dof + 6)))
    assert 0.01 < se < spread


@pytest.mark.parametrize("trend,reliable", [(+1, True), (-1, False)])
def test_a_lower_bound_rising_with_n_keeps_its_verdict(trend, reliable):
    # a lower bound whose parts (fewer rows) give less - it rises with n, toward the
    # open side of "at least lo" - stays reliable; one that falls with n (small
    # samples biased up) does not
    def impl(ctx, x, y, **params):
        n = len(x)
        noise = 0.005 * math.sqrt(4000 / n) * float(ctx.rng.standard_normal())
        return Raw(1.0 - trend * 40.0 / math.sqrt(n) + noise, 0.005, "held-out rows")

    arrays = {"x": np.zeros((4000, 1)), "y": np.zeros((4000, 1))}
    ctx = Context(rng=np.random.default_rng(0), names={"x": "x", "y": "y"})
    value = impl(ctx, arrays["x"], arrays["y"]).value
    est = diagnostics.assess(_record({}, value=value, stderr=0.005, estimator="nwj"),
                             impl=impl, arrays=arrays, ctx=ctx, params={}, seed=0,
                             check="full")
    assert est.reliable is reliable
    assert est.interval[1] is None
    if reliable:
        assert "not converged" in " ".join(est.warnings)
        assert est.interval[0] <= value - 1.96 * est.stderr
    else:
        assert "not_converged" in est.details["diagnostics"]
