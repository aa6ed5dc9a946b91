#!/usr/bin/env python
"""Benchmark infocli's DSE/DSMI against the authors' package dse-dsmi, in the same run.

Every measurement runs in a fresh subprocess (so peak memory, ru_maxrss, is
per case); data are numpy.random.default_rng(0) standard normal points in 10
dimensions, never timed. Both sides get the same sigma (the median pairwise
distance, computed once here) and t = 1.

Cases:
  dse N      exact DSE, N = 2000, 4000, 8000: seconds both sides, ratio
             (reference seconds / infocli seconds, >1 = infocli faster), values
             in bits and their difference, peak memory above the baseline
             (taken after imports and data generation) in units of N^2 float64.
  dsmi       DSMI, 3000 points, 3 classes (labels shift the means), 5 repeats.
             Values differ by the baseline subsets (different RNGs).
  slq N      infocli's approximate mode (approx=true, all N points) against
             infocli's exact value at N = 6000, and alone at N = 30,000.

Threads: --threads sets OMP/MKL/OpenBLAS threads for both sides (default 1:
on a shared, busy machine multi-threaded BLAS/LAPACK with spin-waiting
threads is erratic; equal threads keep the ratio fair).

Usage:
  python benchmarks/dse.py                     # everything (reference at 8000: ~1 min+)
  python benchmarks/dse.py --sizes 2000 --skip-slq
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np
case = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
n = case["n"]
x = rng.standard_normal((n, 10))
y = None
if case["kind"] == "dsmi":
    y = rng.integers(0, 3, n)
    x[:, 0] += 2.0 * y
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if case["side"] == "ref":
    from dse_dsmi import diffusion_spectral_entropy, diffusion_spectral_mutual_information
    base = rss()
    t0 = time.perf_counter()
    if case["kind"] == "dsmi":
        value = float(diffusion_spectral_mutual_information(
            x, y, gaussian_kernel_sigma=case["sigma"], t=1, num_repetitions=5)[0])
    else:
        value = float(diffusion_spectral_entropy(x, gaussian_kernel_sigma=case["sigma"], t=1,
                                                 max_N=None))
else:
    sys.path.insert(0, case["src"])
    import infocli, torch
    infocli.dse(x[:50], sigma=1.0)  # warm-up: imports, LAPACK initialisation
    base = rss()
    t0 = time.perf_counter()
    if case["kind"] == "dsmi":
        est = infocli.dsmi(x, y, sigma=case["sigma"], discrete_y=True, unit="bits", device="cpu")
    else:
        est = infocli.dse(x, sigma=case["sigma"], unit="bits", device="cpu",
                          max_n=case.get("max_n", 10000), approx=case.get("approx", False))
    value = est.value
    stderr = est.stderr
seconds = time.perf_counter() - t0
out = {"seconds": seconds, "value": value, "peak": rss(), "base": base}
if case["side"] == "infocli":
    out["stderr"] = stderr
print(json.dumps(out))
"""


def run(case: dict, threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(case)], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_sigma() -> float:
    import numpy as np
    from scipy.spatial.distance import pdist

    x = np.random.default_rng(0).standard_normal((2000, 10))
    return float(np.median(pdist(x)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000, 8000])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-dsmi", action="store_true")
    ap.add_argument("--skip-slq", action="store_true")
    ap.add_argument("--slq-sizes", type=int, nargs="+", default=[6000, 30000])
    args = ap.parse_args()
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    sigma = median_sigma()
    print(f"sigma = {sigma:.4f} (median pairwise distance), t = 1, threads = {args.threads}",
          flush=True)

    header = (f"{'case':<12}{'ref s':>9}{'infocli s':>11}{'ratio':>8}{'ref bits':>12}"
              f"{'infocli bits':>14}{'|diff|':>10}{'ref peak':>10}{'ours peak':>11}")
    print(header)
    print("-" * len(header), flush=True)

    def n2(r, n):
        return (r["peak"] - r["base"]) / (8.0 * n * n)

    for n in args.sizes:
        ours = run({"side": "infocli", "kind": "dse", "n": n, "sigma": sigma, "src": src},
                   args.threads)
        ref = run({"side": "ref", "kind": "dse", "n": n, "sigma": sigma}, args.threads)
        if "error" in ours or "error" in ref:
            print(f"dse {n:<8} error: {ours.get('error') or ref.get('error')}", flush=True)
            continue
        print(f"{'dse ' + str(n):<12}{ref['seconds']:>9.2f}{ours['seconds']:>11.2f}"
              f"{ref['seconds'] / ours['seconds']:>8.1f}{ref['value']:>12.6f}"
              f"{ours['value']:>14.6f}{abs(ref['value'] - ours['value']):>10.1e}"
              f"{n2(ref, n):>8.2f}N²{n2(ours, n):>9.2f}N²", flush=True)

    if not args.skip_dsmi:
        n = 3000
        ours = run({"side": "infocli", "kind": "dsmi", "n": n, "sigma": sigma, "src": src},
                   args.threads)
        ref = run({"side": "ref", "kind": "dsmi", "n": n, "sigma": sigma}, args.threads)
        print(f"{'dsmi 3000':<12}{ref['seconds']:>9.2f}{ours['seconds']:>11.2f}"
              f"{ref['seconds'] / ours['seconds']:>8.1f}{ref['value']:>12.6f}"
              f"{ours['value']:>14.6f}{'(rng)':>10}", flush=True)
        print("  dsmi: 3 classes, 5 repeats; values differ only through the random baseline "
              "subsets", flush=True)

    if not args.skip_slq:
        print()
        print(f"{'approx mode':<14}{'seconds':>9}{'bits':>10}{'stderr':>9}{'exact bits':>12}"
              f"{'error':>9}{'peak':>10}")
        for n in args.slq_sizes:
            approx = run({"side": "infocli", "kind": "dse", "n": n, "sigma": sigma, "src": src,
                          "max_n": 1000, "approx": True}, args.threads)
            if "error" in approx:
                print(f"slq {n}: error: {approx['error']}", flush=True)
                continue
            exact_txt, err_txt = "-", "-"
            if n <= 10000:
                exact = run({"side": "infocli", "kind": "dse", "n": n, "sigma": sigma,
                             "src": src}, args.threads)
                exact_txt = f"{exact['value']:.4f}"
                err_txt = f"{approx['value'] - exact['value']:+.4f}"
            print(f"{'slq ' + str(n):<14}{approx['seconds']:>9.1f}{approx['value']:>10.4f}"
                  f"{approx['stderr']:>9.4f}{exact_txt:>12}{err_txt:>9}"
                  f"{(approx['peak'] - approx['base']) / 2**30:>8.2f}GB", flush=True)


if __name__ == "__main__":
    main()
