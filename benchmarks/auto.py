#!/usr/bin/env python
"""``-e auto`` against its parts on bmi's 40 tasks, side by side in one run.

For every task of ``infocli.tasks.select(family="bmi")`` and seed, the same
sample is estimated by each method below; a task counts as *solved* by a
method when the mean over seeds lies within a factor 1.5 of the truth
(truth / 1.5 <= mean <= 1.5 * truth; bmi's tasks all have I > 0).

Methods (all defaults otherwise):
  auto             -e auto
  ksg              -e ksg (no transform; today's default)
  ksg+rank         -e ksg --transform rank
  ksg+copula       -e ksg --transform copula
  gcmi             -e gaussian --transform copula (Ince et al.'s GCMI)
  gaussian         -e gaussian (no transform)

Printed: one row per task (mean estimate per method, truth, a * where solved),
then the solved counts and the median seconds per task of each method (wall
clock, and CPU seconds of this process - the machine may be shared).

Usage:
  python benchmarks/auto.py                        # n = 5,000, seeds 0,1,2
  python benchmarks/auto.py --n 1000
  python benchmarks/auto.py --methods auto,ksg+copula --tasks 'multinormal-*'
  python benchmarks/auto.py --jsonl runs.jsonl     # also one JSON line per run; runs
                                                   # already in the file are reused

``ksg+copula`` and ``gcmi`` are read from auto's recorded candidates when auto
runs too (``details.auto.candidates``; tests/test_auto.py asserts they are
bit-identical to running those estimators by hand), so they cost nothing extra.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import infocli
from infocli import tasks

METHODS = {
    "auto": ("auto", "none"),
    "ksg": ("ksg", "none"),
    "ksg+rank": ("ksg", "rank"),
    "ksg+copula": ("ksg", "copula"),
    "gcmi": ("gaussian", "copula"),
    "gaussian": ("gaussian", "none"),
}


def solved(mean: float, truth: float, factor: float = 1.5) -> bool:
    return truth / factor <= mean <= truth * factor


def run(task, method: str, n: int, seed: int) -> dict:
    est, transform = METHODS[method]
    data = task.sample(n, seed)
    kw = {"discrete_y": True} if "y" in task.discrete else {}
    print(f"  {task.name} {method} seed {seed}", file=sys.stderr, flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    r = infocli.mutual_information(data["x"], data["y"], estimator=est, transform=transform,
                                   seed=seed, **kw)
    rec = {"task": task.name, "method": method, "n": n, "seed": seed, "value": r.value,
           "truth": task.truth, "seconds": time.perf_counter() - t0,
           "cpu": time.process_time() - c0}
    if method == "auto":
        rec["chosen"] = r.details["auto"]["chosen"]
        rec["candidates"] = r.details["auto"]["candidates"]
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--tasks", default=None, help="glob(s) of task names")
    ap.add_argument("--family", default="bmi")
    ap.add_argument("--jsonl", default=None)
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    selected = tasks.select(args.tasks, family=args.family)
    cache = {}
    if args.jsonl:
        import os

        if os.path.exists(args.jsonl):
            with open(args.jsonl) as f:
                for line in f:
                    rec = json.loads(line)
                    cache[(rec["task"], rec["method"], rec["n"], rec["seed"])] = rec
    sink = open(args.jsonl, "a") if args.jsonl else None
    width = max(len(t.name) for t in selected)
    print(f"n = {args.n}, seeds {seeds}; * = mean within x1.5 of truth")
    print(f"{'task':<{width}} {'truth':>6} " + " ".join(f"{m:>11}" for m in methods))
    counts = dict.fromkeys(methods, 0)
    seconds = {m: [] for m in methods}
    cpu = {m: [] for m in methods}
    chosen: dict[str, int] = {}
    for task in selected:
        means = {}
        for m in methods:
            est, transform = METHODS[m]
            vals, secs = [], 0.0
            for seed in seeds:
                key = (task.name, m, args.n, seed)
                if key not in cache:
                    cache[key] = rec = run(task, m, args.n, seed)
                    if rec["method"] == "auto":  # its candidates are these two methods
                        for name, cand in rec["candidates"].items():
                            other = {"gaussian+copula": "gcmi"}.get(name, name)
                            cache.setdefault((task.name, other, args.n, seed), {
                                **rec, "method": other, "value": cand["value"],
                                "seconds": None, "cpu": None, "derived": True})
                    if sink:
                        sink.write(json.dumps(rec) + "\n")
                        sink.flush()
                rec = cache[key]
                vals.append(rec["value"])
                if rec.get("seconds") is not None:
                    secs += rec["seconds"]
                    cpu[m].append(rec["cpu"])
                if m == "auto":
                    chosen[rec["chosen"]] = chosen.get(rec["chosen"], 0) + 1
            means[m] = float(np.mean(vals))
            if cpu[m]:
                seconds[m].append(secs / len(seeds))
            counts[m] += solved(means[m], task.truth)
        cells = " ".join(f"{means[m]:>10.3f}{'*' if solved(means[m], task.truth) else ' '}"
                         for m in methods)
        print(f"{task.name:<{width}} {task.truth:>6.3f} {cells}", flush=True)
    print(f"{'solved':<{width}} {len(selected):>6d} "
          + " ".join(f"{counts[m]:>11d}" for m in methods))
    def med(v):
        return f"{np.median(v):>11.2f}" if v else f"{'(in auto)':>11}"

    print(f"{'median s':<{width}} {'':>6} " + " ".join(med(seconds[m]) for m in methods))
    print(f"{'median cpu s':<{width}} {'':>6} " + " ".join(med(cpu[m]) for m in methods))
    if "auto" in methods:
        print("auto chose: " + ", ".join(f"{k} {v}x" for k, v in sorted(chosen.items())))
    if sink:
        sink.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
