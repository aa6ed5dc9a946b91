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
   ``mutual_info_regression`` in the same run: wall and CPU seconds and their ratios
   (``--only speed --repeats 3`` on an idle machine for the acceptance figure).

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


def _parse_estimator(text: str) -> tuple[str, dict]:
    """``ksg:k=3`` -> ("ksg", {"k": 3}); ``auto`` -> ("auto", {})."""
    name, _, rest = text.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        params[key] = int(value) if value.lstrip("-").isdigit() else value
    return name, params


def real_table(seeds: int, estimators=("auto",), detail=()) -> str:
    import infocli
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    lines = ["| data set | rank estimator | n x features | rank top-5 | consensus top-5 | "
             "top-5 overlap | values within consensus spread | consensus mean within rank "
             "interval | rank s | consensus s |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|"]
    members = ["| data set | scikit-learn top-5 | infocli ksg (k = 3) top-5 | overlap | "
               "5th vs 6th consensus mean (nats) | features where each member's mean lies "
               "in the other's seed range |", "|---|---|---|---:|---|---:|"]
    details = []
    for name, (bunch, classif) in _datasets().items():
        X, y = bunch.data, bunch.target
        results = {}
        for text in estimators:
            est, params = _parse_estimator(text)
            t = time.perf_counter()
            # digits has constant pixels: they carry nothing and rank refuses them unless asked
            res = infocli.rank_features(X, y, discrete_target=classif, seed=0,
                                        drop_constant=True, estimator=est, params=params)
            results[text] = (res, time.perf_counter() - t)
        keep = [r["feature"] for r in results[estimators[0]][0].rows]
        keep = [c for c in X.columns if c in set(keep)]  # table order
        Xk = X[keep]
        t = time.perf_counter()
        sk_runs, ksg_runs = [], []
        for s in range(seeds):
            f = mutual_info_classif if classif else mutual_info_regression
            sk_runs.append(f(Xk, y, random_state=s))
            ksg_runs.append(np.array([infocli.mutual_information(
                Xk[c].to_numpy(), y.to_numpy(), estimator="ksg", k=3, seed=s,
                discrete_y=classif, check="off").value for c in keep]))
            print(f"real {name}: seed {s + 1}/{seeds}", file=sys.stderr)
        t_cons = time.perf_counter() - t
        sk_runs, ksg_runs = np.array(sk_runs), np.array(ksg_runs)
        runs = np.vstack([sk_runs, ksg_runs])
        mean = runs.mean(axis=0)
        order = np.argsort(-mean)
        top_c = [keep[j] for j in order[:5]]
        lo, hi = runs.min(axis=0), runs.max(axis=0)
        for text, (res, t_rank) in results.items():
            ours = {r["feature"]: r["mi"] for r in res.rows}
            top_r = [r["feature"] for r in res.rows[:5]]
            within = np.mean([lo[j] <= ours[c] <= hi[j] for j, c in enumerate(keep)])
            bounds = {r["feature"]: (r["lo"], r["hi"]) for r in res.rows}
            covered = np.mean([bounds[c][0] <= mean[j] <= bounds[c][1]
                               for j, c in enumerate(keep)])
            overlap = len(set(top_c) & set(top_r))
            lines.append(f"| {name} | {text} | {X.shape[0]:,} x {X.shape[1]} | "
                         f"{', '.join(top_r)} | {', '.join(top_c)} | {overlap}/5 | "
                         f"{100 * within:.0f} % | {100 * covered:.0f} % | "
                         f"{t_rank:.1f} | {t_cons:.1f} |")
        m_sk, m_ksg = sk_runs.mean(axis=0), ksg_runs.mean(axis=0)
        top_sk = [keep[j] for j in np.argsort(-m_sk)[:5]]
        top_ksg = [keep[j] for j in np.argsort(-m_ksg)[:5]]
        agree = np.mean([(ksg_runs[:, j].min() <= m_sk[j] <= ksg_runs[:, j].max())
                         and (sk_runs[:, j].min() <= m_ksg[j] <= sk_runs[:, j].max())
                         for j in range(len(keep))])
        gap = (f"{keep[order[4]]} {mean[order[4]]:.4f} vs {keep[order[5]]} "
               f"{mean[order[5]]:.4f}" if len(keep) > 5 else "-")
        members.append(f"| {name} | {', '.join(top_sk)} | {', '.join(top_ksg)} | "
                       f"{len(set(top_sk) & set(top_ksg))}/5 | {gap} | {100 * agree:.0f} % |")
        if name in detail:
            details.append(f"\n### {name}, feature by feature (sorted by the consensus)\n")
            head = " | ".join(f"rank {t}" for t in results)
            details.append(f"| feature | consensus mean [min, max] | scikit-learn mean | "
                           f"ksg (k = 3) mean | {head} |")
            details.append("|---|---|---:|---:|" + "---|" * len(results))
            for j in order:
                c = keep[j]
                cells = []
                for res, _ in results.values():
                    r = next(r for r in res.rows if r["feature"] == c)
                    mark = "" if lo[j] <= r["mi"] <= hi[j] else " (out)"
                    cells.append(f"{r['mi']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}] "
                                 f"{r['estimator']}{mark}")
                details.append(f"| {c} | {mean[j]:.3f} [{lo[j]:.3f}, {hi[j]:.3f}] | "
                               f"{m_sk[j]:.3f} | {m_ksg[j]:.3f} | {' | '.join(cells)} |")
    return "\n".join(lines + ["", "Consensus members against each other:", ""] + members
                     + details)


