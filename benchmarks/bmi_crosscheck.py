"""Cross-check infocli's bmi family against bmi itself (truths and sampled distributions).

For each of the 40 tasks of bmi's v1 suite (``bmi.benchmark.task_list``) this
prints bmi's ground truth, infocli's, their absolute difference (target
<= 1e-6), and compares large samples from both implementations (raw, i.e.
before bmi's v1 rescaling, which both apply identically):

* ``KS p (cols)``: the smallest two-sample Kolmogorov-Smirnov p-value over
  all columns of X and Y, Bonferroni-adjusted (times the number of columns,
  capped at 1);
* ``KS p (proj)``: the same over 4 fixed random unit projections of the
  joint (X, Y), which also sees the dependence structure;
* ``GC-MI``: Gaussian-copula MI (ranks -> normal scores -> Gaussian MI) of
  each side's sample, and the difference (a cheap MI statistic of the joint);
  ``bmi s1-s0`` is the same difference between two bmi seeds, the scale of
  pure sampling noise to judge ``GC diff`` against;
* ``rho_s |x|,|y|``: Spearman correlation of the norms ||X|| and ||Y|| on
  each side (bmi / infocli). It sees dependence that correlations miss, such
  as the shared scale of the Student-t tasks (whose Gaussian-copula MI is ~0).

Not part of CI: bmi needs JAX (``benchmark-mi`` wants ``jax<0.4.34``), so it
runs in its own virtual environment::

    python -m venv /work/venvs/bmi
    /work/venvs/bmi/bin/pip install benchmark-mi jax==0.4.30 jaxlib==0.4.30 numpy scipy
    PYTHONPATH=src /work/venvs/bmi/bin/python benchmarks/bmi_crosscheck.py \\
        [--n 20000] [--seed 0] > benchmarks/results/bmi_crosscheck.txt

``infocli.tasks`` needs only numpy and scipy (no torch or numba), so the
venv does not need infocli's own dependencies; ``PYTHONPATH=src`` puts this
checkout first.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from scipy import stats
from scipy.special import ndtri


def gaussian_copula_mi(x: np.ndarray, y: np.ndarray) -> float:
    """Gaussian MI of the rank-normalised columns (nats)."""
    def scores(a):
        r = stats.rankdata(a, axis=0)
        return ndtri(r / (a.shape[0] + 1))

    z = np.hstack([scores(x), scores(y)])
    c = np.corrcoef(z.T)
    dx = x.shape[1]
    ld = lambda m: np.linalg.slogdet(np.atleast_2d(m))[1]
    return 0.5 * (ld(c[:dx, :dx]) + ld(c[dx:, dx:]) - ld(c))


def norm_rank_corr(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.spearmanr(np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1))[0])


def ks_min_p(a: np.ndarray, b: np.ndarray) -> float:
    p = [stats.ks_2samp(a[:, j], b[:, j]).pvalue for j in range(a.shape[1])]
    return min(1.0, min(p) * len(p))


def compare_samples(bt, ours, n: int, seed: int, rng: np.random.Generator) -> dict:
    """bmi's and infocli's samples of one task (``n`` rows, ``seed``) side by side: the
    samples, the smallest Bonferroni KS p-value over the columns (``p_cols``) and over
    four random projections (``p_proj``), the Gaussian-copula MI of each (``gb``,
    ``go``) and of bmi's next seed (``gb1``, the seed-to-seed yardstick)."""
    xb, yb = (np.asarray(a, dtype=np.float64) for a in bt.sample(n, seed))
    d = ours.sample(n, seed, standardize=False)
    xo, yo = d["x"], d["y"]
    assert xo.shape == xb.shape and yo.shape == yb.shape, bt.id
    p_cols = ks_min_p(np.hstack([xb, yb]), np.hstack([xo, yo]))
    dirs = rng.standard_normal((xb.shape[1] + yb.shape[1], 4))
    dirs /= np.linalg.norm(dirs, axis=0)
    p_proj = ks_min_p(np.hstack([xb, yb]) @ dirs, np.hstack([xo, yo]) @ dirs)
    gb1 = gaussian_copula_mi(*(np.asarray(a, dtype=np.float64) for a in bt.sample(n, seed + 1)))
    return dict(xb=xb, yb=yb, xo=xo, yo=yo, p_cols=p_cols, p_proj=p_proj,
                gb=gaussian_copula_mi(xb, yb), go=gaussian_copula_mi(xo, yo), gb1=gb1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="samples per side (default 20000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    warnings.filterwarnings("ignore")
    from importlib.metadata import version

    import jax
    from bmi.benchmark.task_list import BENCHMARK_TASKS_LIST

    from infocli import tasks

    jax.config.update("jax_enable_x64", False)  # bmi's default precision
    ours_all = {t.name: t for t in tasks.select(family="bmi")}
    print(f"bmi (benchmark-mi {version('benchmark-mi')}, jax {jax.__version__}) vs infocli.tasks; "
          f"n = {args.n} per side, seed {args.seed}; {len(BENCHMARK_TASKS_LIST)} bmi tasks, "
          f"{len(ours_all)} infocli bmi tasks")
    head = (f"{'task':48s} {'dims':>6s} {'bmi truth':>11s} {'infocli':>11s} {'|diff|':>9s} "
            f"{'KS p cols':>9s} {'KS p proj':>9s} {'GC-MI bmi':>9s} {'GC-MI ours':>10s} "
            f"{'GC diff':>8s} {'bmi s1-s0':>9s} {'rho_s |x|,|y| bmi/ours':>22s}")
    print(head)
    print("-" * len(head))
    worst, missing, low_p = 0.0, [], []
    rng = np.random.default_rng(12345)
    t0 = time.time()
    for bt in BENCHMARK_TASKS_LIST:
        ours = ours_all.get(bt.id)
        if ours is None:
            missing.append(bt.id)
            print(f"{bt.id:48s} MISSING in infocli")
            continue
        truth_bmi = float(bt.mutual_information)
        diff = abs(truth_bmi - ours.truth)
        worst = max(worst, diff)
        c = compare_samples(bt, ours, args.n, args.seed, rng)
        xb, yb, xo, yo = c["xb"], c["yb"], c["xo"], c["yo"]
        p_cols, p_proj, gb, go, gb1 = c["p_cols"], c["p_proj"], c["gb"], c["go"], c["gb1"]
        if min(p_cols, p_proj) < 1e-3:
            low_p.append(bt.id)
        dims = f"{xb.shape[1]}x{yb.shape[1]}"
        print(f"{bt.id:48s} {dims:>6s} {truth_bmi:11.6f} {ours.truth:11.6f} {diff:9.1e} "
              f"{p_cols:9.3f} {p_proj:9.3f} {gb:9.4f} {go:10.4f} {go - gb:+8.4f} {gb1 - gb:+9.4f} "
              f"{norm_rank_corr(xb, yb):11.4f}/{norm_rank_corr(xo, yo):<10.4f}",
              flush=True)
    print("-" * len(head))
    print(f"max |truth diff| = {worst:.2e} (target <= 1e-6): "
          f"{'OK' if worst <= 1e-6 and not missing else 'FAIL'}")
    extra = sorted(set(ours_all) - {t.id for t in BENCHMARK_TASKS_LIST})
    print(f"missing in infocli: {missing or 'none'}; infocli-only: {extra or 'none'}")
    print(f"tasks with an adjusted KS p-value < 1e-3: {low_p or 'none'} "
          f"(with 40 tasks x 2 tests, a few p-values below 0.05 are expected by chance)")
    print(f"time {time.time() - t0:.0f} s")
    return 0 if worst <= 1e-6 and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
