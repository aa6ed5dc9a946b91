#!/usr/bin/env python
"""KSG and KL in high dimension: the matrix-product search against the old brute force.

For each case (n rows, d_x + d_y columns of correlated Gaussian data, k = 3) the
table gives

  old     the previous brute force (torch ``cdist`` without matrix products, max
          norm for KSG, Euclidean for KL), run directly through ``NeighborIndex``;
          where that would take too long it is timed at ``--old-n`` rows and
          scaled by (n / old_n)^2 (marked "est."): it is O(n^2 d)
  new     ``infocli.mutual_information(..., estimator="ksg")`` /
          ``infocli.entropy(np.hstack([x, y]), estimator="kl")`` with
          ``check="off"``: the matrix-product search (Euclidean within x and y, max
          across them for KSG), including standardisation
  floor   one float32 ``X @ X.T`` of the n x d_x block, the least any
          matrix-product search can cost per block of columns
  new/floor, old/new

Every time is the best of ``--repeats`` runs, floors measured in the same run, so
the ratios survive a busy machine better than the seconds. Last, KSG at
``--memory-n`` x (``--memory-d`` + ``--memory-d``) (default 20,000 x (1,024 + 1,024))
runs in a fresh subprocess, which prints its peak RSS.

Usage:
  python benchmarks/knn_highdim.py                      # the table of the report
  python benchmarks/knn_highdim.py --cases 5000:1024 --repeats 1
  python benchmarks/knn_highdim.py --memory-only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

K = 3
DEFAULT_CASES = ("5000:1024", "10000:1024", "5000:256", "10000:256", "20000:256")


def data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = 0.6 * x + 0.8 * rng.standard_normal((n, d))
    return x, y


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def old_ksg(x, y):
    from infocli.estimators._common import Context
    from infocli.estimators._neighbors import NeighborIndex

    ctx = Context(rng=np.random.default_rng(0), device="cpu")
    joint = NeighborIndex(np.hstack([x, y]), "chebyshev", ctx, "brute")
    eps = joint.kneighbors(K)[0][:, K - 1]
    for v in (x, y):
        NeighborIndex(v, "chebyshev", ctx, "brute").count_within(eps, strict=True)


def old_kl(x, y):
    from infocli.estimators._common import Context
    from infocli.estimators._neighbors import NeighborIndex

    ctx = Context(rng=np.random.default_rng(0), device="cpu")
    NeighborIndex(np.hstack([x, y]), "euclidean", ctx, "brute").kneighbors(K)


def new_ksg(x, y):
    import infocli

    return infocli.mutual_information(x, y, estimator="ksg", k=K, check="off")


def new_kl(x, y):
    import infocli

    return infocli.entropy(np.hstack([x, y]), estimator="kl", k=K, check="off")


def floor(x) -> float:
    xf = x.astype(np.float32)
    return best(lambda: xf @ xf.T, 3)


def row(n, d, name, new, old, old_n, repeats):
    x, y = data(n, d)
    new(x[:300], y[:300])  # imports (torch, numba) and compiled code: not timed
    f = floor(x)
    t_new = best(lambda: new(x, y), repeats)
    est = new(x, y)
    t_old, mark = None, ""
    if old_n:
        m = min(n, old_n)
        xo, yo = data(m, d)
        old(xo[:200], yo[:200])
        t_old = best(lambda: old(xo, yo), repeats) * (n / m) ** 2
        mark = "" if m == n else f" (est. from n={m})"
    return {"n": n, "dims": f"{d}+{d}", "estimator": name, "old_s": t_old, "old_note": mark,
            "new_s": t_new, "floor_s": f, "value": est.value,
            "neighbors": est.details.get("neighbors")}


def memory(n: int, d: int) -> dict:
    # VmHWM (not ru_maxrss, which a child inherits from its parent across exec)
    code = f"""
import json, numpy as np, infocli
import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
from knn_highdim import data

def hwm():
    with open("/proc/self/status") as f:
        return next(int(v.split()[1]) for v in f if v.startswith("VmHWM"))

x, y = data({n}, {d})
infocli.mutual_information(x[:200], y[:200], estimator="ksg", check="off")
base = hwm()
infocli.mutual_information(x, y, estimator="ksg", check="off")
peak = hwm()
print(json.dumps({{"base_mb": base / 1024, "peak_mb": peak / 1024}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    got["data_mb"] = 2 * n * d * 8 / 2**20
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=list(DEFAULT_CASES),
                    help="n:d cases, d columns on each side")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--old-n", type=int, default=1000,
                    help="time the old brute force at most at this n, scaled by n^2")
    ap.add_argument("--estimators", nargs="*", default=["ksg", "kl"])
    ap.add_argument("--memory-n", type=int, default=20000)
    ap.add_argument("--memory-d", type=int, default=1024)
    ap.add_argument("--memory-only", action="store_true")
    args = ap.parse_args()
    import torch

    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}, torch threads {torch.get_num_threads()}, "
          f"INFOCLI_NUM_THREADS={os.environ.get('INFOCLI_NUM_THREADS', '-')}", flush=True)
    if not args.memory_only:
        rows = []
        for case in args.cases:
            n, d = (int(v) for v in case.split(":"))
            for name in args.estimators:
                new, old = (new_ksg, old_ksg) if name == "ksg" else (new_kl, old_kl)
                r = row(n, d, name, new, old, args.old_n, args.repeats)
                rows.append(r)
                old_s = f"{r['old_s']:.1f}{r['old_note']}" if r["old_s"] else "-"
                ratio = f"{r['old_s'] / r['new_s']:.0f}x" if r["old_s"] else "-"
                print(f"| {n:,} | {d} + {d} | {name} | {old_s} | {r['new_s']:.2f} | {ratio} | "
                      f"{r['floor_s']:.2f} | {r['new_s'] / r['floor_s']:.1f} | "
                      f"{r['value']:.4f} |", flush=True)
    mem = memory(args.memory_n, args.memory_d)
    print(f"# peak RSS, KSG {args.memory_n:,} x ({args.memory_d} + {args.memory_d}), fresh "
          f"process: {mem['peak_mb']:.0f} MB (after imports and data: {mem['base_mb']:.0f} MB; "
          f"the two float64 inputs alone: {mem['data_mb']:.0f} MB)", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
