#!/usr/bin/env python
"""Benchmark ``infocli batch`` and ``infocli matrix`` against the alternatives a user
has today, in the same run, and print one table.

Cases (full size; ``--quick`` shrinks them for a smoke run):

  batch    200 jobs of ``mi`` (ksg, n = 5,000, scalar x and y), one .npy file each.
           infocli: ``python -m infocli batch jobs.csv -o out.jsonl --workers 2``
           (wall time of the whole command: start-up, cluster, 200 jobs, shutdown).
           Peer: a bash loop of 200 ``python -m infocli mi FILE --json`` calls.
           Target: the loop takes >= 5x the batch.
  matrix   50 columns, n = 10,000 (1,225 pairs), ksg: ``infocli.mi_matrix(frame,
           workers=2)`` (cluster start-up included).
           Peer 1: a Python loop over the pairs calling scikit-learn's
           ``mutual_info_regression`` (k = 3, its default) - target >= 3x slower.
           Peer 2: the same pairs serially in one process (``workers=0``, kd-tree
           queries on one thread), divided by the worker count - the parallel run
           should take <= 1.5x that (scaling efficiency).

The machine's load average is printed before and after: on a shared machine the
two workers do not get two whole cores, and the ratios say so. Data come from
``numpy.random.default_rng(0)`` and are not timed.

Usage:
  python benchmarks/batch.py                  # full size (~10 min on 2 free cores)
  python benchmarks/batch.py --quick          # 20 jobs, 12 columns, n / 5
  python benchmarks/batch.py --only matrix    # one case (repeatable)
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

SEED = 0
WORKERS = 2


def _env() -> dict[str, str]:
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _children_cpu() -> float:
    """CPU seconds of every finished child process (and their children)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def case_batch(n_jobs: int, n: int, folder: str, loop_jobs: int | None = None) -> list[tuple]:
    rng = np.random.default_rng(SEED)
    files = []
    for i in range(n_jobs):
        rho = 0.1 + 0.8 * i / max(n_jobs - 1, 1)
        x = rng.standard_normal(n)
        xy = np.column_stack([x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)])
        path = os.path.join(folder, f"pair{i:03d}.npy")
        np.save(path, xy)
        files.append(path)
    manifest = os.path.join(folder, "jobs.csv")
    with open(manifest, "w") as f:
        f.write("measure,x,x_cols,y_cols,estimator\n")
        f.writelines(f"mi,{p},0,1,ksg\n" for p in files)
    out = os.path.join(folder, "out.jsonl")
    _log(f"batch: infocli batch, {n_jobs} jobs, --workers {WORKERS}")
    cpu0 = _children_cpu()
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "infocli", "batch", manifest, "-o", out, "--workers",
                    str(WORKERS), "--quiet"], env=_env(), check=True)
    t_batch = time.perf_counter() - t
    cpu_batch = _children_cpu() - cpu0
    with open(out) as f:
        assert sum(1 for _ in f) == n_jobs
    loop_files = files[:loop_jobs] if loop_jobs else files
    _log(f"batch: {t_batch:.1f} s; now the bash loop of {len(loop_files)} infocli mi calls")
    loop = ("for f in " + " ".join(loop_files) + "; do "
            f'"{sys.executable}" -m infocli mi "$f" --x-cols 0 --y-cols 1 --json > /dev/null; '
            "done")
    cpu0 = _children_cpu()
    t = time.perf_counter()
    subprocess.run(["bash", "-c", loop], env=_env(), check=True)
    t_loop = time.perf_counter() - t
    cpu_loop = _children_cpu() - cpu0
    _log(f"batch: loop {t_loop:.1f} s")
    what = f"bash loop of {n_jobs} x infocli mi"
    if len(loop_files) < n_jobs:  # measured on the first calls, scaled to all of them
        what += f" (measured {len(loop_files)} calls: {t_loop:.1f} s, scaled x{n_jobs / len(loop_files):g})"
        t_loop *= n_jobs / len(loop_files)
        cpu_loop *= n_jobs / len(loop_files)
    return [
        (f"batch: {n_jobs} x mi (ksg, n={n:,}, 1x1)", f"infocli batch --workers {WORKERS}",
         t_batch, 1.0, "", "", cpu_batch),
        ("", what, t_loop, t_loop / t_batch, "PASS" if t_loop / t_batch >= 5 else "FAIL",
         ">= 5x", cpu_loop),
    ]


def _worker_cpu(client) -> float:
    """CPU seconds (user + system) used so far by the cluster's worker processes."""
    import psutil

    def cpu() -> float:
        t = psutil.Process().cpu_times()
        return t.user + t.system

    return float(sum(client.run(cpu).values()))


