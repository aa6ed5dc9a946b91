#!/usr/bin/env python
"""Is infocli ever confidently wrong? The acceptance numbers of issue 13.

For every estimator, over known-truth tasks x seeds, one run with the default
reliability check (``check="fast"`` unless ``--check`` says otherwise). The same
run gives both columns, since the check never changes ``value``:

* **before** - what a user had without the check: interval = value +- 1.96
  stderr (the estimator's own stderr, ``details["stderr_estimator"]`` when the
  check raised it), every run taken as reliable;
* **after**  - the result's ``interval`` and ``reliable``.

Printed per estimator (before -> after):

* confidently wrong: reliable and truth outside the interval, % of runs (target <= 5);
* coverage: truth inside the interval, % of reliable runs (target >= 90);
* false alarms: of the runs whose value is within 10 % + 0.02 nats of the
  truth, % marked unreliable (target <= 20);
* sharp: median half-width / |value| of reliable runs, % (target <= 15; a
  one-sided interval has infinite half-width); printed beside it, the same median
  with a one-sided interval measured from the value to its finite end (how tight
  the known side of a bound is), and the share of one-sided intervals;
* noise: median over tasks of (seed-to-seed SD of value) / (mean noise stderr)
  (target 0.8-1.25).

Then a speed table: kl / ksg / gaussian / auto, default check against check=off on
the same data (best of 2), ratio (target <= 5).

Tasks: every task of ``infocli.tasks`` an estimator accepts (the bmi family
and entropy tasks once merged), plus the built-in known-truth cases below
(Gaussian MI at several d and rho, a 25 x 25 sparse Gaussian at n = 2000,
Student-t, a cubic transform, labels, Gaussian entropy d = 1..64, uniform and
Student-t entropy) and the held-out families (``holdout-*``: shapes the checks
were not designed on; ``--tasks 'holdout-*'`` runs them alone), issue 30's entropy laws
(``laws-H-*``: Gaussian, uniform, Student-t, exponential, gamma, log-normal and cubic at
d = 1, 4, 20) and bmi's v2 suite (``--tasks 'bmi2:*'``: its 13 mixtures and, as
``bmi2:NAME``, the 13 v1 tasks it reruns). ``n`` is 5000 unless a task needs another
size.

Usage:
  python benchmarks/trust.py                         # all estimators (slow: neural, knife)
  python benchmarks/trust.py -e ksg -e kl -e gaussian --seeds 5
  python benchmarks/trust.py -e knife --seeds 2 --max-tasks 8 --runs runs.jsonl
  python benchmarks/trust.py --speed-only
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import integrate, special, stats

import infocli
from infocli import api, registry

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Case:
    name: str
    measure: str
    truth: float
    sampler: Callable[[int, np.random.Generator], dict]
    discrete: tuple = ()
    n: int = 5000
    dims: int = 2


# --------------------------------------------------------------------------- built-in cases


def _gauss_pairs(d: int, rho: float, extra: int = 0):
    """x, y of d coordinate pairs with correlation rho, plus extra noise columns each."""
    def sampler(n, rng):
        x = rng.standard_normal((n, d + extra))
        y = rng.standard_normal((n, d + extra))
        y[:, :d] = rho * x[:, :d] + math.sqrt(1 - rho * rho) * y[:, :d]
        return {"x": x, "y": y}
    return sampler


def _t_term(dof: float, dims: tuple[int, int]) -> float:
    """MI of a multivariate Student-t beyond its Gaussian part (scale identity)."""
    def g(d):
        return (special.gammaln(dof / 2) - special.gammaln((dof + d) / 2)
                + (dof + d) / 2 * (special.digamma((dof + d) / 2) - special.digamma(dof / 2)))
    return float(g(dims[0]) + g(dims[1]) - g(sum(dims)))


def _student(dof: float, rho: float, d: int = 1):
    def sampler(n, rng):
        xy = _gauss_pairs(d, rho)(n, rng)
        s = np.sqrt(dof / rng.chisquare(dof, size=(n, 1)))
        return {"x": xy["x"] * s, "y": xy["y"] * s}
    return sampler


def _t_entropy(dof: float) -> float:
    return float(np.log(np.sqrt(dof) * special.beta(dof / 2, 0.5))
                 + (dof + 1) / 2 * (special.digamma((dof + 1) / 2) - special.digamma(dof / 2)))


def _labels_mi(mu: float) -> float:
    """I(X;Y), Y uniform on {0,1}, X|Y ~ N(+-mu, 1): H(X) - H(X|Y) by quadrature."""
    def f(x):
        return 0.5 * (stats.norm.pdf(x, -mu) + stats.norm.pdf(x, mu))
    hx = integrate.quad(lambda x: -f(x) * np.log(f(x)), -mu - 12, mu + 12, limit=200)[0]
    return hx - 0.5 * np.log(2 * np.pi * np.e)


def _labels(mu: float):
    def sampler(n, rng):
        y = rng.integers(0, 2, n)
        return {"x": (rng.standard_normal(n) + np.where(y == 1, mu, -mu))[:, None], "y": y}
    return sampler


def builtin_cases() -> list[Case]:
    cases = []
    for d, rho in ((1, 0.5), (1, 0.9), (3, 0.6), (5, 0.8), (10, 0.5)):
        cases.append(Case(f"gauss-{d}x{d}-{rho}", "mutual_information",
                          -0.5 * d * math.log(1 - rho * rho), _gauss_pairs(d, rho), dims=2 * d))
    cases.append(Case("gauss-1x1-0", "mutual_information", 0.0, _gauss_pairs(1, 0.0)))
    cases.append(Case("sparse-25x25-n2000", "mutual_information", -math.log(1 - 0.81),
                      _gauss_pairs(2, 0.9, extra=23), n=2000, dims=50))
    for dof in (1, 3):
        cases.append(Case(f"student-1x1-df{dof}", "mutual_information",
                          _t_term(dof, (1, 1)), _student(dof, 0.0)))
    cases.append(Case("student-2x2-df2-0.5", "mutual_information",
                      -math.log(1 - 0.25) + _t_term(2, (2, 2)), _student(2, 0.5, 2), dims=4))

    def cubic(n, rng):
        xy = _gauss_pairs(1, 0.8)(n, rng)
        return {"x": xy["x"] ** 3, "y": xy["y"]}
    cases.append(Case("cubic-1x1-0.8", "mutual_information", -0.5 * math.log(1 - 0.64), cubic))
    cases.append(Case("labels-2-mu1", "mutual_information", _labels_mi(1.0), _labels(1.0),
                      discrete=("y",), dims=1))
    for d in (1, 2, 4, 8, 16, 32, 64):
        cases.append(Case(f"H-gauss-d{d}", "entropy", 0.5 * d * math.log(2 * math.pi * math.e),
                          lambda n, rng, d=d: {"x": rng.standard_normal((n, d))}, dims=d))
    for d in (1, 2):
        cases.append(Case(f"H-uniform-d{d}", "entropy", 0.0,
                          lambda n, rng, d=d: {"x": rng.uniform(size=(n, d))}, dims=d))
    cases.append(Case("H-student-df3", "entropy", _t_entropy(3),
                      lambda n, rng: {"x": rng.standard_t(3, size=(n, 1))}, dims=1))
    return cases


def _triangular(d: int, rho: float):
    """Gaussian pairs, then an invertible triangular map of x (x2 += sin 2 x1, x3 +=
    x1 x2 / 2, ...): nonlinear dependence of another shape than bmi's spiral, MI unchanged."""
    def sampler(n, rng):
        xy = _gauss_pairs(d, rho)(n, rng)
        x = xy["x"].copy()
        x[:, 1] += np.sin(2 * x[:, 0])
        if d > 2:
            x[:, 2] += 0.5 * x[:, 0] * x[:, 1]
        return {"x": x, "y": xy["y"]}
    return sampler


