#!/usr/bin/env python
"""``infocli bench``'s KSG column against a hand-written scipy KSG on the same samples.

For every selected task and seed, the sample ``task.sample(n, seed)`` is
estimated twice in this run: by ``infocli.bench.run`` with ``-e ksg`` (k = 3,
algorithm 1) and by a KSG written here from the definition (Kraskov et al.
2004, eq. 8) on scipy's cKDTree, with the same preparation as infocli
(columns centred and divided by their population standard deviation). Prints
one row per run: both values, |difference|, both times and their ratio
(scipy seconds / infocli seconds), and a final line with the largest
difference and the tasks solved by each (bmi's criterion, mean over seeds).

Usage:
  python benchmarks/bench_ksg_check.py                         # bmi family, n=5000, 1 seed
  python benchmarks/bench_ksg_check.py --seeds 3 --max-dim 10  # skip the 25-D and 50-D tasks
  python benchmarks/bench_ksg_check.py --tasks '1v1-*' -n 1000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from infocli import bench, tasks


def scipy_ksg(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean(0)) / y.std(0)
    n = len(x)
    joint = np.hstack([x, y])
    dist, _ = cKDTree(joint).query(joint, k=k + 1, p=np.inf)
    eps = np.nextafter(dist[:, k], 0)  # strictly inside the k-th neighbour's distance
    nx = cKDTree(x).query_ball_point(x, eps, p=np.inf, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, eps, p=np.inf, return_length=True) - 1
    return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="bmi")
    ap.add_argument("--tasks", default=None, help="name globs, comma-separated")
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--max-dim", type=int, default=None, help="skip tasks with more columns")
    args = ap.parse_args()

    selected = [t for t in tasks.select(args.tasks, args.family, "mutual_information")
                if not t.discrete and (args.max_dim is None or t.dim_total <= args.max_dim)]
    records = bench.run(selected, ["ksg"], [args.n], args.seeds, workers=0)
    header = (f"{'task':48s} {'dims':>6s} {'seed':>4s} {'truth':>7s} {'infocli':>9s} "
              f"{'scipy':>9s} {'|diff|':>8s} {'t infocli':>9s} {'t scipy':>8s} {'ratio':>6s}")
    print(header)
    print("-" * len(header))
    worst = 0.0
    hand: dict[tuple[str, int], float] = {}
    for r in records:
        task = tasks.get(r.task)
        data = task.sample(args.n, r.seed)
        start = time.perf_counter()
        value = scipy_ksg(data["x"], data["y"])
        seconds = time.perf_counter() - start
        hand[(r.task, r.seed)] = value
        diff = abs(value - r.value) if r.ok else float("nan")
        worst = max(worst, diff) if r.ok else worst
        dims = f"{task.dims['x']}x{task.dims['y']}"
        shown = f"{r.value:9.4f}" if r.ok else f"{'failed':>9s}"
        print(f"{r.task:48s} {dims:>6s} {r.seed:4d} {r.truth:7.3f} {shown} {value:9.4f} "
              f"{diff:8.1e} {r.seconds:9.3f} {seconds:8.3f} {seconds / r.seconds:6.1f}",
              flush=True)
    solved_infocli = sum(t.solved for t in bench.summarize(records).tasks)
    by_task: dict[str, list[float]] = {}
    for (name, _), v in hand.items():
        by_task.setdefault(name, []).append(v)
    solved_scipy = sum(bench.is_solved(float(np.mean(v)), tasks.get(name).truth)
                       for name, v in by_task.items())
    print(f"\n{len(records)} runs at n={args.n}: largest |infocli - scipy| = {worst:.2e} nats; "
          f"solved: infocli {solved_infocli}/{len(by_task)}, scipy {solved_scipy}/{len(by_task)}")


if __name__ == "__main__":
    main()
