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
  python benchmarks/auto.py --jsonl runs.jsonl     # also one JSON line per run
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
                data = task.sample(args.n, seed)
                kw = {"discrete_y": True} if "y" in task.discrete else {}
                print(f"  {task.name} {m} seed {seed}", file=sys.stderr, flush=True)
                t0, c0 = time.perf_counter(), time.process_time()
                r = infocli.mutual_information(data["x"], data["y"], estimator=est,
                                               transform=transform, seed=seed, **kw)
                secs += time.perf_counter() - t0
                cpu[m].append(time.process_time() - c0)
                vals.append(r.value)
                if m == "auto":
                    c = r.details["auto"]["chosen"]
                    chosen[c] = chosen.get(c, 0) + 1
                if sink:
                    sink.write(json.dumps({"task": task.name, "method": m, "n": args.n,
                                           "seed": seed, "value": r.value, "truth": task.truth,
                                           "seconds": time.perf_counter() - t0}) + "\n")
            means[m] = float(np.mean(vals))
            seconds[m].append(secs / len(seeds))
            counts[m] += solved(means[m], task.truth)
        cells = " ".join(f"{means[m]:>10.3f}{'*' if solved(means[m], task.truth) else ' '}"
                         for m in methods)
        print(f"{task.name:<{width}} {task.truth:>6.3f} {cells}", flush=True)
    print(f"{'solved':<{width}} {len(selected):>6d} "
          + " ".join(f"{counts[m]:>11d}" for m in methods))
    print(f"{'median s':<{width}} {'':>6} "
          + " ".join(f"{np.median(seconds[m]):>11.2f}" for m in methods))
    print(f"{'median cpu s':<{width}} {'':>6} "
          + " ".join(f"{np.median(cpu[m]):>11.2f}" for m in methods))
    if "auto" in methods:
        print("auto chose: " + ", ".join(f"{k} {v}x" for k, v in sorted(chosen.items())))
    if sink:
        sink.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