def _gamma_copula(d: int, rho: float, shape: float):
    """Equicorrelated Gaussian copula with Gamma(shape) margins: H = d h_Gamma + 1/2 log det R."""
    corr = np.full((d, d), rho) + (1 - rho) * np.eye(d)
    chol = np.linalg.cholesky(corr)

    def sampler(n, rng):
        z = rng.standard_normal((n, d)) @ chol.T
        return {"x": stats.gamma.ppf(special.ndtr(z), shape)}
    h_margin = shape + special.gammaln(shape) + (1 - shape) * special.digamma(shape)
    return sampler, float(d * h_margin + 0.5 * np.linalg.slogdet(corr)[1])


def _t_copula(rho_x: float, rho_xy: float, dof: float):
    """A 2 x 2 Student-t copula with non-identity dispersion (within-side correlation
    rho_x, x_i-y_i correlation rho_xy), margins made skewed (exp on x) and heavy
    (cube on y), which leave MI unchanged: I = the Gaussian MI of the dispersion + the
    Student-t term of the 2 x 2 split."""
    disp = np.eye(4)
    disp[0, 1] = disp[1, 0] = disp[2, 3] = disp[3, 2] = rho_x
    disp[0, 2] = disp[2, 0] = disp[1, 3] = disp[3, 1] = rho_xy
    disp[0, 3] = disp[3, 0] = disp[1, 2] = disp[2, 1] = rho_x * rho_xy
    chol = np.linalg.cholesky(disp)

    def sampler(n, rng):
        z = rng.standard_normal((n, 4)) @ chol.T
        z *= np.sqrt(dof / rng.chisquare(dof, size=(n, 1)))
        return {"x": np.exp(z[:, :2]), "y": z[:, 2:] ** 3}
    gauss = 0.5 * (np.linalg.slogdet(disp[:2, :2])[1] + np.linalg.slogdet(disp[2:, 2:])[1]
                   - np.linalg.slogdet(disp)[1])
    return sampler, float(gauss + _t_term(dof, (2, 2)))


