"""Overhead of ``infocli.torch.Tracker`` on a small MLP trained on scikit-learn's digits.

The acceptance run: an MLP 64-32-16-10 (ReLU), Adam, batches of 64, 30
epochs, three tracked layers, default measures (the noisy channel's
``mi_x_noisy`` and ``mi_y_noisy``) and default probe size (500 rows). In one
process, for each torch thread count, it times:

* ``train``: training alone (the floor);
* ``every=1``: the tracker measuring every epoch;
* ``auto``: the default ``every="auto"`` (overhead budget 0.25);
* with ``--estimators``: ``est/1``, the estimator-based measures of earlier
  releases (``dse`` and ``mi_y`` with ``auto``, 1,000 probe rows) every epoch;

``--repeats`` times, interleaved (floor, then each setting), and prints the
median wall time, the median over repeats of the overhead against the floor
of the same repeat (and every repeat's), the epochs measured, the tracker's
own cost per measured epoch, and its own share: the tracker's time over the
training time of the same run (median), the quantity ``every="auto"`` budgets
and the least noisy of these figures. Timings vary with the machine's load:
compare ratios within one run.

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
        return wall, 0, 0.0, 0.0
    tracker.close()
    n = len(tracker.measured_epochs)
    return wall, n, tracker.seconds / max(n, 1), tracker.seconds / (wall - tracker.seconds)


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
          f"{'epochs measured':>16s} {'s per measured epoch':>21s} {'own share':>10s}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        settings = [("every=1", {"every": 1, **extra}), ("auto", extra)]
        if args.estimators:
            settings.append(("est/1", {"every": 1, "rows": 1000, "measures": ("dse", "mi_y")}))
        # interleaved: each repeat times the floor and then every setting, so a slow
        # spell of the machine hits a floor and its settings alike; the overhead is the
        # median over repeats of (setting / floor of the same repeat) - 1
        floors, results = [], {name: [] for name, _ in settings}
        for rep in range(args.repeats):
            floor = run(args.epochs, None)[0]
            floors.append(floor)
            for name, kw in settings:
                if name == "est/1" and rep:
                    continue  # one run: it takes a minute
                results[name].append((run(args.epochs, kw), floor))
        mid = sorted(floors)[len(floors) // 2]
        print(f"{threads:7d} {'train':>8s} {mid:8.2f} {'-':>9s} {'-':>16s} {'-':>21s}"
              f"   (runs {', '.join(f'{f:.2f}' for f in floors)})")
        for name, _ in settings:
            ratios = sorted(r[0][0] / r[1] - 1 for r in results[name])
            wall = sorted(r[0][0] for r in results[name])[len(results[name]) // 2]
            (_, n, per, _), _ = results[name][0]
            own = sorted(r[0][3] for r in results[name])[len(results[name]) // 2]
            print(f"{threads:7d} {name:>8s} {wall:8.2f} {100 * ratios[len(ratios) // 2]:8.0f}% "
                  f"{n:>10d} / {args.epochs:<3d} {per:21.3f} {100 * own:9.0f}%"
                  + (f"   (overheads {', '.join(f'{100 * q:.0f}%' for q in ratios)})"
                     if len(ratios) > 1 else ""), flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
