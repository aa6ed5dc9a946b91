#!/usr/bin/env python
"""infocli against LMI on the highdim MI tasks, side by side.

For every MI task of the ``highdim`` family (``infocli.tasks``), sample size
and seed, the same sample goes to

* infocli, in this process: ``infocli.mutual_information(x, y)`` with the
  default estimator (``auto``) and with ``estimator="ksg"`` (``-e`` to
  change), each with its default reliability check, so every row has a value,
  an interval and a verdict;
* LMI, latent MI approximation (Gowri et al., NeurIPS 2024; PyPI package
  ``latentmi``), in a subprocess of its own virtual environment, on ``.npy``
  files in a temporary directory. It runs ``latentmi.lmi.estimate(x, y)``
  with every default (AECross paired autoencoders, 8 latent dimensions, half
  the rows for training, Adam lr 1e-4, batch 512, at most 300 epochs with
  patience 30, then KSG k = 3 on the latent codes of the held-out half) and
  reports ``nanmean`` of its pointwise MI, which is in bits (its KSG uses
  base 2): this script converts it to nats. Label tasks (``hd-labels-*``)
  give LMI a one-hot y (an injective function of the label, so the same MI);
  infocli gets the labels (``discrete_y=True``).

Printed per (task, n, seed, infocli estimator): truth, infocli's value,
interval, verdict and seconds; LMI's value and seconds (LMI's run is shared by
an infocli row pair); and the time ratio LMI seconds / infocli seconds (above
1: infocli is faster). Seconds are the wall time of the estimate alone (for
LMI measured inside its process, after imports and loading). Both sides run
with ``--threads`` threads (default 1): BLAS, infocli's pool and
``torch.set_num_threads``.

LMI never enters infocli or CI. Its environment (torch pinned to 2.13.0, or
pip fetches CUDA builds of several GB)::

    python -m venv benchmarks/.venv-lmi
    benchmarks/.venv-lmi/bin/pip install torch==2.13.0 latentmi

or ``python benchmarks/highdim_peers.py --setup-lmi``. Then::

    PYTHONPATH=src python benchmarks/highdim_peers.py             # every highdim MI task, n 5000
    PYTHONPATH=src python benchmarks/highdim_peers.py --tasks 'hd-linear-4x64-*' -n 1000 --seeds 1
    PYTHONPATH=src python benchmarks/highdim_peers.py -n 1000,5000 --seeds 3 --csv peers.csv
    PYTHONPATH=src python benchmarks/highdim_peers.py --skip-lmi         # infocli only

The full table is long (LMI trains six networks per run; at 4,096 columns
their hidden layers are 4,096 wide): run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_VENV = HERE / ".venv-lmi"
LMI_REQUIREMENTS = ("torch==2.13.0", "latentmi")

# Runs in LMI's venv: argv = x.npy y.npy out.json seed threads
LMI_DRIVER = r"""
import json, sys, time, warnings
import numpy as np
import torch
x_path, y_path, out_path, seed, threads = sys.argv[1:6]
torch.set_num_threads(int(threads))
np.random.seed(int(seed))
torch.manual_seed(int(seed))
x, y = np.load(x_path), np.load(y_path)
from latentmi import lmi
import latentmi
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    pmis, _, _ = lmi.estimate(x, y)
    seconds = time.perf_counter() - start
json.dump({"bits": float(np.nanmean(pmis)), "seconds": seconds,
           "version": latentmi.__version__, "torch": torch.__version__,
           "threads": torch.get_num_threads()}, open(out_path, "w"))
"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default=None,
                   help="highdim task names or globs, comma-separated (default: every MI task)")
    p.add_argument("-n", "--n-samples", default="5000", help="sample sizes, comma-separated")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0 .. SEEDS-1 (default 1)")
    p.add_argument("-e", "--estimators", default="auto,ksg",
                   help="infocli estimators, comma-separated (default auto,ksg)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for both sides (BLAS, infocli, torch; default 1)")
    p.add_argument("--lmi-python", default=str(DEFAULT_VENV / "bin" / "python"),
                   help="python of LMI's venv (default benchmarks/.venv-lmi)")
    p.add_argument("--setup-lmi", action="store_true",
                   help="create benchmarks/.venv-lmi and install torch==2.13.0 latentmi, then exit")
    p.add_argument("--skip-lmi", action="store_true", help="infocli only")
    p.add_argument("--csv", default=None, help="also write one row per run to this CSV file")
    return p.parse_args(argv)


def setup_lmi(venv: Path = DEFAULT_VENV) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", *LMI_REQUIREMENTS], check=True)