def _gmm_2x2():
    """Three Gaussian components in 2 x 2 with different means and opposite
    correlations (not a bmi v2 mixture); truth: Monte Carlo of the pointwise MI
    (200,000 draws, standard error ~0.002 nats)."""
    from infocli.tasks import bmi2

    c1 = np.array([[1, .2, .7, 0], [.2, 1, 0, .5], [.7, 0, 1, .2], [0, .5, .2, 1]])
    c2 = np.array([[1, 0, -.7, 0], [0, 1, 0, -.5], [-.7, 0, 1, 0], [0, -.5, 0, 1]])
    c3 = np.eye(4) * 0.5
    means = [[0, 0, 0, 0], [2, -1, 1, 2], [-2, 2, -2, 0]]
    m = bmi2._mixture([0.4, 0.4, 0.2], means, [c1, c2, c3], 2)
    truth = bmi2.monte_carlo_mi(m, 200_000, seed=30)[0]

    def sampler(n, rng):
        xy = m.sample(n, rng)
        return {"x": xy[:, :2], "y": xy[:, 2:]}
    return sampler, float(truth)


def _laplace_noise(d: int, b: float):
    """X ~ N(0, I_d), Y = X + Laplace(b) noise per column: I = d (h(Y_1) - h(Laplace)),
    h(Y_1) by quadrature of the normal-Laplace density (a closed-form convolution)."""
    def pdf(y):
        # N(0,1) * Laplace(b): (1/4b) sum_s exp(1/2b^2 - s y/b) erfc((1/b - s y)/sqrt 2)
        return sum(np.exp(0.5 / b ** 2 - s * y / b) * special.erfc((1 / b - s * y) / math.sqrt(2))
                   for s in (1, -1)) / (4 * b)
    hy = integrate.quad(lambda y: -pdf(y) * np.log(pdf(y)), -12, 12, limit=400)[0]

    def sampler(n, rng):
        x = rng.standard_normal((n, d))
        return {"x": x, "y": x + rng.laplace(scale=b, size=(n, d))}
    return sampler, float(d * (hy - 1 - math.log(2 * b)))


def offsuite_cases() -> list[Case]:
    """Families of issue 30's second round that no suite holds: a t-copula with
    non-identity dispersion and skewed/heavy margins, a three-component Gaussian
    mixture that is not a bmi v2 task, and additive Laplace noise."""
    t_sampler, t_truth = _t_copula(0.5, 0.6, 3.0)
    g_sampler, g_truth = _gmm_2x2()
    l_sampler, l_truth = _laplace_noise(3, 0.5)
    return [Case("offsuite-tcopula-2x2-df3", "mutual_information", t_truth, t_sampler, dims=4),
            Case("offsuite-gmm3-2x2", "mutual_information", g_truth, g_sampler, dims=4),
            Case("offsuite-laplace-noise-3x3", "mutual_information", l_truth, l_sampler, dims=6)]


