"""Cross-check infocli's bmi2 family against bmi itself (truths and sampled distributions).

For each of the 26 tasks of bmi's v2 benchmark (``workflows/benchmark/v2/config.py``,
rebuilt here from ``bmi.benchmark.tasks`` exactly as that file does) this prints
bmi's ground truth, infocli's, and their difference in units of the combined
Monte Carlo standard error. bmi's own truths of the mixture tasks are Monte Carlo
means over 10^5 draws (``BMMSampler(mi_estimate_sample=100_000)``); bmi does not
report their error, so it is estimated here as the standard deviation of bmi's
pointwise MI (``BMMSampler.mutual_information_std`` when present, else the
sample SD of infocli's pointwise MI) over sqrt(10^5). The 13 v1 tasks have
closed-form truths on both sides (target |diff| <= 1e-6).

Samples: large draws from both implementations (raw, before rescaling) are
compared by the two-sample Kolmogorov-Smirnov test over every column and over
4 fixed random projections of (X, Y) (Bonferroni-adjusted minimum p), and by
Gaussian-copula MI (``GC diff`` against ``bmi s1-s0``, the same difference
between two bmi seeds), as in ``bmi_crosscheck.py``.

Not part of CI (bmi needs JAX); in its own virtual environment::

    python -m venv /work/venvs/bmi
    /work/venvs/bmi/bin/pip install benchmark-mi jax==0.4.30 jaxlib==0.4.30 numpy scipy
    PYTHONPATH=src /work/venvs/bmi/bin/python benchmarks/bmi2_crosscheck.py \\
        [--n 20000] [--seed 0] > benchmarks/results/bmi2_crosscheck.txt
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from bmi_crosscheck import compare_samples


def v2_tasks():
    """bmi's v2 task list, built as its config.py builds it (without the rescaling)."""
    import bmi.benchmark.tasks.additive_noise as additive_noise
    import bmi.benchmark.tasks.bivariate_normal as binormal
    import bmi.benchmark.tasks.embeddings as embeddings
    import bmi.benchmark.tasks.mixtures as mixtures
    import bmi.benchmark.tasks.multinormal as multinormal
    import bmi.benchmark.tasks.student as student
    from bmi.benchmark.tasks.asinh import transform_asinh_task as asinh
    from bmi.benchmark.tasks.normal_cdf import transform_normal_cdf_task as normal_cdfise
    from bmi.benchmark.tasks.spiral import transform_spiral_task as spiralise

    normal = binormal.task_bivariate_normal(gaussian_correlation=0.75)
    uniform = normal_cdfise(normal)
    return (
        additive_noise.task_additive_noise(epsilon=0.75),
        asinh(student.task_student_identity(dim_x=1, dim_y=1, df=1)),
        mixtures.task_x(),
        mixtures.task_ai(),
        embeddings.transform_swissroll_task(uniform, task_name="Swiss roll 2 × 1"),
        mixtures.task_waves(),
        mixtures.task_galaxy(),
        mixtures.task_concentric_multinormal(dim_x=3, n_components=5),
        mixtures.task_concentric_multinormal(dim_x=5, n_components=5),
        mixtures.task_concentric_multinormal(dim_x=3, n_components=10),
        mixtures.task_concentric_multinormal(dim_x=5, n_components=10),
        mixtures.task_concentric_multinormal(dim_x=25, n_components=5),
        multinormal.task_multinormal_dense(5, 5),
        multinormal.task_multinormal_dense(25, 25),
        multinormal.task_multinormal_dense(50, 50),
        multinormal.task_multinormal_2pair(5, 5),
        multinormal.task_multinormal_2pair(25, 25),
        mixtures.task_multinormal_sparse_w_inliers(dim_x=5, dim_y=5, inlier_fraction=0.2),
        mixtures.task_multinormal_sparse_w_inliers(dim_x=25, dim_y=25, inlier_fraction=0.2),
        mixtures.task_multinormal_sparse_w_inliers(dim_x=5, dim_y=5, inlier_fraction=0.5),
        mixtures.task_multinormal_sparse_w_inliers(dim_x=25, dim_y=25, inlier_fraction=0.5),
        asinh(student.task_student_identity(dim_x=2, dim_y=2, df=1)),
        asinh(student.task_student_identity(dim_x=3, dim_y=3, df=2)),
        asinh(student.task_student_identity(dim_x=5, dim_y=5, df=2)),
        spiralise(multinormal.task_multinormal_2pair(3, 3)),
        spiralise(multinormal.task_multinormal_2pair(5, 5)),
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="samples per side (default 20000)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    warnings.filterwarnings("ignore")
    from importlib.metadata import version

    import jax

    from infocli import tasks
    from infocli.tasks import bmi2

    jax.config.update("jax_enable_x64", False)
    bmi_tasks = v2_tasks()
    ours_all = {t.name: t for t in tasks.select(family="bmi2")}
    mixtures = {name: m for name, m, *_ in bmi2._specs()}
    print(f"bmi v2 (benchmark-mi {version('benchmark-mi')}, jax {jax.__version__}) vs "
          f"infocli.tasks family bmi2; n = {args.n} per side, seed {args.seed}; "
          f"{len(bmi_tasks)} bmi tasks, {len(ours_all)} infocli tasks")
    head = (f"{'task':40s} {'dims':>6s} {'bmi truth':>10s} {'infocli':>10s} {'+-se':>7s} "
            f"{'diff':>8s} {'diff/se':>7s} {'KS p cols':>9s} {'KS p proj':>9s} "
            f"{'GC-MI bmi':>9s} {'GC-MI ours':>10s} {'GC diff':>8s} {'bmi s1-s0':>9s}")
    print(head)
    print("-" * len(head))
    missing, low_p, worst_closed, worst_z = [], [], 0.0, 0.0
    rng = np.random.default_rng(12345)
    t0 = time.time()
    for bt in bmi_tasks:
        ours = ours_all.get(bt.id)
        if ours is None:
            missing.append(bt.id)
            print(f"{bt.id:40s} MISSING in infocli")
            continue
        truth_bmi = float(bt.mutual_information)
        diff = ours.truth - truth_bmi
        if bt.id in mixtures:
            m = bmi2._truth_mixture(bt.id, mixtures[bt.id])
            pmi = m.pointwise_mi(m.sample(200_000, np.random.default_rng(7)))
            se_bmi = float(pmi.std() / np.sqrt(100_000))
            se = float(np.hypot(se_bmi, ours.truth_error))
            z = diff / se
            worst_z = max(worst_z, abs(z))
            se_s, z_s = f"{se:7.4f}", f"{z:+7.2f}"
        else:
            worst_closed = max(worst_closed, abs(diff))
            se_s, z_s = f"{'exact':>7s}", f"{'':>7s}"
        c = compare_samples(bt, ours, args.n, args.seed, rng)
        xb, yb, xo, yo = c["xb"], c["yb"], c["xo"], c["yo"]
        p_cols, p_proj, gb, go, gb1 = c["p_cols"], c["p_proj"], c["gb"], c["go"], c["gb1"]
        if min(p_cols, p_proj) < 1e-3:
            low_p.append(bt.id)
        dims = f"{xb.shape[1]}x{yb.shape[1]}"
        print(f"{bt.id:40s} {dims:>6s} {truth_bmi:10.5f} {ours.truth:10.5f} {se_s} "
              f"{diff:+8.5f} {z_s} {p_cols:9.3f} {p_proj:9.3f} {gb:9.4f} {go:10.4f} "
              f"{go - gb:+8.4f} {gb1 - gb:+9.4f}", flush=True)
    print("-" * len(head))
    ok = worst_closed <= 1e-6 and worst_z <= 4.0 and not missing
    print(f"closed-form truths: max |diff| = {worst_closed:.2e} (target <= 1e-6); Monte Carlo "
          f"truths: max |diff|/se = {worst_z:.2f} (target <= 4): {'OK' if ok else 'FAIL'}")
    print(f"missing in infocli: {missing or 'none'}")
    print(f"tasks with an adjusted KS p-value < 1e-3: {low_p or 'none'}")
    print(f"time {time.time() - t0:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
