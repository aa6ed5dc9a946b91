#!/usr/bin/env python
"""Issue 26 acceptance tables: near-independence, real-data rankings, speed.

Three tables, printed as Markdown on stdout (progress on stderr):

1. ``null``: independent data, n in {100, 200, 500, 1000, 5000}, three kinds
   (continuous: two normals; mixed: a normal and 3 classes; discrete: 3 and 4
   classes), ``--seeds`` seeds each. The default ``infocli.mutual_information``
   (auto, check fast): mean estimate, fraction of intervals containing 0, and the
   KS test of its permutation p-values (``--permutations`` shuffles each) against
   the uniform law. "before" columns: the same data with every column declared
   continuous (``discrete_x=False, discrete_y=False``), which is what auto did with
   integer columns before issue 26.
2. ``real``: diabetes, wine, digits and breast-cancer (scikit-learn). The
   ``infocli rank`` top-5 against the top-5 of a consensus: the mean over
   ``--real-seeds`` seeds of scikit-learn's ``mutual_info_*`` and infocli's
   ``ksg`` (k = 3); and the fraction of features whose rank value lies within the
   consensus' seed spread (min..max over both estimators and all seeds).
3. ``speed``: 100 features x 10,000 rows (a linear-plus-noise target), the
   ``rank`` table with intervals and 99-permutation p-values against scikit-learn's
   ``mutual_info_regression`` in the same run.

Usage::

  python benchmarks/screening.py                     # all, 100 seeds (long)
  python benchmarks/screening.py --seeds 30 --only null --jobs 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

NS = (100, 200, 500, 1000, 5000)
KINDS = ("continuous", "mixed", "discrete")


def _data(kind: str, n: int, seed: int):
    rng = np.random.default_rng([26, n, seed])
    if kind == "continuous":
        return rng.standard_normal(n), rng.standard_normal(n)
    if kind == "mixed":
        return rng.standard_normal(n), rng.integers(0, 3, n)
    return rng.integers(0, 3, n), rng.integers(0, 4, n)


def _null_run(args):
    import infocli

    kind, n, seed, permutations, before = args
    x, y = _data(kind, n, seed)
    kw = {"discrete_x": False, "discrete_y": False} if before else {}
    t = time.perf_counter()
    est = infocli.mutual_information(x, y, permutations=permutations, seed=seed, **kw)
    lo = est.interval[0] if est.interval else None
    return kind, n, before, est.value, lo is not None and lo <= 0.0, est.p_value, \
        time.perf_counter() - t


def null_table(seeds: int, permutations: int, jobs: int, ns, before: bool) -> str:
    from scipy.stats import kstest

    tasks = [(kind, n, s, permutations, b) for kind in KINDS for n in ns
             for s in range(seeds) for b in ((False, True) if before and kind != "continuous"
                                             else (False,))]
    out = _pool_map(_null_run, tasks, jobs, "null")
    lines = ["| data | n | mean I (nats) | interval holds 0 | KS p of p-values | "
             "before: mean I | before: holds 0 | before: KS p | s per run |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind in KINDS:
        for n in ns:
            cells = []
            for b in (False, True):
                rows = [r for r in out if r[0] == kind and r[1] == n and r[2] == b]
                if not rows:
                    cells.append(None)
                    continue
                v = np.array([r[3] for r in rows])
                inside = np.mean([r[4] for r in rows])
                ks = kstest([r[5] for r in rows], "uniform").pvalue
                cells.append((v.mean(), v.std(ddof=1) / np.sqrt(v.size), inside, ks,
                              np.mean([r[6] for r in rows])))
            a, b = cells
            fmt = lambda c: (f"{c[0]:+.4f} ± {c[1]:.4f} | {100 * c[2]:.0f} % | {c[3]:.2f}"  # noqa
                             if c else "– | – | –")
            lines.append(f"| {kind} | {n:,} | {fmt(a)} | {fmt(b)} | {a[4]:.2f} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- real data

def _datasets():
    from sklearn import datasets

    return {"diabetes": (datasets.load_diabetes(as_frame=True), False),
            "wine": (datasets.load_wine(as_frame=True), True),
            "digits": (datasets.load_digits(as_frame=True), True),
            "breast-cancer": (datasets.load_breast_cancer(as_frame=True), True)}


def real_table(seeds: int) -> str:
    import infocli
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    lines = ["| data set | n x features | rank top-5 | consensus top-5 | top-5 overlap | "
             "values within consensus spread | consensus mean within rank interval | "
             "rank s | consensus s |",
             "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for name, (bunch, classif) in _datasets().items():
        X, y = bunch.data, bunch.target
        # digits has constant pixels: they carry nothing and rank refuses them unless asked
        t = time.perf_counter()
        res = infocli.rank_features(X, y, discrete_target=classif, seed=0,
                                    drop_constant=True)
        t_rank = time.perf_counter() - t
        ours = {r["feature"]: r["mi"] for r in res.rows}
        keep = list(ours)
        Xk = X[keep]
        t = time.perf_counter()
        runs = []
        for s in range(seeds):
            f = mutual_info_classif if classif else mutual_info_regression
            runs.append(f(Xk, y, random_state=s))
            runs.append(np.array([infocli.mutual_information(
                Xk[c].to_numpy(), y.to_numpy(), estimator="ksg", k=3, seed=s,
                discrete_y=classif, check="off").value for c in keep]))
            print(f"real {name}: seed {s + 1}/{seeds}", file=sys.stderr)
        t_cons = time.perf_counter() - t
        runs = np.array(runs)
        mean = runs.mean(axis=0)
        top_c = [keep[j] for j in np.argsort(-mean)[:5]]
        top_r = [r["feature"] for r in res.rows[:5]]
        lo, hi = runs.min(axis=0), runs.max(axis=0)
        within = np.mean([lo[j] <= ours[c] <= hi[j] for j, c in enumerate(keep)])
        bounds = {r["feature"]: (r["lo"], r["hi"]) for r in res.rows}
        covered = np.mean([bounds[c][0] <= mean[j] <= bounds[c][1]
                           for j, c in enumerate(keep)])
        overlap = len(set(top_c) & set(top_r))
        lines.append(f"| {name} | {X.shape[0]:,} x {X.shape[1]} | {', '.join(top_r)} | "
                     f"{', '.join(top_c)} | {overlap}/5 | {100 * within:.0f} % | "
                     f"{100 * covered:.0f} % | "
                     f"{t_rank:.1f} | {t_cons:.1f} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- speed

def speed_table() -> str:
    import infocli
    from sklearn.feature_selection import mutual_info_regression

    rng = np.random.default_rng(0)
    n, d = 10_000, 100
    X = rng.standard_normal((n, d))
    y = X[:, :10] @ np.linspace(1, 0.1, 10) + rng.standard_normal(n)
    rows = []
    t = time.perf_counter()
    mutual_info_regression(X, y, random_state=0)
    t_sk = time.perf_counter() - t
    rows.append(("scikit-learn mutual_info_regression (k = 3, no interval, no p-value)",
                 t_sk))
    for label, kw in (("infocli rank_features: intervals + 99-permutation p-values (BH)",
                       {}),
                      ("infocli feature_mi: values only", None)):
        t = time.perf_counter()
        if kw is None:
            infocli.feature_mi(X, y)
        else:
            infocli.rank_features(X, y, **kw)
        rows.append((label, time.perf_counter() - t))
    lines = ["| 100 features x 10,000 rows | seconds | ratio to scikit-learn |",
             "|---|---:|---:|"]
    lines += [f"| {lab} | {s:.2f} | {s / t_sk:.2f} |" for lab, s in rows]
    return "\n".join(lines)


def _pool_map(fn, tasks, jobs: int, label: str):
    if jobs <= 1:
        out = []
        for i, t in enumerate(tasks):
            out.append(fn(t))
            if i % 50 == 0:
                print(f"{label}: {i + 1}/{len(tasks)}", file=sys.stderr)
        return out
    from concurrent.futures import ProcessPoolExecutor

    out = []
    with ProcessPoolExecutor(jobs) as pool:
        for i, r in enumerate(pool.map(fn, tasks, chunksize=4)):
            out.append(r)
            if i % 50 == 0:
                print(f"{label}: {i + 1}/{len(tasks)}", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", choices=("null", "real", "speed"))
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--ns", type=int, nargs="*", default=list(NS))
    ap.add_argument("--permutations", type=int, default=19)
    ap.add_argument("--real-seeds", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--no-before", action="store_true")
    a = ap.parse_args()
    only = a.only or ["null", "real", "speed"]
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min); "
          f"cores: {os.cpu_count()}")
    if "speed" in only:
        print("\n## Speed\n\n" + speed_table())
    if "real" in only:
        print("\n## Real data\n\n" + real_table(a.real_seeds))
    if "null" in only:
        print(f"\n## Independent data ({a.seeds} seeds, {a.permutations} permutations)\n\n"
              + null_table(a.seeds, a.permutations, a.jobs, a.ns, not a.no_before))
    print(f"\nload after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