def holdout_cases() -> list[Case]:
    """Known-truth families that the checks were not designed on (no bmi task has
    their shape): a triangular map, Student-t at other sizes, Laplace and
    Gamma-copula entropies, a Gaussian at n = 20,000."""
    cases = [Case("holdout-triangular-3x3-0.7", "mutual_information",
                  -1.5 * math.log(1 - 0.49), _triangular(3, 0.7), dims=6),
             Case("holdout-student-4x4-df1", "mutual_information", _t_term(1, (4, 4)),
                  _student(1, 0.0, 4), dims=8),
             Case("holdout-student-3x3-df4-0.6", "mutual_information",
                  -1.5 * math.log(1 - 0.36) + _t_term(4, (3, 3)), _student(4, 0.6, 3), dims=6),
             Case("holdout-gauss-4x4-0.3-n20000", "mutual_information",
                  -2 * math.log(1 - 0.09), _gauss_pairs(4, 0.3), n=20000, dims=8),
             Case("holdout-H-laplace-d3", "entropy", 3 * (1 + math.log(2.0)),
                  lambda n, rng: {"x": rng.laplace(size=(n, 3))}, dims=3)]
    sampler, truth = _gamma_copula(4, 0.5, 2.0)
    cases.append(Case("holdout-H-gamma-copula-d4", "entropy", truth, sampler, dims=4))
    return cases


def _laws_1d() -> dict[str, tuple[Callable, float]]:
    """1-D laws of issue 30's entropy acceptance: sampler(n, d, rng) and h per column."""
    euler = -special.digamma(1.0)
    shape = 2.0
    return {
        "gaussian": (lambda n, d, rng: rng.standard_normal((n, d)),
                     0.5 * math.log(2 * math.pi * math.e)),
        "uniform": (lambda n, d, rng: rng.uniform(size=(n, d)), 0.0),
        "student3": (lambda n, d, rng: rng.standard_t(3, size=(n, d)), _t_entropy(3)),
        "exponential": (lambda n, d, rng: rng.exponential(size=(n, d)), 1.0),
        "gamma2": (lambda n, d, rng: rng.gamma(shape, size=(n, d)),
                   float(shape + special.gammaln(shape) + (1 - shape) * special.digamma(shape))),
        "lognormal": (lambda n, d, rng: np.exp(rng.standard_normal((n, d))),
                      0.5 * math.log(2 * math.pi * math.e)),  # + E[log X] = 0
        # X^3, X ~ N(0, 1): h(N) + log 3 + 2 E log|X|, E log|X| = -(gamma + log 2) / 2
        "cubic": (lambda n, d, rng: rng.standard_normal((n, d)) ** 3,
                  0.5 * math.log(2 * math.pi * math.e) + math.log(3) - euler - math.log(2)),
    }


def entropy_law_cases(dims: tuple[int, ...] = (1, 4, 20)) -> list[Case]:
    """Issue 30's entropy laws (independent columns: h = d h_1) at d = 1, 4 and 20, and a
    20-D Gaussian with AR(1) correlation 0.6."""
    cases = []
    for law, (draw, h1) in _laws_1d().items():
        for d in dims:
            cases.append(Case(f"laws-H-{law}-d{d}", "entropy", d * h1,
                              lambda n, rng, draw=draw, d=d: {"x": draw(n, d, rng)}, dims=d))
    d = 20
    corr = 0.6 ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    chol = np.linalg.cholesky(corr)
    cases.append(Case("laws-H-gaussian-ar-d20", "entropy",
                      0.5 * d * math.log(2 * math.pi * math.e) + 0.5 * np.linalg.slogdet(corr)[1],
                      lambda n, rng: {"x": rng.standard_normal((n, d)) @ chol.T}, dims=d))
    return cases


