#!/usr/bin/env python
"""Benchmark the KNIFE estimator against closed forms, with kNN `kl`/`ksg` side by side.

Cases (full size; ``--quick`` divides every N by 20 and caps epochs):

  gauss10    H(X), X ~ N(0, I_10), N=50,000; truth 5 ln(2 pi e).            |err| <= 0.1
  gauss64    H(X), X ~ N(0, I_64), N=100,000; truth 32 ln(2 pi e).          |err| <= 1.0
  cubic10    H(X^3), X ~ N(0, I_10), N=50,000; truth h(X) + d (ln 3 - gamma - ln 2)
             = 1.24719 d (h(X) - 0.17170 d, not h(X) + 1.24719 d).      |err| <= 0.5
  mi<I>      I(X;Y), 20 coordinate pairs with rho = sqrt(1 - exp(-2 I / 20)),
             I in {2, 4, 6, 8, 10} nats, N=100,000.                         |err| <= 0.5
  cond       H(X|Y), Y uniform on 4 labels, X | Y=c ~ N(3 c 1, diag(s_c^2)) in 5-D,
             N=50,000; truth sum_c p_c h(N(0, diag(s_c^2))).                |err| <= 0.1
  fit20      time of a KNIFE entropy fit of 100,000 x 20 rows.              <= 60 s

kNN peers in the same run: ``kl`` (entropy, conditional entropy) and ``ksg``
(MI), k = 3, infocli's own implementations. Data from numpy default_rng(0),
never timed; every estimator runs once. Errors are estimate - truth, in nats.

Usage:
  python benchmarks/knife.py                # full size (about half an hour on 2 cores)
  python benchmarks/knife.py --quick        # smoke run (about a minute)
  python benchmarks/knife.py --only gauss10 --only mi2 --skip-knn
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

import infocli

LOG_2PIE = math.log(2 * math.pi * math.e)
CUBIC = math.log(3) - np.euler_gamma - math.log(2)  # h(X^3) - h(X) per N(0,1) coordinate
MI_LEVELS = (2, 4, 6, 8, 10)
CASES = ("gauss10", "gauss64", "cubic10", *(f"mi{i}" for i in MI_LEVELS), "cond", "fit20")


@dataclass
class Row:
    case: str
    estimator: str
    n: int
    estimate: float | None
    truth: float | None
    seconds: float
    target: str
    passed: bool | None
    note: str = ""


def _entropy(x, estimator, quick, given=None, discrete=False):
    params = {"max_epochs": 20} if quick and estimator == "knife" else {}
    t = time.perf_counter()
    e = infocli.entropy(x, given=given, discrete_given=discrete if given is not None else None,
                        estimator=estimator, seed=0, device="cpu", params=params)
    return e, time.perf_counter() - t


def _mi(x, y, estimator, quick):
    params = {"max_epochs": 20} if quick and estimator == "knife" else {}
    t = time.perf_counter()
    e = infocli.mutual_information(x, y, estimator=estimator, seed=0, device="cpu",
                                   params=params)
    return e, time.perf_counter() - t


def _note(e) -> str:
    d = e.details
    if "n_test" not in d:
        return ""
    fits = ", ".join(f"{k}: {v['epochs']} ep" for k, v in d.get("fits", {}).items())
    return f"test rows {d['n_test']}; {fits}"


def run_case(case: str, quick: bool, skip_knn: bool) -> list[Row]:
    rng = np.random.default_rng(0)
    div = 20 if quick else 1
    rows: list[Row] = []

    def add(est_name, e, secs, truth, tol):
        err = e.value - truth
        rows.append(Row(case, est_name, e.n_samples, e.value, truth, secs,
                        f"|err| <= {tol:g}", abs(err) <= tol if est_name == "knife" else None,
                        _note(e)))

    if case in ("gauss10", "gauss64", "cubic10"):
        d = 64 if case == "gauss64" else 10
        n = (100_000 if case == "gauss64" else 50_000) // div
        x = rng.standard_normal((n, d))
        truth = d / 2 * LOG_2PIE
        if case == "cubic10":
            x = x**3
            truth += d * CUBIC
        tol = {"gauss10": 0.1, "gauss64": 1.0, "cubic10": 0.5}[case]
        for name in ("knife",) + (() if skip_knn else ("kl",)):
            e, s = _entropy(x, name, quick)
            add(name, e, s, truth, tol)
    elif case.startswith("mi"):
        level = int(case[2:])
        d = 20
        rho = math.sqrt(1 - math.exp(-2 * level / d))
        n = 100_000 // div
        x = rng.standard_normal((n, d))
        y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))
        for name in ("knife",) + (() if skip_knn else ("ksg",)):
            e, s = _mi(x, y, name, quick)
            add(name, e, s, float(level), 0.5)
    elif case == "cond":
        n, d, classes = 50_000 // div, 5, 4
        y = rng.integers(0, classes, n)
        sds = np.array([[0.5 + 0.25 * c + 0.1 * j for j in range(d)] for c in range(classes)])
        x = 3.0 * y[:, None] + sds[y] * rng.standard_normal((n, d))
        h_class = np.array([d / 2 * LOG_2PIE + np.log(sds[c]).sum() for c in range(classes)])
        truth = float(h_class.mean())  # uniform labels
        for name in ("knife",) + (() if skip_knn else ("kl",)):
            e, s = _entropy(x, name, quick, given=y, discrete=True)
            add(name, e, s, truth, 0.1)
    elif case == "fit20":
        n, d = 100_000 // div, 20
        x = rng.standard_normal((n, d))
        e, s = _entropy(x, "knife", quick)
        rows.append(Row(case, "knife", n, e.value, d / 2 * LOG_2PIE, s, "<= 60 s",
                        s <= 60.0, _note(e)))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N / 20, at most 20 epochs")
    ap.add_argument("--only", action="append", choices=CASES, help="run only this case")
    ap.add_argument("--skip-knn", action="store_true", help="KNIFE only")
    args = ap.parse_args(argv)
    cases = args.only or list(CASES)
    rows: list[Row] = []
    for case in cases:
        print(f"running {case} ...", file=sys.stderr, flush=True)
        rows.extend(run_case(case, args.quick, args.skip_knn))
    header = f"{'case':8} {'estimator':9} {'N':>7} {'estimate':>10} {'truth':>10} {'error':>8} " \
             f"{'seconds':>8}  {'target':14} {'result':6} note"
    print(header)
    print("-" * len(header))
    for r in rows:
        err = "" if r.truth is None or r.estimate is None else f"{r.estimate - r.truth:+8.3f}"
        result = {True: "PASS", False: "FAIL", None: "-"}[r.passed]
        print(f"{r.case:8} {r.estimator:9} {r.n:7d} {r.estimate:10.4f} {r.truth:10.4f} {err:>8} "
              f"{r.seconds:8.1f}  {r.target:14} {result:6} {r.note}")
    if args.quick:
        print("(--quick: N / 20 and at most 20 epochs; the targets are for full size)")
    return 0 if all(r.passed is not False for r in rows) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