def case_matrix(n_cols: int, n: int) -> list[tuple]:
    import pandas as pd

    import infocli
    from infocli import batch

    rng = np.random.default_rng(SEED)
    latent = rng.standard_normal((n, max(2, n_cols // 5)))
    mixing = rng.standard_normal((latent.shape[1], n_cols)) * (rng.random((latent.shape[1],
                                                                           n_cols)) < 0.3)
    values = latent @ mixing + rng.standard_normal((n, n_cols))
    frame = pd.DataFrame(values, columns=[f"c{j:02d}" for j in range(n_cols)])
    pairs = n_cols * (n_cols - 1) // 2

    _log(f"matrix: start a {WORKERS}-worker LocalCluster, then {pairs} pairs")
    t = time.perf_counter()
    with batch.open_engine(WORKERS) as engine:
        # what `infocli matrix --workers 2` pays before the first pair: start-up and imports
        infocli.mi_matrix(frame.iloc[:200, :3], client=engine.client)
        t_start = time.perf_counter() - t
        cpu0, own0 = _worker_cpu(engine.client), time.process_time()
        t = time.perf_counter()
        parallel = infocli.mi_matrix(frame, client=engine.client)
        t_warm = time.perf_counter() - t
        cpu_par = _worker_cpu(engine.client) - cpu0 + time.process_time() - own0
    t_par = t_start + t_warm
    _log(f"matrix: start-up {t_start:.1f} s, pairs {t_warm:.1f} s; serial in one process")
    os.environ["INFOCLI_NUM_THREADS"] = "1"  # one core, as one worker has
    try:
        own0 = time.process_time()
        t = time.perf_counter()
        serial = infocli.mi_matrix(frame, workers=0)
        t_ser = time.perf_counter() - t
        cpu_ser = time.process_time() - own0
    finally:
        del os.environ["INFOCLI_NUM_THREADS"]
    assert [r["value"] for r in serial.rows] == [r["value"] for r in parallel.rows]
    _log(f"matrix: serial {t_ser:.1f} s; scikit-learn loop")
    from sklearn.feature_selection import mutual_info_regression

    x = frame.to_numpy()
    sk = []
    own0 = time.process_time()
    t = time.perf_counter()
    for i in range(n_cols):
        for j in range(i + 1, n_cols):
            sk.append(mutual_info_regression(x[:, [i]], x[:, j], n_neighbors=3,
                                             random_state=SEED)[0])
    t_sk = time.perf_counter() - t
    cpu_sk = time.process_time() - own0
    _log(f"matrix: scikit-learn {t_sk:.1f} s")
    ours = np.array([r["value"] for r in parallel.rows])
    diff = float(np.mean(np.abs(np.maximum(ours, 0) - np.array(sk))))
    per_worker = t_ser / WORKERS
    eff, eff_warm = t_par / per_worker, t_warm / per_worker
    label = f"matrix: {n_cols} columns, n={n:,} ({pairs:,} pairs, ksg)"
    return [
        (label, f"infocli matrix --workers {WORKERS} (start-up {t_start:.1f} s + pairs "
                f"{t_warm:.1f} s)", t_par, 1.0, "", "", cpu_par),
        ("", "loop over pairs: sklearn mutual_info_regression", t_sk, t_sk / t_par,
         "PASS" if t_sk / t_par >= 3 else "FAIL", ">= 3x", cpu_sk),
        ("", f"same pairs serially in one process / {WORKERS}", per_worker, per_worker / t_par,
         "PASS" if eff <= 1.5 else "FAIL",
         f"parallel <= 1.5x (is {eff:.2f}x; {eff_warm:.2f}x without start-up)", cpu_ser),
        ("", f"(serial undivided: {t_ser:.1f} s; mean |infocli - sklearn| = {diff:.4f} nats; "
             f"CPU of the parallel pairs / serial = {cpu_par / cpu_ser:.2f})", None, None, "", "",
         None),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--only", action="append", choices=("batch", "matrix"))
    ap.add_argument("--loop-jobs", type=int, default=None,
                    help="time the bash loop on only the first N files and scale linearly "
                    "(stated in the table); default: all of them")
    args = ap.parse_args()
    cases = args.only or ["batch", "matrix"]
    load0 = os.getloadavg()
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory() as folder:
        if "batch" in cases:
            rows += case_batch(20 if args.quick else 200, 1000 if args.quick else 5000, folder,
                               args.loop_jobs)
        if "matrix" in cases:
            rows += case_matrix(12 if args.quick else 50, 2000 if args.quick else 10_000)
    load1 = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores; load average (1 min) {load0[0]:.1f} at start, "
          f"{load1[0]:.1f} at end; {WORKERS} workers")
    print("ratio = that method's seconds / infocli's seconds (> 1: infocli is faster); "
          "CPU s = user + system seconds of every process of that method")
    header = ("case", "method", "seconds", "ratio", "verdict", "target", "CPU s")
    table = [header] + [(r[0], r[1], "" if r[2] is None else f"{r[2]:.1f}",
                         "" if r[3] is None else f"{r[3]:.2f}", r[4], r[5],
                         "" if r[6] is None else f"{r[6]:.1f}") for r in rows]
    widths = [max(len(str(row[c])) for row in table) for c in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table[1:]:
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths)) + " |")


if __name__ == "__main__":
    main()
