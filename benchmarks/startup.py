"""Wall time of the shell tool's small calls (issue 27's acceptance figures).

Each figure is the median over ``--repeats`` fresh processes, next to the floor
``python -c "import numpy"`` timed in the same run (interleaved, so both see the
same machine load), and reported as a ratio to that floor.

    python benchmarks/startup.py                       # the infocli on PYTHONPATH
    python benchmarks/startup.py --src ../main/src     # another checkout's src
    python benchmarks/startup.py --src ../main/src --src src   # before/after, one table

Rows:
  --help                 infocli --help
  mi ksg, check off      infocli mi x.npy y.npy -e ksg --check off --value (200 rows, 2x1)
  mi default             infocli mi x.npy y.npy --value (auto, check fast)
  first call (fresh)     the ksg call from a fresh copy of src (no __pycache__, no
                         numba cache), against the median of the calls after it
  matrix 13 x 178        infocli matrix t.csv (default engine)
  batch 7 jobs           infocli batch jobs.csv (default engine)
  bench: first stderr    seconds until `infocli bench ... 2> log` writes its first
                         line to the log (stderr not a terminal)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

FLOOR = [sys.executable, "-c", "import numpy"]


def _env(src: str, cache_dir: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.abspath(src) if src else env.get("PYTHONPATH", "")
    env.pop("COLUMNS", None)
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    if proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return took


def _timed(cmd: list[str], env: dict[str, str], cwd: str, repeats: int) -> tuple[float, float]:
    """Median wall time of ``cmd`` and of the floor, run alternately."""
    runs, floors = [], []
    for _ in range(repeats):
        floors.append(_run(FLOOR, env, cwd))
        runs.append(_run(cmd, env, cwd))
    return statistics.median(runs), statistics.median(floors)


def _first_stderr(cmd: list[str], env: dict[str, str], cwd: str, limit: float) -> float:
    """Seconds until ``cmd`` (stderr to a file) writes its first progress line to
    stderr (``infocli: ...``, not an error or warning); inf when none within ``limit``."""
    log = os.path.join(cwd, "bench.log")
    with open(log, "w") as f:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=f)
        try:
            while time.perf_counter() - start < limit:
                with open(log) as r:
                    text = r.read()
                if any(line.startswith("infocli: ") and not line.startswith(
                        ("infocli: error", "infocli: warning")) for line in text.splitlines()):
                    return time.perf_counter() - start
                if proc.poll() is not None:
                    if proc.returncode:
                        raise SystemExit(f"{' '.join(cmd)} failed: {text[-300:]}")
                    return float("inf")
                time.sleep(0.1)
            return float("inf")
        finally:
            proc.kill()
            proc.wait()


def make_data(where: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    np.save(os.path.join(where, "x.npy"), x)
    np.save(os.path.join(where, "y.npy"), x[:, :1] + rng.normal(size=(200, 1)))
    t = rng.normal(size=(178, 13))
    t[:, 1] += t[:, 0]
    np.savetxt(os.path.join(where, "t.csv"), t, delimiter=",", fmt="%.5f", comments="",
               header=",".join(f"c{j}" for j in range(13)))
    with open(os.path.join(where, "jobs.csv"), "w") as f:
        f.write("measure,x,x_cols,y_cols,estimator\n")
        for j in range(1, 8):
            f.write(f"mi,t.csv,c0,c{j},ksg\n")


def measure(src: str, work: str, repeats: int, heavy_repeats: int) -> dict[str, tuple]:
    env = _env(src)
    cli = [sys.executable, "-m", "infocli"]
    out: dict[str, tuple] = {}
    ksg = cli + ["mi", "x.npy", "y.npy", "-e", "ksg", "--check", "off", "--value"]
    _run(ksg, env, work)  # warm the OS file cache and numba's on-disk cache
    out["--help"] = _timed(cli + ["--help"], env, work, repeats)
    out["mi ksg, check off"] = _timed(ksg, env, work, repeats)
    out["mi default"] = _timed(cli + ["mi", "x.npy", "y.npy", "--value"], env, work, repeats)
    # a fresh copy of src: no bytecode, no numba cache
    fresh = tempfile.mkdtemp(prefix="infocli-fresh-")
    try:
        shutil.copytree(src or _installed_src(), os.path.join(fresh, "src"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
        fenv = _env(os.path.join(fresh, "src"), cache_dir=os.path.join(fresh, "numba"))
        first = _run(ksg, fenv, work)
        later = statistics.median(_run(ksg, fenv, work) for _ in range(max(3, repeats // 4)))
        out["first call (fresh) / later"] = (first, later)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    out["matrix 13 x 178"] = _timed(cli + ["matrix", "t.csv"], env, work, heavy_repeats)
    out["batch 7 jobs"] = _timed(cli + ["batch", "jobs.csv", "-q"], env, work, heavy_repeats)
    first = _first_stderr(cli + ["bench", "-e", "ksg", "--family", "bmi", "--seeds", "3",
                                 "--check", "fast"], env, work, 40.0)
    out["bench: first stderr line"] = (first, None)
    return out


def _installed_src() -> str:
    import infocli

    return os.path.dirname(os.path.dirname(infocli.__file__))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", action="append", default=[],
                    help="a checkout's src directory (repeatable; default: PYTHONPATH)")
    ap.add_argument("--repeats", type=int, default=20, help="runs of each small call")
    ap.add_argument("--heavy-repeats", type=int, default=3, help="runs of matrix and batch")
    args = ap.parse_args()
    srcs = args.src or [""]
    work = tempfile.mkdtemp(prefix="infocli-startup-")
    try:
        make_data(work)
        results = {s: measure(s, work, args.repeats, args.heavy_repeats) for s in srcs}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"# {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"medians of {args.repeats} runs ({args.heavy_repeats} for matrix/batch)")
    head = "| call | " + " | ".join(f"{s or 'PYTHONPATH'}: s (floor s, x floor)" for s in srcs)
    print(head + " |")
    print("|---" * (len(srcs) + 1) + "|")
    for row in results[srcs[0]]:
        cells = []
        for s in srcs:
            a, b = results[s][row]
            if row.startswith("first call"):
                cells.append(f"{a:.2f} first, {b:.2f} later ({a / b:.1f}x)")
            elif b is None:
                cells.append("none within 40 s" if a == float("inf") else f"{a:.1f} s")
            else:
                cells.append(f"{a:.2f} ({b:.2f}, {a / b:.1f}x)")
        print(f"| {row} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
