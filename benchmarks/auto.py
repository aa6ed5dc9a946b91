#!/usr/bin/env python
"""``-e auto`` against its parts on bmi's 40 tasks, side by side in one run.

For every task of ``infocli.tasks.select(family="bmi")`` and seed, the same
sample is estimated by each method below; a task counts as *solved* by a
method when the mean over seeds lies within a factor 1.5 of the truth
(truth / 1.5 <= mean <= 1.5 * truth; bmi's tasks all have I > 0).

Methods (all defaults otherwise):
  auto             -e auto
  auto(k=3)        -e auto -p k=3 (its kNN candidate with KSG's usual k)
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

``gcmi`` is read from auto's recorded candidates when auto runs too
(``details.auto.candidates``; tests/test_auto.py asserts it is bit-identical
to running the estimator by hand), so it costs nothing extra; its time is
then shown as "(in auto)".
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import infocli
from infocli import tasks

METHODS = {  # name: (estimator, transform, parameters)
    "auto": ("auto", "none", {}),
    "auto(k=3)": ("auto", "none", {"k": 3}),
    "ksg": ("ksg", "none", {}),
    "ksg+rank": ("ksg", "rank", {}),
    "ksg+copula": ("ksg", "copula", {}),
    "gcmi": ("gaussian", "copula", {}),
    "gaussian": ("gaussian", "none", {}),
}


def solved(mean: float, truth: float, factor: float = 1.5) -> bool:
    return truth / factor <= mean <= truth * factor


def run(task, method: str, n: int, seed: int) -> dict:
    est, transform, params = METHODS[method]
    data = task.sample(n, seed)
    kw = {"discrete_y": True} if "y" in task.discrete else {}
    print(f"  {task.name} {method} seed {seed}", file=sys.stderr, flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    r = infocli.mutual_information(data["x"], data["y"], estimator=est, transform=transform,
                                   seed=seed, params=params, **kw)
    rec = {"task": task.name, "method": method, "n": n, "seed": seed, "value": r.value,
           "truth": task.truth, "seconds": time.perf_counter() - t0,
           "cpu": time.process_time() - c0}
    if est == "auto":
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
    ap.add_argument("--cached-only", action="store_true",
                    help="print only what --jsonl holds; missing runs show as '-' and are "
                         "not counted (the count row then says how many tasks were measured)")
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
    measured = dict.fromkeys(methods, 0)
    seconds = {m: [] for m in methods}
    cpu = {m: [] for m in methods}
    chosen: dict[str, dict[str, int]] = {}
    for task in selected:
        means = {}
        for m in methods:
            vals, secs, cpus = [], 0.0, 0.0
            for seed in seeds:
                key = (task.name, m, args.n, seed)
                if key not in cache and args.cached_only:
                    vals = None
                    break
                if key not in cache:
                    cache[key] = rec = run(task, m, args.n, seed)
                    if sink:
                        sink.write(json.dumps(rec) + "\n")
                    if rec["method"].startswith("auto") and "gaussian+copula" in rec["candidates"]:
                        # auto's Gaussian candidate is exactly GCMI (tests/test_auto.py)
                        derived = {**rec, "method": "gcmi", "seconds": None, "cpu": None,
                                   "value": rec["candidates"]["gaussian+copula"]["value"],
                                   "derived": True}
                        derived.pop("candidates")
                        derived.pop("chosen")
                        key2 = (task.name, "gcmi", args.n, seed)
                        if key2 not in cache:
                            cache[key2] = derived
                            if sink:
                                sink.write(json.dumps(derived) + "\n")
                    if sink:
                        sink.flush()
                rec = cache[key]
                vals.append(rec["value"])
                if rec.get("seconds") is not None:
                    secs += rec["seconds"]
                    cpus += rec["cpu"]
                if m.startswith("auto"):
                    tally = chosen.setdefault(m, {})
                    tally[rec["chosen"]] = tally.get(rec["chosen"], 0) + 1
            if vals is None:
                means[m] = None
                continue
            measured[m] += 1
            means[m] = float(np.mean(vals))
            timed = [cache[(task.name, m, args.n, s)].get("seconds") is not None for s in seeds]
            if all(timed):
                seconds[m].append(secs / len(seeds))
                cpu[m].append(cpus / len(seeds))
            counts[m] += solved(means[m], task.truth)
        cells = " ".join(f"{'-':>10} " if means[m] is None else
                         f"{means[m]:>10.3f}{'*' if solved(means[m], task.truth) else ' '}"
                         for m in methods)
        print(f"{task.name:<{width}} {task.truth:>6.3f} {cells}", flush=True)
    print(f"{'solved':<{width}} {len(selected):>6d} "
          + " ".join(f"{counts[m]:>11d}" for m in methods))
    if any(measured[m] < len(selected) for m in methods):
        print(f"{'tasks measured':<{width}} {'':>6} "
              + " ".join(f"{measured[m]:>11d}" for m in methods))
    def med(v):  # methods read from auto's candidates were not timed on their own
        return f"{np.median(v):>11.2f}" if len(v) * 2 > len(selected) else f"{'(in auto)':>11}"

    print(f"{'median s':<{width}} {'':>6} " + " ".join(med(seconds[m]) for m in methods))
    print(f"{'median cpu s':<{width}} {'':>6} " + " ".join(med(cpu[m]) for m in methods))
    for m, tally in chosen.items():
        print(f"{m} chose (tasks x seeds): "
              + ", ".join(f"{k} {v}x" for k, v in sorted(tally.items())))
    if sink:
        sink.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