def registry_cases(n: int) -> list[Case]:
    """Tasks of infocli.tasks (bmi family, entropy tasks) at n rows, when present."""
    try:
        from infocli import tasks
    except ImportError:
        return []
    out = []
    for t in tasks.default_tasks():  # not the opt-in (highdim) tasks
        if t.measure not in ("mutual_information", "entropy"):
            continue
        size = max(n, getattr(t, "min_n", 0) or 0)

        def sampler(m, rng, t=t):
            return t.sample(m, seed=int(rng.integers(2**31)))
        out.append(Case(f"{t.family}:{t.name}", t.measure, float(t.truth), sampler,
                        discrete=tuple(t.discrete), n=size, dims=int(sum(t.dims.values()))))
    # bmi's v2 suite reruns 13 v1 tasks: listed again as bmi2:NAME (other draws), so that
    # --tasks 'bmi2:*' is the whole v2 suite
    from infocli.tasks import bmi2
    for name in bmi2.FROM_V1:
        t = tasks.get(name)
        def sampler(m, rng, t=t):
            return t.sample(m, seed=int(rng.integers(2**31)))
        out.append(Case(f"bmi2:{name}", t.measure, float(t.truth), sampler, n=max(n, t.min_n),
                        dims=int(sum(t.dims.values()))))
    return out


# --------------------------------------------------------------------------- runs


def run_case(case: Case, estimator: str, seed: int, check: str | None) -> dict:
    rng = np.random.default_rng([seed, 0x62, len(case.name)])
    data = case.sampler(case.n, rng)
    fn = api.entropy if case.measure == "entropy" else api.mutual_information
    kw = {"discrete_y": True} if "y" in case.discrete else {}
    t0 = time.perf_counter()
    try:
        r = fn(*data.values(), estimator=estimator, seed=seed, check=check, **kw)
    except infocli.InfocliError as exc:
        return {"task": case.name, "estimator": estimator, "seed": seed, "error": str(exc)}
    se0 = r.details.get("stderr_estimator", r.stderr)
    return {"task": case.name, "estimator": estimator, "seed": seed, "truth": case.truth,
            "value": r.value, "stderr": r.stderr, "stderr_estimator": se0,
            "interval": r.interval, "reliable": r.reliable,
            "codes": r.details.get("diagnostics", []), "check": r.details.get("check"),
            "reliability": r.details.get("reliability", {}),
            "seconds": time.perf_counter() - t0}


def _inside(truth, lo, hi):
    return (lo is None or truth >= lo) and (hi is None or truth <= hi)


def _half_width(value, lo, hi):
    if lo is None or hi is None:
        return math.inf
    return (hi - lo) / 2 / max(abs(value), 1e-12)


def _known_side(value, lo, hi):
    """Half-width of a two-sided interval; for a one-sided one (a bound) the distance
    from the value to its finite end, relative to the value."""
    if lo is None and hi is None:
        return math.inf
    if lo is None or hi is None:
        end = hi if lo is None else lo
        return abs(value - end) / max(abs(value), 1e-12)
    return _half_width(value, lo, hi)


def summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    out = {"runs": len(ok), "errors": len(runs) - len(ok)}
    if not ok:
        return out
    for phase in ("before", "after"):
        wrong = cover = rel = alarms = good = 0
        widths, known = [], []
        for r in ok:
            v, t = r["value"], r["truth"]
            if phase == "before":
                se = r["stderr_estimator"]
                lo, hi = (v - Z95 * se, v + Z95 * se) if se is not None else (v, v)
                reliable = True
            else:
                lo, hi = r["interval"] if r["interval"] is not None else (None, None)
                reliable = bool(r["reliable"])
            inside = _inside(t, lo, hi)
            close = abs(v - t) <= 0.1 * abs(t) + 0.02
            good += close
            alarms += close and not reliable
            if reliable:
                rel += 1
                cover += inside
                wrong += not inside
                widths.append(_half_width(v, lo, hi))
                known.append(_known_side(v, lo, hi))
        out[phase] = {
            "confidently_wrong": 100 * wrong / len(ok),
            "coverage": 100 * cover / rel if rel else float("nan"),
            "false_alarms": 100 * alarms / good if good else float("nan"),
            "sharp": 100 * float(np.median(widths)) if widths else float("nan"),
            "sharp_known": 100 * float(np.median(known)) if known else float("nan"),
            "one_sided": 100 * float(np.mean([w == math.inf for w in widths])) if widths
            else float("nan"),
            "reliable": 100 * rel / len(ok),
        }
    ratios_before, ratios_after = [], []
    for task in sorted({r["task"] for r in ok}):
        rs = [r for r in ok if r["task"] == task]
        if len(rs) < 2:
            continue
        sd = float(np.std([r["value"] for r in rs], ddof=1))
        for key, acc in (("stderr_estimator", ratios_before), ("stderr", ratios_after)):
            se = [r[key] for r in rs if r[key]]
            if se:
                acc.append(sd / float(np.mean(se)))
    out["before"]["noise"] = float(np.median(ratios_before)) if ratios_before else float("nan")
    out["after"]["noise"] = float(np.median(ratios_after)) if ratios_after else float("nan")
    return out


