"""Overhead of ``infocli.torch.Tracker`` on a small MLP trained on scikit-learn's digits.

The acceptance run: an MLP 64-32-16-10 (ReLU), Adam, batches of 64, 30
epochs, three tracked layers, default measures (the noisy channel's
``mi_x_noisy`` and ``mi_y_noisy``) and default probe size (500 rows). In one
process, for each torch thread count, it times:

* ``train``: training alone (the floor), ``--repeats`` times (the median is
  the floor; the spread says how steady the machine was);
* ``every=1``: the tracker measuring every epoch;
* ``auto``: the default ``every="auto"`` (overhead budget 0.25);
* with ``--estimators``: ``est/1``, the estimator-based measures of earlier
  releases (``dse`` and ``mi_y`` with ``auto``, 1,000 probe rows) every epoch;

and prints the wall time, the overhead as a ratio to the floor of the same
run, the epochs measured, and the tracker's own cost per measured epoch.
Timings vary with the machine's load: compare ratios within one run.

    python benchmarks/tracker.py [--epochs 30] [--threads 1 2] [--rows 500] [--estimators]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn


def run(epochs: int, tracker_kw: dict | None, seed: int = 0):
    from sklearn.datasets import load_digits

    from infocli.torch import Tracker

    torch.manual_seed(seed)
    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
                          nn.Linear(16, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    tracker = None if tracker_kw is None else Tracker(model, ["1", "3", "4"], x, y,
                                                      seed=seed, **tracker_kw)
    for epoch in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(64):
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if tracker is not None:
            tracker.step(epoch)
    wall = time.perf_counter() - start
    if tracker is None:
        return wall, 0, 0.0
    tracker.close()
    n = len(tracker.measured_epochs)
    return wall, n, tracker.seconds / max(n, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rows", type=int, default=None, help="probe rows (default: Tracker's)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each setting (median)")
    ap.add_argument("--estimators", action="store_true",
                    help="also time dse + mi_y (auto) on 1,000 rows every epoch (slow)")
    args = ap.parse_args()
    extra = {} if args.rows is None else {"rows": args.rows}
    run(1, {"every": 1, **extra})  # warm-up: imports, numba compilation
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"{'threads':>7s} {'setting':>8s} {'wall s':>8s} {'overhead':>9s} "
          f"{'epochs measured':>16s} {'s per measured epoch':>21s}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        floors = sorted(run(args.epochs, None)[0] for _ in range(args.repeats))
        floor = floors[len(floors) // 2]
        print(f"{threads:7d} {'train':>8s} {floor:8.2f} {'-':>9s} {'-':>16s} {'-':>21s}"
              f"   (runs {', '.join(f'{f:.2f}' for f in floors)})")
        settings = [("every=1", {"every": 1, **extra}), ("auto", extra)]
        if args.estimators:
            settings.append(("est/1", {"every": 1, "rows": 1000, "measures": ("dse", "mi_y")}))
        for name, kw in settings:
            runs = sorted((run(args.epochs, kw) for _ in range(
                args.repeats if name != "est/1" else 1)), key=lambda r: r[0])
            wall, n, per = runs[len(runs) // 2]
            print(f"{threads:7d} {name:>8s} {wall:8.2f} {100 * (wall / floor - 1):8.0f}% "
                  f"{n:>10d} / {args.epochs:<3d} {per:21.3f}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