def run_lmi(python: str, x, y, seed: int, threads: int) -> dict:
    """LMI's estimate in its own process: {"value" (nats), "seconds"} or {"error"}."""
    import numpy as np

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                          "MKL_NUM_THREADS")})
    with tempfile.TemporaryDirectory(prefix="infocli-lmi-") as tmp:
        paths = [os.path.join(tmp, name) for name in ("x.npy", "y.npy", "out.json")]
        np.save(paths[0], x)
        np.save(paths[1], y)
        proc = subprocess.run([python, "-c", LMI_DRIVER, *paths, str(seed), str(threads)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            return {"error": f"LMI exited {proc.returncode}: {last}"}
        with open(paths[2]) as f:
            out = json.load(f)
    return {"value": out["bits"] * math.log(2.0), "seconds": out["seconds"],
            "meta": f"latentmi {out['version']}, torch {out['torch']}, {out['threads']} thread(s)"}


def warm_up(estimators) -> None:
    """One small run per estimator, so that imports and compilation are not timed."""
    import numpy as np

    import infocli

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    for e in estimators:
        try:
            infocli.mutual_information(x, x + rng.standard_normal((300, 3)), estimator=e)
        except infocli.InfocliError:
            pass


def run_infocli(x, y, estimator: str, seed: int, labels: bool) -> dict:
    import infocli

    kw = {"discrete_y": True} if labels else {}
    start = time.perf_counter()
    try:
        r = infocli.mutual_information(x, y, estimator=estimator, seed=seed, **kw)
    except infocli.InfocliError as exc:
        return {"error": str(exc).splitlines()[0], "seconds": time.perf_counter() - start}
    return {"value": r.value, "interval": r.interval, "reliable": r.reliable,
            "seconds": time.perf_counter() - start}


def _num(v, fmt="{:.3f}") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-" if v is None else ("inf" if v > 0 else "-inf")
    return fmt.format(v)


def _short(text: str | None, width: int = 48) -> str | None:
    if not text:
        return None
    return "error: " + (text if len(text) <= width else text[:width - 3] + "...")


def infocli_version() -> str:
    import infocli

    return getattr(infocli, "__version__", "?")


def _interval(iv) -> str:
    if iv is None:
        return "-"
    return f"[{_num(iv[0])}, {_num(iv[1])}]"


COLUMNS = ("task", "n", "seed", "truth", "estimator", "value", "interval", "reliable", "s",
           "LMI", "LMI s", "LMI s / s")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.setup_lmi:
        setup_lmi()
        return 0
    # threads before numpy, torch or infocli load
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS", "INFOCLI_NUM_THREADS"):
        os.environ[key] = str(args.threads)
    import numpy as np

    from infocli import tasks

    selected = tasks.select(args.tasks, family="highdim", measure="mutual_information")
    ns = [int(v) for v in args.n_samples.replace("_", "").split(",") if v.strip()]
    estimators = [e.strip() for e in args.estimators.split(",") if e.strip()]
    use_lmi = not args.skip_lmi
    if use_lmi and not Path(args.lmi_python).exists():
        print(f"LMI's python {args.lmi_python} not found: run with --setup-lmi first, or "
              "--skip-lmi", file=sys.stderr)
        return 2

    warm_up(estimators)
    rows, cells, meta = [], [], None
    for t in selected:
        labels = "y" in t.discrete
        for n in ns:
            n_run = max(n, t.min_n)
            for seed in range(args.seeds):
                data = t.sample(n_run, seed=seed)
                x, y = data["x"], data["y"]
                ours = {e: run_infocli(x, y, e, seed, labels) for e in estimators}
                lmi = {}
                if use_lmi:
                    y_lmi = np.eye(int(y.max()) + 1)[y[:, 0]] if labels else y
                    lmi = run_lmi(args.lmi_python, x, y_lmi, seed, args.threads)
                for e, r in ours.items():
                    ratio = (lmi["seconds"] / r["seconds"]
                             if "seconds" in lmi and r.get("seconds") else None)
                    rows.append({"task": t.name, "n": n_run, "seed": seed, "truth": t.truth,
                                 "estimator": e, "value": r.get("value"),
                                 "interval": r.get("interval"), "reliable": r.get("reliable"),
                                 "seconds": r["seconds"], "error": r.get("error"),
                                 "lmi_value": lmi.get("value"),
                                 "lmi_seconds": lmi.get("seconds"),
                                 "lmi_error": lmi.get("error"), "time_ratio": ratio})
                    cells.append([
                        t.name, str(n_run), str(seed), _num(t.truth), e,
                        _short(r.get("error")) or _num(r.get("value")),
                        _interval(r.get("interval")),
                        "-" if r.get("reliable") is None else str(r["reliable"]),
                        _num(r["seconds"], "{:.2f}"),
                        _short(lmi.get("error")) or _num(lmi.get("value")),
                        _num(lmi.get("seconds"), "{:.1f}"), _num(ratio, "{:.1f}")])
                    print("# " + "  ".join(cells[-1]), file=sys.stderr, flush=True)
                if "meta" in lmi:
                    meta = lmi["meta"]
    widths = [max(len(c[i]) for c in [list(COLUMNS), *cells]) for i in range(len(COLUMNS))]
    for line in [list(COLUMNS), ["-" * w for w in widths], *cells]:
        print("  ".join(c.ljust(w) if i in (0, 4) else c.rjust(w)
                        for i, (c, w) in enumerate(zip(line, widths))))
    lmi_note = ("skipped" if not use_lmi else meta or "no successful run")
    print(f"values in nats; seconds of the estimate alone; LMI: {lmi_note}; "
          f"infocli {infocli_version()}, {args.threads} thread(s)")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else list(COLUMNS))
            w.writeheader()
            for row in rows:
                w.writerow({**row, "interval": json.dumps(row["interval"])})
    return 0


if __name__ == "__main__":
    sys.exit(main())