# --------------------------------------------------------------------------- speed

def speed_table(repeats: int = 1) -> str:
    """100 features x 10,000 rows: scikit-learn and infocli in the same run, wall and CPU
    seconds (``time.process_time``: every thread of this process), best of ``repeats``."""
    import infocli
    from sklearn.feature_selection import mutual_info_regression

    rng = np.random.default_rng(0)
    n, d = 10_000, 100
    X = rng.standard_normal((n, d))
    y = X[:, :10] @ np.linspace(1, 0.1, 10) + rng.standard_normal(n)

    def timed(fn):
        best = None
        for _ in range(repeats):
            w, c = time.perf_counter(), time.process_time()
            fn()
            run = (time.perf_counter() - w, time.process_time() - c)
            best = run if best is None or run[0] < best[0] else best
        return best

    rows = [("scikit-learn mutual_info_regression (k = 3, no interval, no p-value)",
             timed(lambda: mutual_info_regression(X, y, random_state=0)))]
    rows.append(("infocli rank_features: intervals + 99-permutation p-values (BH)",
                 timed(lambda: infocli.rank_features(X, y))))
    rows.append(("infocli feature_mi: values only", timed(lambda: infocli.feature_mi(X, y))))
    sk_wall, sk_cpu = rows[0][1]
    lines = [f"load {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores, best of {repeats}", "",
             "| 100 features x 10,000 rows | wall s | CPU s | wall ratio to scikit-learn | "
             "CPU ratio to scikit-learn |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {lab} | {w:.2f} | {c:.2f} | {w / sk_wall:.2f} | {c / sk_cpu:.2f} |"
              for lab, (w, c) in rows]
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
    ap.add_argument("--repeats", type=int, default=1, help="speed: best of N runs")
    ap.add_argument("--rank-estimator", action="append", metavar="NAME[:k=v,...]",
                    help="estimator(s) of the rank table in the real-data table (repeatable; "
                    "default auto), e.g. --rank-estimator auto --rank-estimator ksg:k=3")
    ap.add_argument("--detail", action="append", default=[], metavar="DATASET",
                    help="a feature-by-feature table of this data set (repeatable)")
    a = ap.parse_args()
    only = a.only or ["null", "real", "speed"]
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min); "
          f"cores: {os.cpu_count()}")
    if "speed" in only:
        print("\n## Speed\n\n" + speed_table(a.repeats))
    if "real" in only:
        print("\n## Real data\n\n" + real_table(a.real_seeds, tuple(a.rank_estimator or ("auto",)),
                                                  tuple(a.detail)))
    if "null" in only:
        print(f"\n## Independent data ({a.seeds} seeds, {a.permutations} permutations)\n\n"
              + null_table(a.seeds, a.permutations, a.jobs, a.ns, not a.no_before))
    print(f"\nload after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