def _fmt(x, spec=".1f"):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else (
        "inf" if x == math.inf else format(x, spec))


def print_table(estimator: str, s: dict, n_tasks: int, n_seeds: int) -> None:
    print(f"\n### {estimator}: {s['runs']} runs ({n_tasks} tasks x {n_seeds} seeds"
          + (f", {s['errors']} refused" if s["errors"] else "") + ")\n")
    print("| measure | target | before | after |")
    print("|---|---|---|---|")
    b, a = s.get("before", {}), s.get("after", {})
    for key, label, target, spec in (
            ("confidently_wrong", "confidently wrong, % of runs", "<= 5", ".1f"),
            ("coverage", "coverage among reliable, %", ">= 90", ".1f"),
            ("false_alarms", "false alarms, % of close runs", "<= 20", ".1f"),
            ("sharp", "median half-width / value of reliable, %", "<= 15", ".1f"),
            ("sharp_known", "  same, one-sided: value to its finite end, %", "-", ".1f"),
            ("one_sided", "  one-sided intervals among reliable, %", "-", ".1f"),
            ("noise", "median seed-SD / noise stderr", "0.8-1.25", ".2f"),
            ("reliable", "marked reliable, % of runs", "-", ".1f")):
        print(f"| {label} | {target} | {_fmt(b.get(key), spec)} | {_fmt(a.get(key), spec)} |")
    sys.stdout.flush()


def speed_table(n: int, repeats: int = 7) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 3))
    y = 0.6 * x + 0.8 * rng.standard_normal((n, 3))
    cases = (("kl", "entropy H(X), d=3", lambda c: api.entropy(x, estimator="kl", check=c)),
             ("ksg", "I(X;Y), 3x3", lambda c: api.mutual_information(x, y, estimator="ksg",
                                                                      check=c)),
             ("gaussian", "I(X;Y), 3x3", lambda c: api.mutual_information(
                 x, y, estimator="gaussian", check=c)),
             ("gaussian", "H(X), d=3", lambda c: api.entropy(x, estimator="gaussian", check=c)),
             ("auto", "I(X;Y), 3x3", lambda c: api.mutual_information(x, y, estimator="auto",
                                                                       check=c)),
             ("auto", "H(X), d=3", lambda c: api.entropy(x, estimator="auto", check=c)))
    print(f"\n### speed: default check against check=off, n={n} (best of {repeats})\n")
    print("| estimator | case | off (s) | default check (s) | level | ratio | target |")
    print("|---|---|---|---|---|---|---|")
    for name, label, fn in cases:
        fn("off")  # warm-up (imports, kd-tree code paths)
        t_off = t_on = math.inf
        level = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn("off")
            t_off = min(t_off, time.perf_counter() - t0)
            t0 = time.perf_counter()
            r = fn(None)
            t_on = min(t_on, time.perf_counter() - t0)
            level = r.details["check"]
        print(f"| {name} | {label} | {t_off:.3f} | {t_on:.3f} | {level} | {t_on / t_off:.2f}x "
              f"| <= 5x |")
    sys.stdout.flush()


