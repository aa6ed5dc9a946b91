#!/usr/bin/env python
"""KNIFE on bmi's tasks: the old default (fixed capacity) against the adaptive default.

For every task of the ``bmi`` family of :mod:`infocli.tasks` (or those matching
``--only``), draws ``--n`` rows for each of ``--seeds`` seeds and estimates the
MI with

  old       knife as it was before the capacity selection: n_kernels=128,
            covariance=full, init=data (means at training rows), mi_form=difference
            (H(X) - H(X|Y) with a marginal KNIFE and a conditional network KNIFE)
  new       knife with its defaults (capacity chosen by validation likelihood,
            mi_form=joint)
  gaussian  the closed-form Gaussian plug-in, a peer in the same run

A task is solved when the mean over seeds lies within a factor 1.5 of the truth
(truth / 1.5 <= mean <= 1.5 truth; a negative mean is never solved). Prints one
row per task (truth, mean of each estimator, solved marks, seconds per fit)
and the solved counts. Results are appended to ``--cache`` (JSON Lines) as
they arrive, so an interrupted run resumes where it stopped.

Usage:
  python benchmarks/knife_bmi.py                          # 40 tasks x 3 seeds, n = 5,000
  python benchmarks/knife_bmi.py --only 'multinormal-*' --seeds 1 --skip old
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

import infocli
from infocli import tasks

OLD = {"n_kernels": 128, "covariance": "full", "init": "data", "mi_form": "difference"}
ESTIMATORS = {"old": ("knife", OLD), "new": ("knife", {}), "gaussian": ("gaussian", {})}


def solved(mean: float, truth: float) -> bool:
    return mean > 0 and truth / 1.5 <= mean <= 1.5 * truth


def run_one(task, which: str, n: int, seed: int) -> dict:
    name, params = ESTIMATORS[which]
    data = task.sample(n, seed)
    t = time.perf_counter()
    try:
        e = infocli.mutual_information(data["x"], data["y"], estimator=name, seed=seed,
                                       device="cpu", params=dict(params),
                                       discrete_y="y" in task.discrete or None)
        value, note = e.value, ""
        cap = e.details.get("capacity", {})
        if cap:
            note = ";".join(f"{v['covariance']}/{v['n_kernels']}/{v['shrinkage']:g}"
                            for v in cap.values())
    except infocli.InfocliError as exc:  # reported, not hidden: counts as unsolved
        value, note = float("nan"), f"error: {exc}"
    return {"task": task.name, "estimator": which, "n": n, "seed": seed, "value": value,
            "seconds": time.perf_counter() - t, "note": note}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", help="comma-separated globs of task names")
    ap.add_argument("--skip", action="append", default=[], choices=list(ESTIMATORS))
    ap.add_argument("--only-seed", type=int, action="append",
                    help="run only this seed (repeatable; for parallel runs, each with its "
                         "own --cache; merge the caches and rerun without it for the table)")
    ap.add_argument("--cache", default="knife_bmi.jsonl",
                    help="JSON Lines file of finished runs (resumed; '' for none)")
    args = ap.parse_args(argv)
    selected = tasks.select(args.only, family="bmi", measure="mutual_information")
    which = [w for w in ESTIMATORS if w not in args.skip]
    done: dict[tuple, dict] = {}
    if args.cache and os.path.exists(args.cache):
        with open(args.cache) as f:
            for line in f:
                r = json.loads(line)
                done[(r["task"], r["estimator"], r["n"], r["seed"])] = r
    for seed in args.only_seed or range(args.seeds):  # seed-major: partial runs cover all
        for task in selected:
            for w in which:
                key = (task.name, w, args.n, seed)
                if key in done:
                    continue
                r = run_one(task, w, args.n, seed)
                done[key] = r
                print(f"{task.name} {w} seed {seed}: {r['value']:.4f} ({r['seconds']:.1f} s) "
                      f"{r['note']}", file=sys.stderr, flush=True)
                if args.cache:
                    with open(args.cache, "a") as f:
                        f.write(json.dumps(r) + "\n")
    if args.only_seed:
        return 0
    header = f"{'task':58} {'truth':>7} " + " ".join(f"{w:>11}" for w in which) + \
        "  " + " ".join(f"{'s/fit ' + w:>12}" for w in which)
    print(header)
    print("-" * len(header))
    counts = {w: 0 for w in which}
    seconds = {w: [] for w in which}
    for task in selected:
        cells, times = [], []
        for w in which:
            rs = [done[(task.name, w, args.n, s)] for s in range(args.seeds)]
            mean = float(np.mean([r["value"] for r in rs]))
            ok = solved(mean, task.truth)
            counts[w] += ok
            seconds[w].extend(r["seconds"] for r in rs)
            cells.append(f"{mean:9.3f} {'✓' if ok else '✗'}")
            times.append(f"{np.mean([r['seconds'] for r in rs]):12.1f}")
        print(f"{task.name:58} {task.truth:7.3f} " + " ".join(cells) + "  " + " ".join(times))
    print("-" * len(header))
    print(f"solved (mean of {args.seeds} seeds within x1.5 of the truth), n = {args.n}, "
          f"{len(selected)} tasks: "
          + ", ".join(f"{w} {counts[w]}" for w in which))
    print("median seconds per fit: "
          + ", ".join(f"{w} {np.median(seconds[w]):.1f}" for w in which))
    return 0


if __name__ == "__main__":
    sys.exit(main())