def csv_tables(files: list[str]) -> None:
    """Trust scores of ``infocli bench --check ... --csv`` records, per estimator and n:
    confidently wrong (% of runs), coverage (% of reliable runs), reliable among the
    runs whose value is within 10 % of the truth, and reliable runs (issue 30's
    acceptance columns)."""
    from infocli import bench

    records = [r for f in files for r in bench.read_records(f) if r.value is not None]
    groups: dict[tuple[str, int], list] = {}
    for r in records:
        groups.setdefault((r.estimator, r.n), []).append(r)
    print("| estimator | n | runs | confidently wrong | coverage of reliable | reliable among "
          "close (within 10 %) | reliable runs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (est, n), rs in sorted(groups.items()):
        rel = [r for r in rs if r.reliable]
        inside = [_inside(r.truth, *(r.interval or (None, None))) for r in rel]
        close = [r for r in rs if abs(r.value - r.truth) <= 0.1 * abs(r.truth)]
        wrong = len(inside) - sum(inside)
        cover = 100 * sum(inside) / len(rel) if rel else float("nan")
        print(f"| {est} | {n} | {len(rs)} | {100 * wrong / len(rs):.1f} % | {_fmt(cover)} % "
              f"| {sum(bool(r.reliable) for r in close)}/{len(close)} | {len(rel)}/{len(rs)} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-e", "--estimator", action="append",
                    help="estimators (repeatable); default: ksg kl gaussian knife infonce nwj smile")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n", type=int, default=5000, help="rows per task (bmi-like tasks)")
    ap.add_argument("--tasks", default=None, help="comma-separated globs of task names")
    ap.add_argument("--exclude", default=None, help="comma-separated globs of task names "
                    "to leave out (e.g. 'images:*', minutes per run)")
    ap.add_argument("--max-tasks", type=int, default=0, help="at most this many tasks per "
                    "estimator (0: all), evenly spread")
    ap.add_argument("--check", default=None, help="check level (default: the default level)")
    ap.add_argument("--no-builtin", action="store_true", help="only infocli.tasks tasks")
    ap.add_argument("--runs", default=None, help="append every run as a JSON line to this file; "
                    "runs already in it (estimator, task, seed) are reused, not re-run")
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--csv", nargs="+", default=None, help="only print the trust scores of "
                    "these `infocli bench --check ... --csv` files (nothing is run)")
    args = ap.parse_args(argv)
    if args.csv:
        csv_tables(args.csv)
        return

    print(f"infocli {infocli.__version__}, check={args.check or 'default'}, n={args.n}, "
          f"seeds={args.seeds}")
    if not args.speed_only:
        cases = ([] if args.no_builtin else builtin_cases() + holdout_cases()
                 + entropy_law_cases() + offsuite_cases()) + registry_cases(args.n)
        for c in cases:
            if c.n == 5000:
                object.__setattr__(c, "n", args.n)
        if args.tasks:
            globs = [g.strip() for g in args.tasks.split(",")]
            cases = [c for c in cases if any(fnmatch.fnmatchcase(c.name, g) for g in globs)]
        if args.exclude:
            globs = [g.strip() for g in args.exclude.split(",")]
            cases = [c for c in cases
                     if not any(fnmatch.fnmatchcase(c.name, g) for g in globs)]
        done = {}
        if args.runs:
            try:
                with open(args.runs) as fh:
                    for line in fh:
                        try:
                            r = json.loads(line)
                        except json.JSONDecodeError:
                            continue  # a line cut by an interrupted run
                        done[(r["estimator"], r["task"], r["seed"])] = r
            except FileNotFoundError:
                pass
        sink = open(args.runs, "a") if args.runs else None
        for est in args.estimator or ["ksg", "kl", "gaussian", "knife", "infonce", "nwj",
                                      "smile"]:
            spec = registry.get(est)
            mine = [c for c in cases if c.measure in spec.measures
                    and (not c.discrete or c.measure in spec.discrete)]
            if args.max_tasks and len(mine) > args.max_tasks:
                pick = np.linspace(0, len(mine) - 1, args.max_tasks).round().astype(int)
                mine = [mine[i] for i in sorted(set(pick))]
            runs = []
            for c in mine:
                for seed in range(args.seeds):
                    r = done.get((est, c.name, seed))
                    if r is not None:
                        runs.append(r)
                        continue
                    r = run_case(c, est, seed, args.check)
                    runs.append(r)
                    if sink:
                        sink.write(json.dumps(r) + "\n")
                        sink.flush()
                    print(f"  {est} {c.name} seed {seed}: "
                          + (r.get("error") or f"{r['value']:.4g} (truth {r['truth']:.4g}) "
                             f"{r['interval']} {'reliable' if r['reliable'] else 'UNRELIABLE'} "
                             f"{','.join(r['codes'])} {r['seconds']:.1f}s"),
                          file=sys.stderr, flush=True)
            print_table(est, summarise(runs), len(mine), args.seeds)
    if not args.no_speed:
        speed_table(args.n)


if __name__ == "__main__":
    main()
